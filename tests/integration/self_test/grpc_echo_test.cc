// grpc_echo_server and grpc_echo_client against each other, with no proxy:
// the client must pass here, and must fail against something that is not
// the echo service, before its verdict can be trusted through the proxy.
#include <signal.h>

#include <catch2/catch.hpp>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"

using namespace remora::harness;
using namespace std::chrono_literals;

namespace {

CommandResult client(const std::string& target, std::vector<std::string> extra) {
  std::vector<std::string> args = {binaryPath("grpc_echo_client"), "--target", target, "--timeout-ms", "5000"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(args, 30s);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("the gRPC echo peers pass unary, server-streaming and bidi calls", "[grpc_echo]") {
  auto server = BackendProcess::grpcEcho();
  REQUIRE(server);
  for (const std::string mode : {"unary", "server", "bidi"}) {
    const CommandResult result = client(server->address(), {"--mode", mode, "--count", "5", "--payload-bytes", "70000"});
    INFO(mode << ": " << result.describe());
    CHECK(result.exit_code == 0);
    CHECK(contains(result.stdout_text, "trailing-metadata x-trailer: present"));
    CHECK(contains(result.stdout_text, "initial-metadata x-initial: present"));
    CHECK(contains(result.stdout_text, "status code=0"));
    CHECK(contains(result.stdout_text, "RESULT: PASS"));
  }
}

TEST_CASE("the gRPC echo server returns a requested error status with trailers", "[grpc_echo]") {
  auto server = BackendProcess::grpcEcho();
  REQUIRE(server);
  for (const std::string mode : {"unary", "server", "bidi"}) {
    const CommandResult result =
        client(server->address(), {"--mode", mode, "--count", "2", "--fail-code", "5", "--fail-message", "nope"});
    INFO(mode << ": " << result.describe());
    CHECK(result.exit_code == 0);
    CHECK(contains(result.stdout_text, "status code=5 message='nope'"));
    CHECK(contains(result.stdout_text, "trailing-metadata x-trailer: present"));
  }
}

TEST_CASE("the gRPC echo client fails against a server that is not the echo service", "[grpc_echo]") {
  auto not_grpc = BackendProcess::httpEcho();
  REQUIRE(not_grpc);
  const CommandResult result = client(not_grpc->address(), {"--mode", "unary"});
  INFO(result.describe());
  CHECK(result.exit_code != 0);
  CHECK(contains(result.stdout_text, "RESULT: FAIL"));
}

TEST_CASE("the gRPC echo server exits cleanly on SIGTERM", "[grpc_echo]") {
  auto server = BackendProcess::grpcEcho();
  REQUIRE(server);
  REQUIRE(server->process().signal(SIGTERM));
  auto code = server->process().waitExit(10s);
  REQUIRE(code);
  CHECK(*code == 0);
}
