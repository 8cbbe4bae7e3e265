#include "xds/resources/lb_policy_converter.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using ClusterProto = envoy::config::cluster::v3::Cluster;

namespace {

remora::base::Result<Cluster> convert(const std::string& fields) {
  Cluster out;
  const auto proto = protoFromJson<ClusterProto>("{\"name\": \"c\"" + (fields.empty() ? "" : ", " + fields) + "}");
  if (auto s = toLoadBalancing(proto, "cs[0]", out); !s) return s.error();
  return out;
}

std::string convertError(const std::string& fields) {
  auto c = convert(fields);
  REQUIRE_FALSE(c);
  return c.error().message;
}

constexpr const char* kPeakEwmaPolicy = R"("lb_policy": "LOAD_BALANCING_POLICY_CONFIG", "load_balancing_policy": {
    "policies": [{"typed_extension_config": {"name": "remora.peak_ewma", "typed_config": {
      "@type": "type.googleapis.com/remora.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma",
      "decay_time": "3s"}}}]})";

}  // namespace

TEST_CASE("every lb_policy Remora balances with converts to the model", "[xds][resources][lb]") {
  CHECK(convert("")->lb_policy == Cluster::LbPolicy::kRoundRobin);
  CHECK(convert(R"("lb_policy": "LEAST_REQUEST")")->lb_policy == Cluster::LbPolicy::kLeastRequest);
  CHECK(convert(R"("lb_policy": "RANDOM")")->lb_policy == Cluster::LbPolicy::kRandom);
  CHECK(convert(R"("lb_policy": "RING_HASH")")->lb_policy == Cluster::LbPolicy::kRingHash);
  CHECK(convert(R"("lb_policy": "MAGLEV")")->lb_policy == Cluster::LbPolicy::kMaglev);
  // Empty option blocks, as some control planes always send, are accepted.
  CHECK(convert(R"("round_robin_lb_config": {}, "common_lb_config": {})"));
}

TEST_CASE("peak EWMA is selected through load_balancing_policy with Remora's typed config", "[xds][resources][lb]") {
  auto c = convert(kPeakEwmaPolicy);
  REQUIRE(c);
  CHECK(c->lb_policy == Cluster::LbPolicy::kPeakEwma);
  CHECK(c->peak_ewma_decay == Millis(3000));
  // A list with an unknown policy first still picks the known one (Envoy's rule).
  auto fallback = convert(R"("lb_policy": "LOAD_BALANCING_POLICY_CONFIG", "load_balancing_policy": {"policies": [
      {"typed_extension_config": {"name": "x", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}},
      {"typed_extension_config": {"name": "p", "typed_config": {
        "@type": "type.googleapis.com/remora.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma"}}}]})");
  REQUIRE(fallback);
  CHECK(fallback->lb_policy == Cluster::LbPolicy::kPeakEwma);
  CHECK(fallback->peak_ewma_decay == Cluster{}.peak_ewma_decay);

  CHECK(convertError(R"("lb_policy": "LOAD_BALANCING_POLICY_CONFIG")") ==
        "cs[0].load_balancing_policy: is required with lb_policy LOAD_BALANCING_POLICY_CONFIG");
  auto unknown = convert(R"("lb_policy": "LOAD_BALANCING_POLICY_CONFIG", "load_balancing_policy": {"policies": [
      {"typed_extension_config": {"name": "x", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}}]})");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == Error::kUnsupported);
  CHECK(unknown.error().message ==
        "cs[0].load_balancing_policy.policies: not supported by remora-proxy (no policy remora-proxy knows "
        "(envoy.extensions.filters.http.router.v3.Router); supported: remora.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma)");
  CHECK(convertError(R"("lb_policy": "MAGLEV", "load_balancing_policy": {"policies": []})") ==
        "cs[0].load_balancing_policy: cannot be used with lb_policy MAGLEV");
  CHECK_THAT(convertError(R"("lb_policy": "LOAD_BALANCING_POLICY_CONFIG", "load_balancing_policy": {"policies": [
      {"typed_extension_config": {"name": "p", "typed_config": {
        "@type": "type.googleapis.com/remora.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma",
        "decay_time": "0s"}}}]})"),
             Catch::EndsWith("typed_config.decay_time: must be more than 0"));
}

