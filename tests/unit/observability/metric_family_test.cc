#include "proxy/observability/metric_family.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

using remora::base::Error;
using remora::observability::MetricFamily;
using remora::observability::MetricType;
using remora::observability::validateFamily;

namespace {

MetricFamily family(std::string name, MetricType type, std::vector<std::string> labels = {},
                    std::vector<double> bounds = {}) {
  return MetricFamily{0, std::move(name), "help", type, std::move(labels), std::move(bounds)};
}

}  // namespace

TEST_CASE("metric and label names follow Prometheus' character rules", "[observability]") {
  using remora::observability::isValidLabelName;
  using remora::observability::isValidMetricName;
  CHECK(isValidMetricName("remora_http_requests_total"));
  CHECK(isValidMetricName("ns:rule_name"));
  CHECK_FALSE(isValidMetricName("9lives"));
  CHECK_FALSE(isValidMetricName("with-dash"));
  CHECK_FALSE(isValidMetricName(""));
  CHECK(isValidLabelName("cluster"));
  CHECK_FALSE(isValidLabelName("__reserved"));
  CHECK_FALSE(isValidLabelName("a:b"));
  CHECK_FALSE(isValidLabelName("1st"));
}

TEST_CASE("family validation names the bad part", "[observability]") {
  CHECK(validateFamily(family("ok_seconds", MetricType::kHistogram, {"cluster"}, {0.1, 1})).has_value());
  auto bad_label = validateFamily(family("m", MetricType::kCounter, {"bad-label"}));
  REQUIRE_FALSE(bad_label.has_value());
  CHECK(bad_label.code() == Error::kInvalidArgument);
  CHECK_THAT(bad_label.message(), Catch::Contains("bad-label"));
  CHECK(validateFamily(family("m", MetricType::kCounter, {"a", "a"})).code() == Error::kAlreadyExists);
  CHECK(validateFamily(family("h", MetricType::kHistogram, {"le"}, {1})).code() == Error::kInvalidArgument);
  CHECK(validateFamily(family("h", MetricType::kHistogram, {}, {1, 1})).code() == Error::kInvalidArgument);
  CHECK(validateFamily(family("h", MetricType::kHistogram, {}, {})).code() == Error::kInvalidArgument);
  CHECK(validateFamily(family("h", MetricType::kHistogram, {}, {1, INFINITY})).code() == Error::kInvalidArgument);
  CHECK(validateFamily(family("g", MetricType::kGauge, {}, {1})).code() == Error::kInvalidArgument);
}

TEST_CASE("default latency buckets span half a millisecond to ten seconds in increasing order",
          "[observability]") {
  auto bounds = remora::observability::defaultLatencyBuckets();
  REQUIRE(bounds.size() >= 10);
  CHECK(bounds.front() == 0.0005);
  CHECK(bounds.back() == 10);
  CHECK(std::is_sorted(bounds.begin(), bounds.end()));
}

TEST_CASE("a histogram reserves its _bucket, _sum and _count names", "[observability]") {
  auto names = remora::observability::sampleNames(family("lat_seconds", MetricType::kHistogram, {}, {1}));
  CHECK(names == std::vector<std::string>{"lat_seconds", "lat_seconds_bucket", "lat_seconds_sum",
                                          "lat_seconds_count"});
  CHECK(remora::observability::sampleNames(family("up", MetricType::kGauge)) == std::vector<std::string>{"up"});
}
