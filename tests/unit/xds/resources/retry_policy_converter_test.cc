#include "xds/resources/retry_policy_converter.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using RetryProto = envoy::config::route::v3::RetryPolicy;
using ActionProto = envoy::config::route::v3::RouteAction;

namespace {

std::string retryError(const std::string& json) {
  auto retry = toRetryPolicy(protoFromJson<RetryProto>(json), "r");
  REQUIRE_FALSE(retry);
  return retry.error().message;
}

remora::base::Result<std::vector<HashPolicy>> hashes(const std::string& json) {
  const auto action = protoFromJson<ActionProto>(R"({"cluster": "c", "hash_policy": )" + json + "}");
  return toHashPolicies(action.hash_policy(), "a.hash_policy");
}

}  // namespace

TEST_CASE("a retry policy reads every condition, codes, backoff and Istio's host predicate", "[xds][resources][retry]") {
  auto retry = toRetryPolicy(protoFromJson<RetryProto>(R"({
      "retry_on": "connect-failure, refused-stream,unavailable,cancelled,retriable-status-codes,non-idempotent,reset",
      "num_retries": 2, "retriable_status_codes": [503, 429],
      "retry_back_off": {"base_interval": "0.05s", "max_interval": "1s"},
      "retry_host_predicate": [{"name": "envoy.retry_host_predicates.previous_hosts"}],
      "host_selection_retry_max_attempts": "5"})"),
                             "r");
  REQUIRE(retry);
  CHECK(retry->retry_on == std::vector<std::string>{"connect-failure", "refused-stream", "unavailable", "cancelled",
                                                    "retriable-status-codes", "non-idempotent", "reset"});
  CHECK(retry->num_retries == 2);
  CHECK(retry->retriable_status_codes == std::vector<uint32_t>{503, 429});
  CHECK(retry->base_interval == Millis(50));
  CHECK(retry->max_interval == Millis(1000));
}

TEST_CASE("retry defaults are one retry and 25 to 250 ms of backoff", "[xds][resources][retry]") {
  auto retry = toRetryPolicy(protoFromJson<RetryProto>(R"({"retry_on": "5xx"})"), "r");
  REQUIRE(retry);
  CHECK(retry->num_retries == 1);
  CHECK(retry->base_interval == Millis(25));
  CHECK(retry->max_interval == Millis(250));
  CHECK_FALSE(retry->per_try_timeout);
  // Only a base: the maximum is ten times it.
  auto base_only = toRetryPolicy(
      protoFromJson<RetryProto>(R"({"retry_on": "5xx", "retry_back_off": {"base_interval": "0.1s"}})"), "r");
  REQUIRE(base_only);
  CHECK(base_only->max_interval == Millis(1000));
}

TEST_CASE("retry policies refuse what would never fire or cannot be honoured", "[xds][resources][retry]") {
  CHECK(retryError(R"({"retry_on": ""})") == "r.retry_on: names no retry condition");
  CHECK(retryError(R"({"retry_on": "non-idempotent"})") == "r.retry_on: names no retry condition");
  CHECK(retryError(R"({"retry_on": "retriable-status-codes"})") ==
        "r.retriable_status_codes: must list a status code when retry_on has \"retriable-status-codes\"");
  CHECK(retryError(R"({"retry_on": "5xx", "retriable_status_codes": [99]})") ==
        "r.retriable_status_codes[0]: 99 is out of range 100..599");
  CHECK(retryError(R"({"retry_on": "5xx", "retry_back_off": {"max_interval": "1s"}})") ==
        "r.retry_back_off.base_interval: is required");
  CHECK(retryError(R"({"retry_on": "5xx", "retry_back_off": {"base_interval": "0s"}})") ==
        "r.retry_back_off.base_interval: must be more than 0");
  CHECK(retryError(R"({"retry_on": "5xx", "retry_back_off": {"base_interval": "1s", "max_interval": "0.5s"}})") ==
        "r.retry_back_off.max_interval: must not be less than base_interval");
  CHECK(retryError(R"({"retry_on": "5xx", "retry_host_predicate": [{"name": "envoy.retry_host_predicates.omit_canary_hosts"}]})") ==
        "r.retry_host_predicate[0].name: not supported by remora-proxy (\"envoy.retry_host_predicates.omit_canary_hosts\"; "
        "supported: envoy.retry_host_predicates.previous_hosts)");
  CHECK(retryError(R"({"retry_on": "5xx", "host_selection_retry_max_attempts": "-1"})") ==
        "r.host_selection_retry_max_attempts: must not be negative");
  auto priority = toRetryPolicy(
      protoFromJson<RetryProto>(R"({"retry_on": "5xx", "retry_priority": {"name": "envoy.retry_priorities.previous_priorities"}})"),
      "r");
  REQUIRE_FALSE(priority);
  CHECK(priority.error().code == Error::kUnsupported);
}

