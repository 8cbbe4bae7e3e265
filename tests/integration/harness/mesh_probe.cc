#include "tests/integration/harness/mesh_probe.h"

#include <regex>
#include <thread>

#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/paths.h"

namespace remora::harness {

CommandResult remoractl(const ControlPlaneProcess& cp, const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout) {
  std::vector<std::string> command = {binaryPath("remoractl"), "--server", cp.apiUrl()};
  command.insert(command.end(), args.begin(), args.end());
  return run(command, timeout);
}

int echoPortVia(const std::string& outbound, const std::string& host, int* status) {
  HttpRequest request;
  request.path = "/echo";
  request.host = host;
  auto response = httpRequest(outbound, request, std::chrono::seconds(5));
  if (status != nullptr) *status = response ? response->status : -1;
  if (!response || response->status != 200) return 0;
  static const std::regex kPort(R"("server_port": (\d+))");
  std::smatch m;
  if (!std::regex_search(response->body, m, kPort)) return 0;
  return std::stoi(m[1]);
}

std::optional<std::chrono::milliseconds> pollUntil(const std::function<bool()>& done,
                                                   std::chrono::milliseconds within, int in_a_row,
                                                   std::chrono::milliseconds pause) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  int streak = 0;
  while (Clock::now() - start < within) {
    streak = done() ? streak + 1 : 0;
    if (streak >= in_a_row) return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    std::this_thread::sleep_for(pause);
  }
  return std::nullopt;
}

}  // namespace remora::harness
