// remora-echo's fault knobs as the resilience tests use them: set over HTTP,
// observed by real clients, counted in /stats.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"

using namespace remora::harness;
using namespace std::chrono_literals;

namespace {

BackendProcess startEcho(std::vector<std::string> flags = {}) {
  auto echo = BackendProcess::remoraEcho("echo-under-test", std::move(flags));
  REQUIRE(echo);
  return std::move(*echo);
}

std::string stats(BackendProcess& echo) {
  auto r = httpGet(echo.address(), "/stats");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return r->body;
}

void setFault(BackendProcess& echo, const std::string& query) {
  auto r = httpPost(echo.address(), "/fault?" + query);
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
}

int statusOf(BackendProcess& echo, const std::string& path = "/") {
  auto r = httpGet(echo.address(), path);
  REQUIRE(r);
  return r->status;
}

// curl over HTTP/2 with prior knowledge; returns its exit code (92: the
// stream was reset) and output.
CommandResult curlH2(BackendProcess& echo, std::vector<std::string> extra, const std::string& path) {
  std::vector<std::string> args{"curl", "-s", "--http2-prior-knowledge", "--max-time", "5"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("http://" + echo.address() + path);
  return run(args, 10s);
}

}  // namespace

TEST_CASE("the echo app counts only application requests in its stats", "[echo][integration]") {
  auto echo = startEcho();
  CHECK(statusOf(echo) == 200);
  CHECK(statusOf(echo, "/headers") == 200);
  auto post = httpPost(echo.address(), "/echo", "hi");
  REQUIRE(post);
  CHECK(post->body == "hi");
  // Control and health endpoints are not counted.
  CHECK(statusOf(echo, "/healthz") == 200);
  CHECK(statusOf(echo, "/fault") == 200);
  setFault(echo, "latency=0");
  const std::string s = stats(echo);
  INFO(s);
  CHECK(jsonNumber(s, "requests") == 3);
  CHECK(jsonNumber(s, "GET") == 2);
  CHECK(jsonNumber(s, "POST") == 1);
  CHECK(jsonNumber(s, "failed") == 0);
  CHECK(jsonNumber(s, "reset") == 0);
}

TEST_CASE("a failure rate with a fixed seed fails about that share of requests", "[echo][integration]") {
  auto echo = startEcho({"--seed", "42"});
  setFault(echo, "fail=0.3&status=502");
  int failed = 0;
  for (int i = 0; i < 200; ++i) {
    const int status = statusOf(echo);
    REQUIRE((status == 200 || status == 502));
    if (status == 502) ++failed;
  }
  CHECK(failed > 40);
  CHECK(failed < 80);
  const std::string s = stats(echo);
  INFO(s);
  CHECK(jsonNumber(s, "requests") == 200);
  CHECK(jsonNumber(s, "failed") == failed);
}

TEST_CASE("two instances with the same seed fail the same requests", "[echo][integration]") {
  auto a = startEcho({"--seed", "7", "--fail-rate", "0.5"});
  auto b = startEcho({"--seed", "7", "--fail-rate", "0.5"});
  std::string seq_a, seq_b;
  for (int i = 0; i < 30; ++i) {
    seq_a += statusOf(a) == 200 ? '.' : 'x';
    seq_b += statusOf(b) == 200 ? '.' : 'x';
  }
  CHECK(seq_a == seq_b);
  CHECK(seq_a.find('x') != std::string::npos);
  CHECK(seq_a.find('.') != std::string::npos);
}

TEST_CASE("start-up flags set the initial knobs and clear removes every fault", "[echo][integration]") {
  auto echo = startEcho({"--fail-rate", "1", "--fail-status", "500", "--latency-ms", "20"});
  auto knobs = httpGet(echo.address(), "/fault");
  REQUIRE(knobs);
  INFO(knobs->body);
  CHECK(jsonNumber(knobs->body, "status") == 500);
  CHECK(jsonNumber(knobs->body, "latency") == 20);
  CHECK(statusOf(echo) == 500);
  auto cleared = httpPost(echo.address(), "/fault/clear");
  REQUIRE(cleared);
  CHECK(jsonNumber(cleared->body, "latency") == 0);
  CHECK(statusOf(echo) == 200);
}

TEST_CASE("a bad knob value is refused and changes nothing", "[echo][integration]") {
  auto echo = startEcho();
  setFault(echo, "latency=5");
  auto r = httpPost(echo.address(), "/fault?latency=50&fail=1.5");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("fail") != std::string::npos);
  auto knobs = httpGet(echo.address(), "/fault");
  REQUIRE(knobs);
  CHECK(jsonNumber(knobs->body, "latency") == 5);
  CHECK(httpPost(echo.address(), "/fault?bogus=1")->status == 400);
}

TEST_CASE("added latency delays the answer", "[echo][integration]") {
  auto echo = startEcho();
  setFault(echo, "latency=150&latency_jitter=20");
  const auto start = std::chrono::steady_clock::now();
  CHECK(statusOf(echo) == 200);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 125ms);
  CHECK(took < 2s);
  // Control endpoints are never delayed: tests must be able to read stats.
  const auto stats_start = std::chrono::steady_clock::now();
  stats(echo);
  CHECK(std::chrono::steady_clock::now() - stats_start < 100ms);
}

TEST_CASE("a reset closes an HTTP/1 connection and resets an HTTP/2 stream", "[echo][integration]") {
  auto echo = startEcho();
  setFault(echo, "reset=1");
  auto h1 = httpGet(echo.address(), "/", 5s);
  CHECK_FALSE(h1);  // the connection closed without a response
  const CommandResult h2 = curlH2(echo, {}, "/");
  INFO(h2.describe());
  CHECK(h2.exit_code == 92);  // CURLE_HTTP2_STREAM: RST_STREAM
  const std::string s = stats(echo);
  INFO(s);
  CHECK(jsonNumber(s, "requests") == 2);
  CHECK(jsonNumber(s, "reset") == 2);
}

TEST_CASE("health=fail fails /healthz and the gRPC health check", "[echo][integration]") {
  auto echo = startEcho();
  const std::vector<std::string> grpc{"-X", "POST", "-H", "content-type: application/grpc", "-H", "te: trailers",
                                      "--data-binary", "@/dev/null"};
  const std::string path = "/grpc.health.v1.Health/Check";
  // A gRPC frame holding HealthCheckResponse{status: SERVING (1)}.
  const std::string serving("\x00\x00\x00\x00\x02\x08\x01", 7);
  const std::string not_serving("\x00\x00\x00\x00\x02\x08\x02", 7);
  CHECK(statusOf(echo, "/healthz") == 200);
  CommandResult ok = curlH2(echo, grpc, path);
  INFO(ok.describe());
  CHECK(ok.exit_code == 0);
  CHECK(ok.stdout_text == serving);

  setFault(echo, "health=fail");
  CHECK(statusOf(echo, "/healthz") == 503);
  CommandResult bad = curlH2(echo, grpc, path);
  CHECK(bad.exit_code == 0);
  CHECK(bad.stdout_text == not_serving);
  // The application itself still answers.
  CHECK(statusOf(echo) == 200);
  CHECK(jsonNumber(stats(echo), "requests") == 1);
}

TEST_CASE("crash=1 ends the process at once without a reply", "[echo][integration]") {
  auto echo = startEcho();
  auto r = httpPost(echo.address(), "/fault?crash=1", "", 5s);
  CHECK_FALSE(r);
  auto code = echo.process().waitExit(5s);
  REQUIRE(code);
  CHECK(*code == 3);
}
