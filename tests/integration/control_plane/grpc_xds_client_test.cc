// gRPC's own xDS client talks to remora-cp: @grpc/grpc-js-xds (npm, strict
// as real clients are) resolves xds:///greeter against remora-cp, its calls
// spread over the service's endpoints (gRPC C++ echo servers), and they
// follow an endpoint change made through the API, on the same channel.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"

using namespace std::chrono_literals;
namespace harness = remora::harness;
using harness::BackendProcess;
using harness::ControlPlaneProcess;

namespace {

struct Calls {
  std::map<std::string, int> by_port;  // answering server port -> calls
  int failed = 0;
  std::string last_error;
  size_t lines = 0;
};

// Tallies the client's output lines from `from` on.
Calls tally(const std::string& output, size_t from = 0) {
  Calls calls;
  std::istringstream in(output);
  std::string line;
  static const std::regex kPort(R"re("port":"(\d+)")re");
  static const std::regex kError(R"re("error":"([^"]*)")re");
  size_t n = 0;
  while (std::getline(in, line)) {
    if (n++ < from) continue;
    ++calls.lines;
    std::smatch m;
    if (line.find("\"ok\":true") != std::string::npos && std::regex_search(line, m, kPort)) {
      ++calls.by_port[m[1]];
    } else {
      ++calls.failed;
      if (std::regex_search(line, m, kError)) calls.last_error = m[1];
    }
  }
  return calls;
}

std::string endpointJson(const std::string& name, uint16_t port) {
  return R"({"kind":"Endpoint","metadata":{"name":")" + name + R"("},"spec":{"service":"greeter","address":"127.0.0.1","port":)" +
         std::to_string(port) + R"(,"locality":{"zone":"local"}}})";
}

// Waits until the client's output since line `from` satisfies `done`.
bool waitFor(harness::Process& client, size_t from, const std::function<bool(const Calls&)>& done,
             std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done(tally(client.readStdout(), from))) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

}  // namespace

TEST_CASE("gRPC's xDS client resolves a service through remora-cp and follows its endpoints",
          "[integration][cp][grpc]") {
  auto cp = ControlPlaneProcess::start();
  INFO((cp ? std::string() : cp.error().message));
  REQUIRE(cp);
  auto a = BackendProcess::grpcEcho();
  auto b = BackendProcess::grpcEcho();
  auto c = BackendProcess::grpcEcho();
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  const std::string pa = std::to_string(a->port());
  const std::string pb = std::to_string(b->port());
  const std::string pc = std::to_string(c->port());

  auto applied = (*cp)->api("POST", "/api/v1/apply",
                            R"({"items":[{"kind":"Service","metadata":{"name":"greeter"},"spec":{"ports":[{"name":"grpc","port":50051,"protocol":"GRPC"}]}},)" +
                                endpointJson("greeter-a", a->port()) + "," + endpointJson("greeter-b", b->port()) + "]}");
  REQUIRE(applied);
  INFO(applied->body);
  REQUIRE(applied->status == 200);

  auto client = harness::Process::start(harness::ProcessOptions{
      {"node", harness::sourcePath("tests/integration/xds_server/grpc_xds_client.js"), "--xds", (*cp)->xdsAddress(),
       "--target", "xds:///greeter", "--proto", harness::sourcePath("tests/integration/grpc/echo.proto"),
       "--duration-ms", "30000"},
      {},
      "",
      "grpc_xds_client"});
  REQUIRE(client);
  auto describe = [&] { return client->readStdout().substr(0, 2000) + "\n" + client->readStderr() + "\n" + (*cp)->logs(); };

  // Calls succeed, and spread over both endpoints.
  const bool spread = waitFor(
      *client, 0, [&](const Calls& calls) { return calls.by_port.count(pa) > 0 && calls.by_port.count(pb) > 0; }, 15s);
  INFO(describe());
  REQUIRE(spread);
  const Calls before = tally(client->readStdout());
  CHECK(before.by_port.count(pc) == 0);

  // greeter-a goes, greeter-c comes: the same channel follows.
  auto removed = (*cp)->api("DELETE", "/api/v1/namespaces/default/endpoints/greeter-a");
  REQUIRE(removed);
  CHECK(removed->status == 200);
  auto added = (*cp)->api("POST", "/api/v1/namespaces/default/endpoints", endpointJson("greeter-c", c->port()));
  REQUIRE(added);
  CHECK(added->status == 201);
  const size_t mark = before.lines;
  const bool followed = waitFor(
      *client, mark, [&](const Calls& calls) { return calls.by_port.count(pc) > 0 && calls.by_port.count(pb) > 0; }, 10s);
  CHECK(followed);
  // Once greeter-c answers, greeter-a no longer does.
  const Calls after = tally(client->readStdout(), mark);
  size_t first_c = 0;
  {
    std::istringstream in(client->readStdout());
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
      if (n >= mark && line.find("\"port\":\"" + pc + "\"") != std::string::npos) {
        first_c = n;
        break;
      }
      ++n;
    }
  }
  const Calls settled = tally(client->readStdout(), first_c + 1);
  CHECK(settled.by_port.count(pa) == 0);
  CHECK(after.failed == 0);
  CHECK(before.failed == 0);
  client->signal(SIGTERM);
}
