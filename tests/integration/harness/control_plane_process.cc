#include "tests/integration/harness/control_plane_process.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <regex>

#include "tests/integration/harness/paths.h"

namespace remora::harness {
namespace {

using base::Error;
using base::fail;

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

}  // namespace

ControlPlaneProcess::ControlPlaneProcess(TempDir dir, ControlPlaneOptions options)
    : dir_(std::move(dir)), options_(std::move(options)), data_dir_(dir_.file("data")) {}

base::Result<std::unique_ptr<ControlPlaneProcess>> ControlPlaneProcess::start(ControlPlaneOptions options) {
  std::unique_ptr<ControlPlaneProcess> cp(new ControlPlaneProcess(TempDir("remora-cp"), std::move(options)));
  if (::mkdir(cp->data_dir_.c_str(), 0700) != 0) return fail(Error::kIo, "mkdir " + cp->data_dir_ + " failed");
  if (base::Status launched = cp->launch(); !launched) return launched.error();
  return cp;
}

base::Status ControlPlaneProcess::launch() {
  ++runs_;
  // Fresh address files per run, so a restart never reads the last run's.
  const std::string api_file = dir_.file("api-address-" + std::to_string(runs_));
  const std::string xds_file = dir_.file("xds-address-" + std::to_string(runs_));
  std::vector<std::string> args = options_.command_prefix;
  for (std::string arg : {binaryPath("remora-cp"), std::string("--data-dir"), data_dir_, std::string("--api-address"),
                          std::string("127.0.0.1:0"), std::string("--xds-address"), options_.xds_host + ":0", std::string("--api-address-path"), api_file,
                          std::string("--xds-address-path"), xds_file}) {
    args.push_back(std::move(arg));
  }
  if (options_.insecure) args.push_back("--insecure");
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  auto process = Process::start(ProcessOptions{std::move(args), {}, dir_.path(), "remora-cp-" + std::to_string(runs_)});
  if (!process) return process.error();
  process_ = std::move(*process);

  auto keep_waiting = [&] { return process_->running(); };
  auto api = waitForFile(api_file, options_.start_timeout, keep_waiting);
  auto xds = api ? waitForFile(xds_file, options_.start_timeout, keep_waiting) : api;
  if (!api || !xds) {
    std::string logs = process_->readStderr();
    const int code = process_->stop();
    return fail(Error::kIo, "remora-cp did not start (exit " + std::to_string(code) +
                                "): " + (api ? xds.error().message : api.error().message) + "\n" + logs);
  }
  api_address_ = trimmed(*api);
  xds_address_ = trimmed(*xds);
  return base::Status::ok();
}

uint16_t ControlPlaneProcess::xdsPort() const {
  const size_t colon = xds_address_.rfind(':');
  unsigned port = 0;
  if (colon != std::string::npos) {
    std::from_chars(xds_address_.data() + colon + 1, xds_address_.data() + xds_address_.size(), port);
  }
  return static_cast<uint16_t>(port);
}

base::Result<HttpResponse> ControlPlaneProcess::api(std::string_view method, std::string_view path, std::string body) {
  HttpRequest request;
  request.method = std::string(method);
  request.path = std::string(path);
  if (!body.empty()) request.headers.emplace_back("content-type", "application/json");
  request.body = std::move(body);
  if (options_.command_prefix.empty()) return httpRequest(api_address_, request);
  return curlRequest(options_.command_prefix, api_address_, request);
}

base::Result<std::string> ControlPlaneProcess::createToken(const std::string& account, const std::string& ttl) {
  auto r = api("POST", "/api/v1/tokens",
               R"({"namespace":"default","serviceAccount":")" + account + R"(","ttl":")" + ttl + "\"}");
  if (!r) return r.error();
  std::smatch m;
  static const std::regex kToken(R"re("token"\s*:\s*"([^"]+)")re");
  if (r->status != 201 || !std::regex_search(r->body, m, kToken)) {
    return fail(Error::kIo, "token create answered " + std::to_string(r->status) + ": " + r->body);
  }
  return std::string(m[1]);
}


base::Status ControlPlaneProcess::kill() {
  if (base::Status s = process_->signal(SIGKILL); !s) return s;
  auto code = process_->waitExit(std::chrono::seconds(10));
  if (!code) return code.error();
  return base::Status::ok();
}

base::Result<int> ControlPlaneProcess::stop(std::chrono::milliseconds timeout) {
  if (base::Status s = process_->signal(SIGTERM); !s) return s.error();
  return process_->waitExit(timeout);
}

base::Status ControlPlaneProcess::restart() {
  if (process_ && process_->running()) return fail(Error::kInvalidArgument, "remora-cp is still running; kill() or stop() it first");
  return launch();
}

std::string ControlPlaneProcess::logs() const {
  return process_ ? process_->readStderr() + process_->readStdout() : std::string();
}

}  // namespace remora::harness