TEST_CASE("hash policies hash a header, a cookie or the source address", "[xds][resources][retry]") {
  auto h = hashes(R"([{"header": {"header_name": "X-Session"}}, {"cookie": {"name": "sid"}},
      {"connection_properties": {"source_ip": true}}])");
  REQUIRE(h);
  REQUIRE(h->size() == 3);
  CHECK((*h)[0] == HashPolicy{HashPolicy::Kind::kHeader, "x-session"});
  CHECK((*h)[1] == HashPolicy{HashPolicy::Kind::kCookie, "sid"});
  CHECK((*h)[2].kind == HashPolicy::Kind::kSourceIp);

  auto ttl = hashes(R"([{"cookie": {"name": "sid", "ttl": "60s"}}])");
  REQUIRE_FALSE(ttl);
  CHECK(ttl.error().message == "a.hash_policy[0].cookie.ttl: not supported by remora-proxy");
  CHECK(hashes(R"([{"cookie": {}}])").error().message == "a.hash_policy[0].cookie.name: is required");
  CHECK(hashes(R"([{"connection_properties": {}}])").error().message ==
        "a.hash_policy[0].connection_properties.source_ip: must be true");
  CHECK(hashes(R"([{"header": {"header_name": "bad header"}}])").error().message ==
        "a.hash_policy[0].header.header_name: \"bad header\" is not a valid header name");
  CHECK(hashes(R"([{"query_parameter": {"name": "u"}}])").error().message ==
        "a.hash_policy[0].query_parameter: not supported by remora-proxy");
  CHECK(hashes(R"([{"header": {"header_name": "x"}, "terminal": true}])").error().message ==
        "a.hash_policy[0].terminal: not supported by remora-proxy");
}

TEST_CASE("hedging is on per-try timeout only, and the gRPC timeout cap is read", "[xds][resources][retry]") {
  RouteAction action;
  REQUIRE(toHedgePolicy(protoFromJson<envoy::config::route::v3::HedgePolicy>(
                            R"({"hedge_on_per_try_timeout": true, "initial_requests": 1})"),
                        "h", action));
  CHECK(action.hedge_on_per_try_timeout);
  auto more = toHedgePolicy(protoFromJson<envoy::config::route::v3::HedgePolicy>(R"({"initial_requests": 2})"), "h",
                            action);
  REQUIRE_FALSE(more);
  CHECK(more.error().message == "h.initial_requests: not supported by remora-proxy (only 1)");
  auto chance = toHedgePolicy(protoFromJson<envoy::config::route::v3::HedgePolicy>(
                                  R"({"additional_request_chance": {"numerator": 5}})"),
                              "h", action);
  REQUIRE_FALSE(chance);
  CHECK(chance.error().code == Error::kUnsupported);

  REQUIRE(toMaxStreamDuration(protoFromJson<ActionProto::MaxStreamDuration>(R"({"grpc_timeout_header_max": "2s"})"),
                              "m", action));
  CHECK(action.grpc_timeout_header_max == Millis(2000));
  auto max = toMaxStreamDuration(protoFromJson<ActionProto::MaxStreamDuration>(R"({"max_stream_duration": "2s"})"),
                                 "m", action);
  REQUIRE_FALSE(max);
  CHECK(max.error().message == "m.max_stream_duration: not supported by remora-proxy");
}
