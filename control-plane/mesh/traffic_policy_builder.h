// TrafficPolicy -> xDS: what a service's TrafficPolicy (or its absence) puts
// on every caller's cluster (balancer, outlier detection, health check,
// circuit breakers and retry budget, panic threshold) and on every route to
// it (timeouts, retries, hedging, hash policy). The mesh's defaults live
// here, and docs/api.md ("TrafficPolicy") lists them; change both together.
//
// Internal to control-plane/mesh; called by cluster_builder.cc and
// route_builder.cc. Pure; any thread.
#pragma once

#include <cstdint>

#include "control-plane/mesh/mesh_state.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/route/v3/route_components.pb.h"

namespace remora::cp::mesh {

// Defaults a TrafficPolicy may override. Outlier detection is on for every
// mesh cluster: a dead or failing host must leave the rotation within a
// second or two, not after Envoy's 10 s interval.
struct MeshDefaults {
  static constexpr uint32_t kConsecutive5xx = 5;
  static constexpr uint32_t kConsecutiveGatewayFailure = 5;
  static constexpr uint32_t kConsecutiveLocalOriginFailure = 5;
  static constexpr int64_t kOutlierIntervalMs = 1000;
  static constexpr int64_t kBaseEjectionMs = 30000;
  static constexpr int64_t kMaxEjectionMs = 300000;
  static constexpr uint32_t kMaxEjectionPercent = 50;
  static constexpr uint32_t kSuccessRateMinimumHosts = 5;
  static constexpr uint32_t kSuccessRateRequestVolume = 100;
  static constexpr double kSuccessRateStdevFactor = 1.9;
  static constexpr uint32_t kFailurePercentageThreshold = 85;
  static constexpr uint32_t kFailurePercentageMinimumHosts = 5;
  static constexpr uint32_t kFailurePercentageRequestVolume = 50;
  // Retries (Istio's default policy), on unless a policy turns them off.
  static constexpr uint32_t kRetryAttempts = 2;
  static constexpr uint32_t kRetriableStatusCode = 503;
  static constexpr uint32_t kHostSelectionRetryMaxAttempts = 5;
  static constexpr double kRetryBudgetPercent = 20.0;
  static constexpr uint32_t kMinRetriesPerSecond = 3;
  // Active health checks (only when a policy asks for them).
  static constexpr int64_t kHealthCheckIntervalMs = 5000;
  static constexpr int64_t kHealthCheckTimeoutMs = 1000;
  static constexpr uint32_t kHealthyThreshold = 2;
  static constexpr uint32_t kUnhealthyThreshold = 3;
};

// "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes".
extern const char* const kDefaultRetryOn[5];

// The cluster side of `policy` (may be null: the defaults) on an outbound
// EDS cluster; `http2` selects HTTP/2 health checks (HTTP2/GRPC ports).
void applyClusterPolicy(const v1::TrafficPolicy* policy, bool http2, envoy::config::cluster::v3::Cluster& out);

// The route side of `policy` (may be null: the defaults) on a route to the
// service. The request timeout is set by the caller (a RouteRule may override it).
void applyRoutePolicy(const v1::TrafficPolicy* policy, envoy::config::route::v3::RouteAction& out);

}  // namespace remora::cp::mesh
