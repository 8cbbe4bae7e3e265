// XdsMetrics: pushes and NACKs per resource type (unknown type URLs folded
// into "other"), and a latency histogram whose buckets are cumulative and end
// in +Inf equal to _count.
#include "control-plane/xds/xds_metrics.h"

#include <catch2/catch.hpp>

using remora::cp::xds::XdsMetrics;

TEST_CASE("xDS metrics count pushes and NACKs by short type name, unknown types as other", "[cp][xds][metrics]") {
  XdsMetrics m;
  m.recordPush("type.googleapis.com/envoy.config.cluster.v3.Cluster", -1);
  m.recordPush("type.googleapis.com/envoy.config.cluster.v3.Cluster", -1);
  m.recordPush("type.googleapis.com/envoy.config.listener.v3.Listener", -1);
  m.recordNack("type.googleapis.com/envoy.config.route.v3.RouteConfiguration");
  m.recordNack("type.googleapis.com/made.up.Thing");
  std::string out;
  m.appendMetrics(out);
  CHECK_THAT(out, Catch::Contains("remora_cp_xds_pushes_total{type=\"Cluster\"} 2\n"));
  CHECK_THAT(out, Catch::Contains("remora_cp_xds_pushes_total{type=\"Listener\"} 1\n"));
  CHECK_THAT(out, Catch::Contains("remora_cp_xds_nacks_total{type=\"RouteConfiguration\"} 1\n"));
  CHECK_THAT(out, Catch::Contains("remora_cp_xds_nacks_total{type=\"other\"} 1\n"));
  // Responses to requests are pushes but carry no latency.
  CHECK_THAT(out, Catch::Contains("remora_cp_xds_push_latency_seconds_count 0\n"));
}

TEST_CASE("the xDS push latency histogram is cumulative and ends in +Inf", "[cp][xds][metrics]") {
  XdsMetrics m;
  m.recordPush("type.googleapis.com/envoy.config.cluster.v3.Cluster", 0.004);
  m.recordPush("type.googleapis.com/envoy.config.cluster.v3.Cluster", 0.2);
  m.recordPush("type.googleapis.com/envoy.config.cluster.v3.Cluster", 0.25);
  m.recordPush("type.googleapis.com/envoy.config.cluster.v3.Cluster", 99);
  std::string out;
  m.appendMetrics(out);
  CHECK_THAT(out, Catch::Contains("# TYPE remora_cp_xds_push_latency_seconds histogram\n"));
  CHECK_THAT(out, Catch::Contains("remora_cp_xds_push_latency_seconds_bucket{le=\"0.005\"} 1\n"));
  CHECK_THAT(out, Catch::Contains("remora_cp_xds_push_latency_seconds_bucket{le=\"0.1\"} 1\n"));
  // A bound is inclusive: 0.25 falls in le="0.25".
  CHECK_THAT(out, Catch::Contains("remora_cp_xds_push_latency_seconds_bucket{le=\"0.25\"} 3\n"));
  CHECK_THAT(out, Catch::Contains("remora_cp_xds_push_latency_seconds_bucket{le=\"30\"} 3\n"));
  CHECK_THAT(out, Catch::Contains("remora_cp_xds_push_latency_seconds_bucket{le=\"+Inf\"} 4\n"));
  CHECK_THAT(out, Catch::Contains("remora_cp_xds_push_latency_seconds_count 4\n"));
  CHECK_THAT(out, Catch::Contains("remora_cp_xds_push_latency_seconds_sum 99.454\n"));
}
