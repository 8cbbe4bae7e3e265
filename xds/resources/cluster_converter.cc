#include "xds/resources/cluster_converter.h"

#include <string>

#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"
#include "xds/resources/cluster_health_converter.h"
#include "xds/resources/common_converters.h"
#include "xds/resources/lb_policy_converter.h"
#include "xds/resources/tls_converter.h"

namespace remora::xds::resources {

namespace cluster = envoy::config::cluster::v3;
namespace core = envoy::config::core::v3;
namespace endpoint = envoy::config::endpoint::v3;
namespace upstream_http = envoy::extensions::upstreams::http::v3;
using base::Result;
using base::Status;

namespace {

constexpr uint32_t kMaxStreams = 2147483647;

Result<HealthStatus> toHealthStatus(core::HealthStatus status) {
  switch (status) {
    case core::UNKNOWN: return HealthStatus::kUnknown;
    case core::HEALTHY: return HealthStatus::kHealthy;
    case core::UNHEALTHY: return HealthStatus::kUnhealthy;
    case core::DRAINING: return HealthStatus::kDraining;
    case core::TIMEOUT: return HealthStatus::kTimeout;
    case core::DEGRADED: return HealthStatus::kDegraded;
    default: return base::fail(base::Error::kInvalidArgument, "unknown health status");
  }
}

Result<Endpoint> toEndpoint(const endpoint::LbEndpoint& proto, std::string_view path) {
  // metadata is informational (Envoy reads it only for subset load balancing
  // and filters Remora does not have); control planes such as Istio always set it.
  if (Status s = onlySupportedFields(proto, path, {"endpoint", "health_status", "load_balancing_weight", "metadata"});
      !s) {
    return s.error();
  }
  Endpoint out;
  const std::string endpoint_path = fieldPath(path, "endpoint");
  if (!proto.has_endpoint()) return invalidField(endpoint_path, "is required");
  if (Status s = onlySupportedFields(proto.endpoint(), endpoint_path, {"address"}); !s) return s.error();
  Result<SocketAddress> address =
      toSocketAddress(proto.endpoint().address(), fieldPath(endpoint_path, "address"), PortPolicy::kNonZero);
  if (!address) return address.error();
  out.address = std::move(*address);
  Result<HealthStatus> health = toHealthStatus(proto.health_status());
  if (!health) return invalidField(fieldPath(path, "health_status"), health.error().message);
  out.health = *health;
  if (proto.has_load_balancing_weight()) {
    if (proto.load_balancing_weight().value() == 0) {
      return invalidField(fieldPath(path, "load_balancing_weight"), "must be at least 1");
    }
    out.weight = proto.load_balancing_weight().value();
  }
  return out;
}

// An upstream's HTTP/2 options: only the stream limit is implemented.
Status toUpstreamHttp2(const core::Http2ProtocolOptions& proto, std::string_view path, Cluster& out) {
  if (Status s = onlySupportedFields(proto, path, {"max_concurrent_streams"}); !s) return s;
  if (proto.has_max_concurrent_streams()) {
    const uint32_t value = proto.max_concurrent_streams().value();
    if (value < 1 || value > kMaxStreams) {
      return invalidField(fieldPath(path, "max_concurrent_streams"),
                          std::to_string(value) + " is out of range 1.." + std::to_string(kMaxStreams));
    }
    out.http2_max_concurrent_streams = value;
  }
  return Status::ok();
}

Status toCommonHttp(const core::HttpProtocolOptions& proto, std::string_view path, Cluster& out) {
  if (Status s = onlySupportedFields(proto, path, {"idle_timeout", "max_requests_per_connection"}); !s) return s;
  if (proto.has_idle_timeout()) {
    Result<Millis> idle = toMillis(proto.idle_timeout(), fieldPath(path, "idle_timeout"));
    if (!idle) return idle.status();
    out.pool_idle_timeout = *idle;
  }
  if (proto.has_max_requests_per_connection()) {
    out.max_requests_per_connection = proto.max_requests_per_connection().value();
  }
  return Status::ok();
}

Status toHttpProtocolOptions(const upstream_http::HttpProtocolOptions& proto, std::string_view path, Cluster& out) {
  if (Status s = onlySupportedFields(
          proto, path, {"common_http_protocol_options", "explicit_http_config", "use_downstream_protocol_config"});
      !s) {
    return s;
  }
  if (proto.has_common_http_protocol_options()) {
    if (Status s =
            toCommonHttp(proto.common_http_protocol_options(), fieldPath(path, "common_http_protocol_options"), out);
        !s) {
      return s;
    }
  }
  if (proto.has_explicit_http_config()) {
    const std::string explicit_path = fieldPath(path, "explicit_http_config");
    const auto& config = proto.explicit_http_config();
    if (config.has_http2_protocol_options()) {
      out.protocol = Cluster::UpstreamProtocol::kHttp2;
      return toUpstreamHttp2(config.http2_protocol_options(), fieldPath(explicit_path, "http2_protocol_options"), out);
    }
    if (config.has_http_protocol_options()) {
      out.protocol = Cluster::UpstreamProtocol::kHttp1;
      return onlySupportedFields(config.http_protocol_options(), fieldPath(explicit_path, "http_protocol_options"), {});
    }
    return invalidField(explicit_path, "one of http_protocol_options or http2_protocol_options is required");
  }
  if (proto.has_use_downstream_protocol_config()) {
    const std::string downstream_path = fieldPath(path, "use_downstream_protocol_config");
    const auto& config = proto.use_downstream_protocol_config();
    out.protocol = Cluster::UpstreamProtocol::kUseDownstream;
    if (Status s = onlySupportedFields(config.http_protocol_options(),
                                       fieldPath(downstream_path, "http_protocol_options"), {});
        !s) {
      return s;
    }
    return toUpstreamHttp2(config.http2_protocol_options(), fieldPath(downstream_path, "http2_protocol_options"), out);
  }
  return invalidField(path, "one of explicit_http_config or use_downstream_protocol_config is required");
}

// The protocol: typed_extension_protocol_options, or the deprecated
// Cluster-level fields many existing configurations still use; not both.
Status toProtocol(const cluster::Cluster& proto, std::string_view path, Cluster& out) {
  const bool deprecated_set = proto.has_http_protocol_options() || proto.has_http2_protocol_options() ||
                              proto.has_common_http_protocol_options() || proto.has_max_requests_per_connection() ||
                              proto.protocol_selection() != cluster::Cluster::USE_CONFIGURED_PROTOCOL;
  const std::string options_path = fieldPath(path, "typed_extension_protocol_options");
  for (const auto& [key, any] : proto.typed_extension_protocol_options()) {
    const std::string item = options_path + "[" + quoted(key) + "]";
    if (key != kHttpProtocolOptionsKey) {
      return unsupportedField(item,
                              "extension " + quoted(key) + "; supported: " + std::string(kHttpProtocolOptionsKey));
    }
    if (deprecated_set) {
      return invalidField(item,
                          "set either typed_extension_protocol_options or the deprecated "
                          "http_protocol_options/http2_protocol_options/common_http_protocol_options, "
                          "not both");
    }
    if (anyTypeName(any.type_url()) != kHttpProtocolOptionsKey) {
      return invalidField(item, "@type " + any.type_url() + " is not " + std::string(kHttpProtocolOptionsKey));
    }
    upstream_http::HttpProtocolOptions options;
    if (!any.UnpackTo(&options)) {
      return invalidField(item, "cannot be decoded as " + std::string(kHttpProtocolOptionsKey));
    }
    if (Status s = toHttpProtocolOptions(options, item, out); !s) return s;
  }
  if (!deprecated_set) return Status::ok();

  if (proto.has_http_protocol_options()) {
    if (Status s = onlySupportedFields(proto.http_protocol_options(), fieldPath(path, "http_protocol_options"), {});
        !s) {
      return s;
    }
  }
  if (proto.has_http2_protocol_options()) {
    out.protocol = Cluster::UpstreamProtocol::kHttp2;
    if (Status s = toUpstreamHttp2(proto.http2_protocol_options(), fieldPath(path, "http2_protocol_options"), out);
        !s) {
      return s;
    }
  }
  if (proto.protocol_selection() == cluster::Cluster::USE_DOWNSTREAM_PROTOCOL) {
    out.protocol = Cluster::UpstreamProtocol::kUseDownstream;
  }
  if (proto.has_common_http_protocol_options()) {
    if (Status s =
            toCommonHttp(proto.common_http_protocol_options(), fieldPath(path, "common_http_protocol_options"), out);
        !s) {
      return s;
    }
  }
  if (proto.has_max_requests_per_connection()) {
    out.max_requests_per_connection = proto.max_requests_per_connection().value();
  }
  return Status::ok();
}

// Unset fields take the defaults (20 %, 3). A budget of 100 % or more
// limits nothing, so it means "no budget" (only max_retries applies); this
// is how a control plane turns off Remora's default budget.
Status toRetryBudget(const cluster::CircuitBreakers::Thresholds::RetryBudget& proto, std::string_view path,
                     CircuitBreakers& out) {
  if (Status s = onlySupportedFields(proto, path, {"budget_percent", "min_retry_concurrency"}); !s) return s;
  RetryBudget budget;
  if (proto.has_budget_percent()) {
    const std::string percent_path = fieldPath(path, "budget_percent");
    if (Status s = onlySupportedFields(proto.budget_percent(), percent_path, {"value"}); !s) return s;
    const double value = proto.budget_percent().value();
    if (!(value >= 0.0)) return invalidField(fieldPath(percent_path, "value"), "must not be negative");
    if (value >= 100.0) {
      out.retry_budget.reset();
      return Status::ok();
    }
    budget.budget_percent = value;
  }
  // Remora's budget is over a window of recent requests, not concurrent
  // ones; Envoy's floor field is read as retries per second.
  if (proto.has_min_retry_concurrency()) budget.min_retries_per_second = proto.min_retry_concurrency().value();
  out.retry_budget = budget;
  return Status::ok();
}

Status toCircuitBreakers(const cluster::CircuitBreakers& proto, std::string_view path, CircuitBreakers& out) {
  if (Status s = onlySupportedFields(proto, path, {"thresholds"}); !s) return s;
  bool seen_default = false;
  for (int i = 0; i < proto.thresholds_size(); ++i) {
    const cluster::CircuitBreakers::Thresholds& thresholds = proto.thresholds(i);
    const std::string item = indexPath(fieldPath(path, "thresholds"), static_cast<size_t>(i));
    if (Status s = onlySupportedFields(thresholds, item,
                                       {"priority", "max_connections", "max_pending_requests", "max_requests",
                                        "max_retries", "retry_budget"});
        !s) {
      return s;
    }
    if (thresholds.priority() != core::DEFAULT) {
      return unsupportedField(fieldPath(item, "priority"), "only DEFAULT priority traffic exists");
    }
    if (seen_default) return invalidField(fieldPath(item, "priority"), "DEFAULT thresholds are set twice");
    seen_default = true;
    if (thresholds.has_max_connections()) out.max_connections = thresholds.max_connections().value();
    if (thresholds.has_max_pending_requests()) out.max_pending_requests = thresholds.max_pending_requests().value();
    if (thresholds.has_max_requests()) out.max_requests = thresholds.max_requests().value();
    if (thresholds.has_max_retries()) out.max_retries = thresholds.max_retries().value();
    if (thresholds.has_retry_budget()) {
      if (Status s = toRetryBudget(thresholds.retry_budget(), fieldPath(item, "retry_budget"), out); !s) return s;
    }
  }
  return Status::ok();
}

Status toDiscovery(const cluster::Cluster& proto, std::string_view path, Cluster& out) {
  const std::string eds_path = fieldPath(path, "eds_cluster_config");
  switch (proto.type()) {
    case cluster::Cluster::STATIC: {
      out.type = Cluster::DiscoveryType::kStatic;
      if (proto.has_eds_cluster_config()) return invalidField(eds_path, "is only for type EDS");
      Result<ClusterLoadAssignment> assignment =
          toClusterLoadAssignment(proto.load_assignment(), fieldPath(path, "load_assignment"));
      if (!assignment) return assignment.status();
      out.endpoints = std::move(assignment->endpoints);
      out.overprovisioning_factor = assignment->overprovisioning_factor;
      return Status::ok();
    }
    case cluster::Cluster::EDS: {
      out.type = Cluster::DiscoveryType::kEds;
      if (proto.has_load_assignment()) {
        return invalidField(fieldPath(path, "load_assignment"),
                            "must not be set: an EDS cluster's endpoints come from EDS");
      }
      const cluster::Cluster::EdsClusterConfig& eds = proto.eds_cluster_config();
      if (Status s = onlySupportedFields(eds, eds_path, {"eds_config", "service_name"}); !s) return s;
      const std::string source_path = fieldPath(eds_path, "eds_config");
      if (Status s = onlySupportedFields(eds.eds_config(), source_path, {"ads", "resource_api_version"}); !s) return s;
      if (!eds.eds_config().has_ads()) {
        return invalidField(source_path, "must be {ads: {}} (remora-proxy fetches endpoints over ADS only)");
      }
      if (eds.eds_config().resource_api_version() == core::V2) {
        return unsupportedField(fieldPath(source_path, "resource_api_version"), "xDS v2");
      }
      out.eds_service_name = eds.service_name().empty() ? proto.name() : eds.service_name();
      return Status::ok();
    }
    case cluster::Cluster::ORIGINAL_DST:
      out.type = Cluster::DiscoveryType::kOriginalDst;
      if (proto.has_eds_cluster_config()) return invalidField(eds_path, "is only for type EDS");
      if (proto.has_load_assignment()) {
        return invalidField(fieldPath(path, "load_assignment"),
                            "must not be set: an ORIGINAL_DST cluster's host is each connection's original destination");
      }
      return Status::ok();
    default:
      return unsupportedField(fieldPath(path, "type"), cluster::Cluster::DiscoveryType_Name(proto.type()) +
                                                           "; supported: STATIC, EDS, ORIGINAL_DST");
  }
}

Status toOriginalDstLbConfig(const cluster::Cluster::OriginalDstLbConfig& proto, std::string_view path, Cluster& out) {
  if (Status s = onlySupportedFields(proto, path, {"use_http_header", "http_header_name", "upstream_port_override"});
      !s) {
    return s;
  }
  if (proto.use_http_header() || !proto.http_header_name().empty()) {
    const std::string_view field = proto.use_http_header() ? "use_http_header" : "http_header_name";
    return unsupportedField(fieldPath(path, field),
                            "the destination comes from the connection's original destination only, not a header");
  }
  if (proto.has_upstream_port_override()) {
    const uint32_t port = proto.upstream_port_override().value();
    if (port < 1 || port > 65535) {
      return invalidField(fieldPath(path, "upstream_port_override"), std::to_string(port) + " is out of range 1..65535");
    }
    out.upstream_port_override = port;
  }
  return Status::ok();
}

// ORIGINAL_DST: the host comes with each connection, so nothing balances,
// checks or ejects hosts; fields that would configure that are refused
// rather than silently ignored.
Status toOriginalDst(const cluster::Cluster& proto, std::string_view path, Cluster& out) {
  if (proto.lb_policy() != cluster::Cluster::CLUSTER_PROVIDED) {
    return invalidField(fieldPath(path, "lb_policy"), "must be CLUSTER_PROVIDED for type ORIGINAL_DST, not " +
                                                          cluster::Cluster::LbPolicy_Name(proto.lb_policy()));
  }
  const std::pair<bool, std::string_view> refused[] = {
      {proto.has_load_balancing_policy(), "load_balancing_policy"},
      {proto.has_least_request_lb_config(), "least_request_lb_config"},
      {proto.has_ring_hash_lb_config(), "ring_hash_lb_config"},
      {proto.has_maglev_lb_config(), "maglev_lb_config"},
      {proto.has_common_lb_config(), "common_lb_config"},
      {proto.has_outlier_detection(), "outlier_detection"},
      {proto.health_checks_size() > 0, "health_checks"},
  };
  for (const auto& [set, field] : refused) {
    if (set) return invalidField(fieldPath(path, field), "must not be set for type ORIGINAL_DST (no host is balanced)");
  }
  // An empty round robin block is accepted, as for other clusters.
  if (Status s = onlySupportedFields(proto.round_robin_lb_config(), fieldPath(path, "round_robin_lb_config"), {});
      !s) {
    return s;
  }
  if (proto.has_cleanup_interval()) {
    Result<Millis> interval = toPositiveMillis(proto.cleanup_interval(), fieldPath(path, "cleanup_interval"));
    if (!interval) return interval.status();
    out.cleanup_interval = *interval;
  }
  if (proto.has_original_dst_lb_config()) {
    return toOriginalDstLbConfig(proto.original_dst_lb_config(), fieldPath(path, "original_dst_lb_config"), out);
  }
  return Status::ok();
}

// Load balancing, outlier detection and health checks of the clusters that
// have endpoints.
Status toBalancedHosts(const cluster::Cluster& proto, std::string_view path, Cluster& out) {
  for (const auto& [set, field] : {std::pair{proto.has_cleanup_interval(), "cleanup_interval"},
                                   std::pair{proto.has_original_dst_lb_config(), "original_dst_lb_config"}}) {
    if (set) return invalidField(fieldPath(path, field), "is only for type ORIGINAL_DST");
  }
  if (Status s = toLoadBalancing(proto, path, out); !s) return s;
  if (proto.has_outlier_detection()) {
    Result<OutlierDetection> outlier = toOutlierDetection(proto.outlier_detection(), fieldPath(path, "outlier_detection"));
    if (!outlier) return outlier.status();
    out.outlier_detection = std::move(*outlier);
  }
  const std::string checks_path = fieldPath(path, "health_checks");
  if (proto.health_checks_size() > 1) {
    return unsupportedField(indexPath(checks_path, 1), "one health check per cluster");
  }
  if (proto.health_checks_size() == 1) {
    Result<HealthCheck> check = toHealthCheck(proto.health_checks(0), indexPath(checks_path, 0));
    if (!check) return check.status();
    out.health_check = std::move(*check);
  }
  return Status::ok();
}

}  // namespace

Result<ClusterLoadAssignment> toClusterLoadAssignment(const endpoint::ClusterLoadAssignment& proto,
                                                      std::string_view path) {
  if (Status s = onlySupportedFields(proto, path, {"cluster_name", "endpoints", "policy"}); !s) return s.error();
  ClusterLoadAssignment out;
  out.cluster_name = proto.cluster_name();
  if (proto.has_policy()) {
    const std::string policy_path = fieldPath(path, "policy");
    if (Status s = onlySupportedFields(proto.policy(), policy_path, {"overprovisioning_factor"}); !s) {
      return s.error();
    }
    if (proto.policy().has_overprovisioning_factor()) {
      const uint32_t factor = proto.policy().overprovisioning_factor().value();
      if (factor == 0) return invalidField(fieldPath(policy_path, "overprovisioning_factor"), "must be more than 0");
      out.overprovisioning_factor = factor;
    }
  }
  for (int i = 0; i < proto.endpoints_size(); ++i) {
    const endpoint::LocalityLbEndpoints& locality = proto.endpoints(i);
    const std::string locality_path = indexPath(fieldPath(path, "endpoints"), static_cast<size_t>(i));
    // Metadata is informational. A locality's weight only matters under
    // locality-weighted balancing (common_lb_config, refused), and Envoy
    // ignores it otherwise, so it is checked and then ignored too.
    if (Status s = onlySupportedFields(locality, locality_path,
                                       {"locality", "lb_endpoints", "metadata", "load_balancing_weight", "priority"});
        !s) {
      return s.error();
    }
    if (locality.has_load_balancing_weight() && locality.load_balancing_weight().value() == 0) {
      return invalidField(fieldPath(locality_path, "load_balancing_weight"), "must be at least 1");
    }
    const Locality where{locality.locality().region(), locality.locality().zone(), locality.locality().sub_zone()};
    for (int j = 0; j < locality.lb_endpoints_size(); ++j) {
      Result<Endpoint> host = toEndpoint(locality.lb_endpoints(j),
                                         indexPath(fieldPath(locality_path, "lb_endpoints"), static_cast<size_t>(j)));
      if (!host) return host.error();
      host->locality = where;
      host->priority = locality.priority();
      out.endpoints.push_back(std::move(*host));
    }
  }
  return out;
}

Result<std::vector<Endpoint>> toEndpoints(const endpoint::ClusterLoadAssignment& proto, std::string_view path) {
  Result<ClusterLoadAssignment> assignment = toClusterLoadAssignment(proto, path);
  if (!assignment) return assignment.error();
  return std::move(assignment->endpoints);
}

Result<Cluster> toCluster(const cluster::Cluster& proto, std::string_view path) {
  if (Status s = onlySupportedFields(
          proto, path,
          {"name", "type", "eds_cluster_config", "connect_timeout", "per_connection_buffer_limit_bytes", "lb_policy",
           "load_assignment", "circuit_breakers", "typed_extension_protocol_options", "max_requests_per_connection",
           "http_protocol_options", "http2_protocol_options", "protocol_selection", "common_http_protocol_options",
           "round_robin_lb_config", "least_request_lb_config", "ring_hash_lb_config", "maglev_lb_config",
           "common_lb_config", "load_balancing_policy", "outlier_detection", "health_checks", "metadata",
           "transport_socket", "cleanup_interval", "original_dst_lb_config"});
      !s) {
    return s.error();
  }
  Cluster out;
  if (proto.name().empty()) return invalidField(fieldPath(path, "name"), "is required");
  out.name = proto.name();
  if (Status s = toDiscovery(proto, path, out); !s) return s.error();
  if (proto.has_connect_timeout()) {
    const std::string timeout_path = fieldPath(path, "connect_timeout");
    Result<Millis> timeout = toMillis(proto.connect_timeout(), timeout_path);
    if (!timeout) return timeout.error();
    if (timeout->count() == 0) return invalidField(timeout_path, "must be more than 0");
    out.connect_timeout = *timeout;
  }
  if (Status s = out.type == Cluster::DiscoveryType::kOriginalDst ? toOriginalDst(proto, path, out)
                                                                  : toBalancedHosts(proto, path, out);
      !s) {
    return s.error();
  }
  if (proto.has_per_connection_buffer_limit_bytes()) {
    const uint32_t limit = proto.per_connection_buffer_limit_bytes().value();
    if (limit == 0) return invalidField(fieldPath(path, "per_connection_buffer_limit_bytes"), "must be more than 0");
    out.per_connection_buffer_limit_bytes = limit;
  }
  if (Status s = toCircuitBreakers(proto.circuit_breakers(), fieldPath(path, "circuit_breakers"), out.circuit_breakers);
      !s) {
    return s.error();
  }
  if (Status s = toProtocol(proto, path, out); !s) return s.error();
  if (proto.has_transport_socket()) {
    Result<UpstreamTls> tls = toUpstreamTls(proto.transport_socket(), fieldPath(path, "transport_socket"));
    if (!tls) return tls.error();
    out.tls = std::move(*tls);
  }
  return out;
}

}  // namespace remora::xds::resources
