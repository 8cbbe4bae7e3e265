// Cluster and ClusterLoadAssignment protos (bootstrap static_resources, CDS,
// EDS) -> the validated model: discovery type, timeouts, endpoints (with
// locality and priority), circuit breakers and the retry budget, the
// upstream HTTP protocol and TLS (transport_socket). Load balancing is in
// lb_policy_converter.h, outlier detection and health checks in
// cluster_health_converter.h. Pure, any thread; called by toBootstrap and by the xDS
// client on the main thread.
#pragma once

#include <string_view>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

// The extension key (and @type) of a cluster's upstream HTTP options in
// typed_extension_protocol_options.
inline constexpr std::string_view kHttpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

// Errors name the field under `path` ("" for a resource on its own). An EDS
// cluster's eds_service_name defaults to the cluster's name, as in Envoy.
base::Result<Cluster> toCluster(const envoy::config::cluster::v3::Cluster& proto, std::string_view path = "");

// A STATIC cluster's load_assignment, or an EDS response: endpoints with
// their locality and priority, and policy.overprovisioning_factor.
base::Result<ClusterLoadAssignment> toClusterLoadAssignment(
    const envoy::config::endpoint::v3::ClusterLoadAssignment& proto, std::string_view path = "");

// toClusterLoadAssignment's endpoints.
base::Result<std::vector<Endpoint>> toEndpoints(const envoy::config::endpoint::v3::ClusterLoadAssignment& proto,
                                                std::string_view path = "");

}  // namespace remora::xds::resources
