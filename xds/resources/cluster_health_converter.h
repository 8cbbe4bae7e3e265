// A Cluster's passive and active health settings -> the model:
// outlier_detection (OutlierDetection) and health_checks (one HealthCheck:
// HTTP, TCP or gRPC). Split from cluster_converter.cc, which calls them;
// pure, any thread.
#pragma once

#include <string_view>

#include "envoy/config/cluster/v3/outlier_detection.pb.h"
#include "envoy/config/core/v3/health_check.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

// Unset fields keep Envoy's defaults (the model's). Percentages are 0..100,
// durations more than 0; max_ejection_time defaults to the larger of 300 s
// and base_ejection_time, as in Envoy.
base::Result<OutlierDetection> toOutlierDetection(const envoy::config::cluster::v3::OutlierDetection& proto,
                                                  std::string_view path);

// One health check. Unset timeout, interval and thresholds keep the model's
// defaults (Envoy requires them; Remora is lenient); set ones must be more
// than 0. `path` is the entry's ("clusters[0].health_checks[0]").
base::Result<HealthCheck> toHealthCheck(const envoy::config::core::v3::HealthCheck& proto, std::string_view path);

}  // namespace remora::xds::resources
