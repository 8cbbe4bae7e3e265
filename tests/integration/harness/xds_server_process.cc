#include "tests/integration/harness/xds_server_process.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/paths.h"

namespace remora::harness {
namespace {

using base::Error;
using base::fail;
using nlohmann::json;

constexpr std::string_view kServerDir = "tests/integration/xds_server";
constexpr std::string_view kPortFile = "xds_server.ports";

std::string findNode() { return findInPath("node"); }

base::Status checkInstalled() {
  if (findNode().empty()) return fail(Error::kNotFound, "node is not installed: run scripts/deps.sh");
  for (const char* module : {"@grpc/grpc-js", "@grpc/proto-loader", "@grpc/grpc-js-xds", "protobufjs"}) {
    const std::string file = sourcePath(std::string(kServerDir) + "/node_modules/" + module + "/package.json");
    if (!std::filesystem::exists(file)) {
      return fail(Error::kNotFound, "xds_server: " + file + " is missing: run scripts/deps.sh");
    }
  }
  return base::Status::ok();
}

// A log name not used by an earlier run in the same dir, so a restart keeps
// the first server's output for the failure message.
std::string freshLogName(const std::string& dir) {
  std::string name = "xds_server";
  for (int n = 2; std::filesystem::exists(dir + "/" + name + ".stderr"); ++n) name = "xds_server." + std::to_string(n);
  return name;
}

struct Launched {
  Process process;
  uint16_t xds_port = 0;
  uint16_t control_port = 0;
};

base::Result<Launched> launch(const std::string& dir, uint16_t xds_port) {
  if (auto installed = checkInstalled(); !installed) return installed.error();
  const std::string port_file = dir + "/" + std::string(kPortFile);
  std::error_code ignored;
  std::filesystem::remove(port_file, ignored);  // a previous run's ports must not be read as ours
  std::vector<std::string> args = {findNode(), sourcePath(std::string(kServerDir) + "/server.js"),
                                   "--xds-port", std::to_string(xds_port), "--port-file", port_file};
  auto process = Process::start(ProcessOptions{std::move(args), {}, dir, freshLogName(dir)});
  if (!process) return process.error();
  auto content = waitForFile(port_file, std::chrono::seconds(20), [&] { return process->running(); });
  if (!content) {
    const std::string logs = process->readStderr();
    const int code = process->stop();
    return fail(Error::kIo, "xds_server did not start (exit " + std::to_string(code) + "): " +
                                content.error().message + "\n" + logs);
  }
  const json ports = json::parse(*content, nullptr, false);
  if (ports.is_discarded() || !ports.is_object() || !ports.contains("xds_port") || !ports.contains("control_port") ||
      !ports["xds_port"].is_number_unsigned() || !ports["control_port"].is_number_unsigned()) {
    return fail(Error::kIo, "xds_server wrote a bad port file: " + *content);
  }
  return Launched{std::move(*process), ports["xds_port"].get<uint16_t>(), ports["control_port"].get<uint16_t>()};
}

std::string stringOr(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> stringsOf(const json& object, const char* key) {
  std::vector<std::string> out;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_array()) return out;
  for (const json& item : *it) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

base::Result<std::vector<XdsRequest>> parseXdsRequests(std::string_view text) {
  const json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_array()) {
    return fail(Error::kInvalidArgument, "GET /requests is not a JSON array: " + std::string(text.substr(0, 200)));
  }
  std::vector<XdsRequest> out;
  for (const json& item : parsed) {
    if (!item.is_object()) return fail(Error::kInvalidArgument, "GET /requests: an element is not an object");
    XdsRequest request;
    request.index = item.value("index", 0);
    request.stream = item.value("stream", 0);
    request.delta = item.value("delta", false);
    request.stale = item.value("stale", false);
    request.type_url = stringOr(item, "type_url");
    request.version_info = stringOr(item, "version_info");
    request.response_nonce = stringOr(item, "response_nonce");
    request.resource_names = stringsOf(item, "resource_names");
    request.resource_names_unsubscribe = stringsOf(item, "resource_names_unsubscribe");
    request.node_id = stringOr(item, "node_id");
    if (const auto versions = item.find("initial_resource_versions"); versions != item.end() && versions->is_object()) {
      for (const auto& [name, version] : versions->items()) {
        if (version.is_string()) request.initial_resource_versions[name] = version.get<std::string>();
      }
    }
    if (const auto detail = item.find("error_detail"); detail != item.end() && detail->is_object()) {
      request.error_detail = XdsErrorDetail{detail->value("code", 0), stringOr(*detail, "message")};
    }
    out.push_back(std::move(request));
  }
  return out;
}

base::Result<XdsServerProcess> XdsServerProcess::start(const TempDir& dir, uint16_t xds_port) {
  auto launched = launch(dir.path(), xds_port);
  if (!launched) return launched.error();
  return XdsServerProcess(dir.path(), std::move(launched->process), launched->xds_port, launched->control_port);
}

base::Status XdsServerProcess::restart() {
  if (process_.running()) kill();
  auto launched = launch(dir_, xds_port_);
  if (!launched) return launched.error();
  process_ = std::move(launched->process);
  control_port_ = launched->control_port;
  return base::Status::ok();
}

void XdsServerProcess::kill() {
  (void)process_.signal(SIGKILL);
  (void)process_.waitExit(std::chrono::seconds(10));
}

base::Result<std::string> XdsServerProcess::control(std::string_view method, std::string_view path,
                                                    std::string body) {
  HttpRequest request;
  request.method = std::string(method);
  request.path = std::string(path);
  if (!body.empty()) request.headers.emplace_back("content-type", "application/json");
  request.body = std::move(body);
  auto response = httpRequest("127.0.0.1:" + std::to_string(control_port_), request);
  if (!response) return fail(Error::kIo, "xds_server control API: " + response.error().message);
  if (response->status != 200) {
    const json error = json::parse(response->body, nullptr, false);
    const std::string message =
        !error.is_discarded() && error.is_object() ? stringOr(error, "error") : response->body;
    return fail(Error::kInvalidArgument, std::string(method) + " " + std::string(path) + ": " +
                                             std::to_string(response->status) + " " + message);
  }
  return std::move(response->body);
}

base::Result<std::string> XdsServerProcess::put(std::string_view section, std::string_view kind,
                                                std::string_view array, std::string_view version) {
  const json resources = json::parse(array, nullptr, false);
  if (resources.is_discarded() || !resources.is_array()) {
    return fail(Error::kInvalidArgument, "resources must be a JSON array: " + std::string(array.substr(0, 200)));
  }
  json body = {{"resources", resources}};
  if (!version.empty()) body["version"] = std::string(version);
  auto reply = control("PUT", "/" + std::string(section) + "/" + std::string(kind), body.dump());
  if (!reply) return reply.error();
  const json parsed = json::parse(*reply, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || stringOr(parsed, "version").empty()) {
    return fail(Error::kIo, "xds_server answered PUT without a version: " + *reply);
  }
  return stringOr(parsed, "version");
}

base::Result<std::string> XdsServerProcess::setResources(std::string_view kind, std::string_view resources_json_array,
                                                         std::string_view version) {
  return put("resources", kind, resources_json_array, version);
}

base::Result<std::string> XdsServerProcess::setRawResources(std::string_view kind,
                                                            std::string_view resources_json_array,
                                                            std::string_view version) {
  return put("raw", kind, resources_json_array, version);
}

base::Result<std::string> XdsServerProcess::requestsJson() { return control("GET", "/requests"); }

base::Result<std::string> XdsServerProcess::streamsJson() { return control("GET", "/streams"); }

base::Result<std::string> XdsServerProcess::stateJson() { return control("GET", "/state"); }

base::Result<std::vector<XdsRequest>> XdsServerProcess::requests() {
  auto text = requestsJson();
  if (!text) return text.error();
  return parseXdsRequests(*text);
}

base::Result<XdsRequest> XdsServerProcess::waitForRequest(const std::function<bool(const XdsRequest&)>& match,
                                                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t seen = 0;
  for (;;) {
    auto all = requests();
    if (!all) return all.error();
    for (const XdsRequest& request : *all) {
      if (match(request)) return request;
    }
    seen = all->size();
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(Error::kNotFound, "no matching xDS request within " + std::to_string(timeout.count()) +
                                        " ms (" + std::to_string(seen) + " requests received)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

base::Status XdsServerProcess::resetRequests() { return control("POST", "/reset-requests").status(); }

base::Result<int> XdsServerProcess::closeStreams() {
  auto reply = control("POST", "/close-streams");
  if (!reply) return reply.error();
  const json parsed = json::parse(*reply, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return fail(Error::kIo, "bad /close-streams reply: " + *reply);
  return parsed.value("closed", 0);
}

}  // namespace remora::harness
