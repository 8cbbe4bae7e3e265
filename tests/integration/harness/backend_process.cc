#include "tests/integration/harness/backend_process.h"

#include <charconv>
#include <string_view>

#include "tests/integration/harness/paths.h"

namespace remora::harness {
namespace {

using base::Error;
using base::fail;

constexpr std::string_view kBytesAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

}  // namespace

base::Result<BackendProcess> BackendProcess::start(std::vector<std::string> args, std::string name,
                                                   std::chrono::milliseconds timeout) {
  TempDir dir("remora-backend");
  const std::string port_file = dir.file(name + ".port");
  args.push_back("--port-file");
  args.push_back(port_file);
  auto process = Process::start(ProcessOptions{std::move(args), {}, dir.path(), name});
  if (!process) return process.error();
  auto content = waitForFile(port_file, timeout, [&] { return process->running(); });
  if (!content) {
    return fail(Error::kIo, name + " did not report its port: " + content.error().message + "\n" +
                                process->readStderr());
  }
  std::string_view text = *content;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) {
    return fail(Error::kIo, name + " wrote a bad port file: '" + std::string(text) + "'");
  }
  return BackendProcess(std::move(dir), std::move(*process), static_cast<uint16_t>(port));
}

base::Result<BackendProcess> BackendProcess::httpEcho() {
  return start({python3Path(), sourcePath("tests/integration/backends/http_echo.py")}, "http_echo");
}

base::Result<BackendProcess> BackendProcess::tcpEcho(bool server_first) {
  std::vector<std::string> args = {python3Path(), sourcePath("tests/integration/backends/tcp_echo.py")};
  if (server_first) args.emplace_back("--server-first");
  return start(std::move(args), server_first ? "tcp_echo_server_first" : "tcp_echo");
}

base::Result<BackendProcess> BackendProcess::grpcEcho() {
  return start({binaryPath("grpc_echo_server")}, "grpc_echo_server");
}

base::Result<BackendProcess> BackendProcess::remoraEcho(const std::string& name, std::vector<std::string> flags) {
  std::vector<std::string> args{buildDir() + "/examples/apps/echo/remora-echo", "--listen", "127.0.0.1:0", "--name", name};
  args.insert(args.end(), flags.begin(), flags.end());
  return start(std::move(args), name);
}

long jsonNumber(std::string_view json, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":";
  const size_t at = json.find(needle);
  if (at == std::string_view::npos) return -1;
  long value = -1;
  const char* begin = json.data() + at + needle.size();
  const char* end = json.data() + json.size();
  while (begin < end && *begin == ' ') ++begin;
  std::from_chars(begin, end, value);
  return value;
}

std::string bytesPattern(size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = kBytesAlphabet[i % kBytesAlphabet.size()];
  return out;
}

}  // namespace remora::harness
