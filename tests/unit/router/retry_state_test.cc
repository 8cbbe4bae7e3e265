// RetryState: which answers and failures are retried, the idempotency rule,
// backoff bounds; and the grpc-timeout header grammar.
#include "proxy/router/retry_state.h"

#include <catch2/catch.hpp>

namespace router = remora::router;
namespace model = remora::xds::resources;
using router::TryFailure;
using namespace std::chrono_literals;

namespace {
model::RetryPolicy policy(std::vector<std::string> on, uint32_t retries = 2) {
  model::RetryPolicy p;
  p.retry_on = std::move(on);
  p.num_retries = retries;
  return p;
}
}  // namespace

TEST_CASE("5xx retries every 5xx answer and the failures a proxy would answer with one", "[retry]") {
  const auto p = policy({"5xx"});
  router::RetryState s(p, router::RetryConditions::parse(p), "GET", false);
  CHECK(s.retriableAnswer(500, std::nullopt));
  CHECK(s.retriableAnswer(503, std::nullopt));
  CHECK_FALSE(s.retriableAnswer(404, std::nullopt));
  CHECK_FALSE(s.retriableAnswer(200, std::nullopt));
  CHECK(s.retriableFailure(TryFailure::kConnectFailure));
  CHECK(s.retriableFailure(TryFailure::kReset));
  CHECK(s.retriableFailure(TryFailure::kPerTryTimeout));
}

TEST_CASE("gateway-error retries 502, 503 and 504 only", "[retry]") {
  const auto p = policy({"gateway-error"});
  router::RetryState s(p, router::RetryConditions::parse(p), "GET", false);
  CHECK(s.retriableAnswer(502, std::nullopt));
  CHECK(s.retriableAnswer(504, std::nullopt));
  CHECK_FALSE(s.retriableAnswer(500, std::nullopt));
}

TEST_CASE("connect-failure and refused-stream retry nothing else", "[retry]") {
  const auto p = policy({"connect-failure", "refused-stream"});
  router::RetryState s(p, router::RetryConditions::parse(p), "GET", false);
  CHECK(s.retriableFailure(TryFailure::kConnectFailure));
  CHECK(s.retriableFailure(TryFailure::kRefusedStream));
  CHECK_FALSE(s.retriableFailure(TryFailure::kReset));
  CHECK_FALSE(s.retriableFailure(TryFailure::kPerTryTimeout));
  CHECK_FALSE(s.retriableAnswer(503, std::nullopt));
}

TEST_CASE("listed status codes and retriable-4xx (409) are retried", "[retry]") {
  auto p = policy({"retriable-status-codes", "retriable-4xx"});
  p.retriable_status_codes = {429};
  router::RetryState s(p, router::RetryConditions::parse(p), "GET", false);
  CHECK(s.retriableAnswer(429, std::nullopt));
  CHECK(s.retriableAnswer(409, std::nullopt));
  CHECK_FALSE(s.retriableAnswer(503, std::nullopt));
}

TEST_CASE("gRPC conditions read grpc-status of a gRPC answer only", "[retry]") {
  const auto p = policy({"unavailable", "cancelled"});
  router::RetryState grpc(p, router::RetryConditions::parse(p), "POST", true);
  CHECK(grpc.retriableAnswer(200, 14u));
  CHECK(grpc.retriableAnswer(200, 1u));
  CHECK_FALSE(grpc.retriableAnswer(200, 13u));
  CHECK_FALSE(grpc.retriableAnswer(200, std::nullopt));
  router::RetryState plain(p, router::RetryConditions::parse(p), "POST", false);
  CHECK_FALSE(plain.retriableAnswer(200, 14u));
}

TEST_CASE("a POST that may have reached the upstream is repeated only when it opts in or gRPC said so", "[retry]") {
  const auto p = policy({"5xx"});
  router::RetryState post(p, router::RetryConditions::parse(p), "POST", false);
  CHECK_FALSE(post.mayRepeat(true, false));
  CHECK(post.mayRepeat(false, false));  // never reached: connect failure, REFUSED_STREAM
  CHECK(post.mayRepeat(true, true));    // a gRPC status the policy lists
  router::RetryState get(p, router::RetryConditions::parse(p), "GET", false);
  CHECK(get.mayRepeat(true, false));
  router::RetryState put(p, router::RetryConditions::parse(p), "PUT", false);
  CHECK(put.mayRepeat(true, false));
  const auto opted = policy({"5xx", "non-idempotent"});
  router::RetryState patch(opted, router::RetryConditions::parse(opted), "PATCH", false);
  CHECK(patch.mayRepeat(true, false));
}

TEST_CASE("retries are counted and run out", "[retry]") {
  const auto p = policy({"5xx"}, 2);
  router::RetryState s(p, router::RetryConditions::parse(p), "GET", false);
  remora::upstream::Random random(7);
  CHECK(s.triesLeft());
  s.nextBackoff(random);
  CHECK(s.triesLeft());
  s.nextBackoff(random);
  CHECK_FALSE(s.triesLeft());
  CHECK(s.retriesDone() == 2);
}

TEST_CASE("backoff is fully jittered under an exponential ceiling capped at max_interval", "[retry]") {
  auto p = policy({"5xx"}, 10);
  p.base_interval = 25ms;
  p.max_interval = 250ms;
  remora::upstream::Random random(11);
  // Ceilings for retries 1..5: 25, 75, 175, 250 (cap), 250.
  const int64_t ceilings[] = {25, 75, 175, 250, 250};
  for (int round = 0; round < 200; ++round) {
    router::RetryState s(p, router::RetryConditions::parse(p), "GET", false);
    for (int64_t ceiling : ceilings) {
      const auto b = s.nextBackoff(random);
      REQUIRE(b.count() >= 0);
      REQUIRE(b.count() <= ceiling);
    }
  }
  // Jitter really spreads: the first retry's waits are not all equal.
  int64_t sum = 0;
  int64_t distinct_low = 0;
  for (int i = 0; i < 100; ++i) {
    router::RetryState s(p, router::RetryConditions::parse(p), "GET", false);
    const auto w = s.nextBackoff(random).count();
    sum += w;
    if (w < 12) ++distinct_low;
  }
  CHECK(sum / 100 > 5);
  CHECK(sum / 100 < 20);
  CHECK(distinct_low > 20);
}

TEST_CASE("grpc-timeout values parse in every unit and malformed ones are refused", "[grpc-timeout]") {
  CHECK(router::parseGrpcTimeout("100m") == 100ms);
  CHECK(router::parseGrpcTimeout("2S") == 2000ms);
  CHECK(router::parseGrpcTimeout("1M") == 60000ms);
  CHECK(router::parseGrpcTimeout("1H") == 3600000ms);
  CHECK(router::parseGrpcTimeout("1500u") == 2ms);  // rounded up
  CHECK(router::parseGrpcTimeout("1n") == 1ms);
  CHECK_FALSE(router::parseGrpcTimeout("").has_value());
  CHECK_FALSE(router::parseGrpcTimeout("m").has_value());
  CHECK_FALSE(router::parseGrpcTimeout("10x").has_value());
  CHECK_FALSE(router::parseGrpcTimeout("-5m").has_value());
  CHECK_FALSE(router::parseGrpcTimeout("123456789m").has_value());  // over 8 digits
  CHECK(router::formatGrpcTimeout(250ms) == "250m");
  CHECK(router::formatGrpcTimeout(std::chrono::milliseconds(200000000)) == "200000S");
}