TEST_CASE("balancer options are read, bounded, and only with their policy", "[xds][resources][lb]") {
  auto least = convert(R"("lb_policy": "LEAST_REQUEST", "least_request_lb_config": {"choice_count": 3})");
  REQUIRE(least);
  CHECK(least->least_request_choice_count == 3);
  CHECK(convertError(R"("lb_policy": "LEAST_REQUEST", "least_request_lb_config": {"choice_count": 1})") ==
        "cs[0].least_request_lb_config.choice_count: must be at least 2");
  CHECK(convertError(R"("least_request_lb_config": {"choice_count": 3})") ==
        "cs[0].least_request_lb_config: is only for lb_policy LEAST_REQUEST");

  auto ring = convert(R"("lb_policy": "RING_HASH", "ring_hash_lb_config": {"minimum_ring_size": 64, "maximum_ring_size": 4096})");
  REQUIRE(ring);
  CHECK(ring->ring_hash_minimum_size == 64);
  CHECK(ring->ring_hash_maximum_size == 4096);
  CHECK(convertError(R"("lb_policy": "RING_HASH", "ring_hash_lb_config": {"minimum_ring_size": 5000, "maximum_ring_size": 4096})") ==
        "cs[0].ring_hash_lb_config.minimum_ring_size: 5000 is more than maximum_ring_size 4096");
  CHECK(convertError(R"("lb_policy": "RING_HASH", "ring_hash_lb_config": {"maximum_ring_size": 8388609})") ==
        "cs[0].ring_hash_lb_config.maximum_ring_size: 8388609 is over 8388608");
  CHECK(convertError(R"("lb_policy": "RING_HASH", "ring_hash_lb_config": {"hash_function": "MURMUR_HASH_2"})") ==
        "cs[0].ring_hash_lb_config.hash_function: not supported by remora-proxy (MURMUR_HASH_2; supported: XX_HASH)");

  auto maglev = convert(R"("lb_policy": "MAGLEV", "maglev_lb_config": {"table_size": 251})");
  REQUIRE(maglev);
  CHECK(maglev->maglev_table_size == 251);
  CHECK(convertError(R"("lb_policy": "MAGLEV", "maglev_lb_config": {"table_size": 65536})") ==
        "cs[0].maglev_lb_config.table_size: 65536 is not a prime number");
  CHECK(convertError(R"("lb_policy": "MAGLEV", "maglev_lb_config": {"table_size": 5000023})") ==
        "cs[0].maglev_lb_config.table_size: 5000023 is over 5000011");
  CHECK(convertError(R"("maglev_lb_config": {"table_size": 251})") ==
        "cs[0].maglev_lb_config: is only for lb_policy MAGLEV");
}

TEST_CASE("the panic threshold is a percentage, and other common options are refused", "[xds][resources][lb]") {
  auto c = convert(R"("common_lb_config": {"healthy_panic_threshold": {"value": 0}})");
  REQUIRE(c);
  CHECK(c->healthy_panic_threshold == 0.0);
  CHECK(convert("")->healthy_panic_threshold == 50.0);
  CHECK(convertError(R"("common_lb_config": {"healthy_panic_threshold": {"value": 100.5}})") ==
        "cs[0].common_lb_config.healthy_panic_threshold.value: 100.500000 is out of range 0..100");
  CHECK(convertError(R"("common_lb_config": {"locality_weighted_lb_config": {}})") ==
        "cs[0].common_lb_config.locality_weighted_lb_config: not supported by remora-proxy");
}

TEST_CASE("isPrime is right on small and Maglev-sized numbers", "[xds][resources][lb]") {
  CHECK_FALSE(isPrime(0));
  CHECK_FALSE(isPrime(1));
  CHECK(isPrime(2));
  CHECK(isPrime(65537));
  CHECK(isPrime(5000011));
  CHECK_FALSE(isPrime(65535));
  CHECK_FALSE(isPrime(25));
}
