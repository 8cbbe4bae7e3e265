#include "xds/resources/http_connection_manager_converter.h"

#include <optional>
#include <set>
#include <string>

#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "xds/resources/access_log_converter.h"
#include "xds/resources/common_converters.h"
#include "xds/resources/rbac_converter.h"
#include "xds/resources/route_converter.h"
#include "xds/resources/tracing_converter.h"

namespace remora::xds::resources {

namespace hcm = envoy::extensions::filters::network::http_connection_manager::v3;
namespace core = envoy::config::core::v3;
namespace http_rbac = envoy::extensions::filters::http::rbac::v3;
using base::Result;
using base::Status;

namespace {

constexpr std::string_view kRouterName = "envoy.filters.http.router";
constexpr uint32_t kMaxWindow = 2147483647;  // 2^31-1, RFC 9113 section 6.9.1

Status checkRange(uint32_t value, uint32_t min, uint32_t max, std::string_view path) {
  if (value < min || value > max) {
    return invalidField(path,
                        std::to_string(value) + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
  }
  return Status::ok();
}

// Fills `out.*` from a Duration field when it is set.
Status setMillis(bool has, const google::protobuf::Duration& duration, std::string_view path, Millis& out) {
  if (!has) return Status::ok();
  Result<Millis> millis = toMillis(duration, path);
  if (!millis) return millis.status();
  out = *millis;
  return Status::ok();
}

// The HTTP filters: any envoy.filters.http.rbac filters, then the router,
// which must be last. remora-proxy has no other HTTP filters.
Status toHttpFilters(const hcm::HttpConnectionManager& proto, std::string_view path, HttpConnectionManager& out) {
  const std::string filters_path = fieldPath(path, "http_filters");
  if (proto.http_filters_size() == 0) {
    return invalidField(filters_path, "must end with the envoy.filters.http.router filter");
  }
  const std::string router_type = envoy::extensions::filters::http::router::v3::Router::descriptor()->full_name();
  const std::string rbac_type = http_rbac::RBAC::descriptor()->full_name();
  for (int i = 0; i < proto.http_filters_size(); ++i) {
    const hcm::HttpFilter& filter = proto.http_filters(i);
    const std::string item = indexPath(filters_path, static_cast<size_t>(i));
    const bool last = i == proto.http_filters_size() - 1;
    if (Status s = onlySupportedFields(filter, item, {"name", "typed_config"}); !s) return s;
    const std::string config_path = fieldPath(item, "typed_config");
    bool is_router = false;
    if (filter.has_typed_config()) {
      const std::string_view type = anyTypeName(filter.typed_config().type_url());
      if (type == rbac_type) {
        if (last) return invalidField(item, "envoy.filters.http.rbac must come before the router");
        http_rbac::RBAC rbac;
        if (!filter.typed_config().UnpackTo(&rbac)) {
          return invalidField(config_path, "cannot be decoded as " + rbac_type);
        }
        Result<std::optional<Rbac>> converted = toHttpRbac(rbac, config_path);
        if (!converted) return converted.status();
        if (*converted) out.rbac.push_back(std::move(**converted));
        continue;
      }
      if (type != router_type) {
        return unsupportedField(config_path, "HTTP filter @type " + std::string(filter.typed_config().type_url()) +
                                                 "; supported: " + rbac_type + ", " + router_type);
      }
      envoy::extensions::filters::http::router::v3::Router router;
      if (!filter.typed_config().UnpackTo(&router)) {
        return invalidField(config_path, "cannot be decoded as " + router_type);
      }
      is_router = true;
    } else {
      is_router = filter.name() == kRouterName;
      if (!is_router) {
        return unsupportedField(fieldPath(item, "name"), "HTTP filter " + quoted(filter.name()));
      }
    }
    if (is_router && !last) {
      return invalidField(item, "envoy.filters.http.router must be the last HTTP filter");
    }
  }
  return Status::ok();
}

// x-forwarded-client-cert: SANITIZE (the default) drops what the client sent;
// SANITIZE_SET with set_current_client_cert_details {uri: true} replaces it
// with the peer's URI SAN. Forwarding a client-supplied value is refused: the
// app would trust an identity nobody verified.
Status toForwardClientCert(const hcm::HttpConnectionManager& proto, std::string_view path,
                           HttpConnectionManager& out) {
  const std::string details_path = fieldPath(path, "set_current_client_cert_details");
  switch (proto.forward_client_cert_details()) {
    case hcm::HttpConnectionManager::SANITIZE:
      if (proto.has_set_current_client_cert_details()) {
        return invalidField(details_path, "needs forward_client_cert_details SANITIZE_SET");
      }
      out.forward_client_identity = false;
      return Status::ok();
    case hcm::HttpConnectionManager::SANITIZE_SET: {
      const hcm::HttpConnectionManager::SetCurrentClientCertDetails& details = proto.set_current_client_cert_details();
      if (Status s = onlySupportedFields(details, details_path, {"uri"}); !s) return s;
      if (!details.uri()) return invalidField(fieldPath(details_path, "uri"), "must be true with SANITIZE_SET");
      out.forward_client_identity = true;
      return Status::ok();
    }
    default:
      return unsupportedField(
          fieldPath(path, "forward_client_cert_details"),
          hcm::HttpConnectionManager::ForwardClientCertDetails_Name(proto.forward_client_cert_details()) +
              "; supported: SANITIZE, SANITIZE_SET");
  }
}

Status toRoutes(const hcm::HttpConnectionManager& proto, std::string_view path, HttpConnectionManager& out) {
  switch (proto.route_specifier_case()) {
    case hcm::HttpConnectionManager::kRouteConfig: {
      Result<RouteConfiguration> routes = toRouteConfiguration(proto.route_config(), fieldPath(path, "route_config"));
      if (!routes) return routes.status();
      out.route_config = std::move(*routes);
      return Status::ok();
    }
    case hcm::HttpConnectionManager::kRds: {
      const std::string rds_path = fieldPath(path, "rds");
      const hcm::Rds& rds = proto.rds();
      if (Status s = onlySupportedFields(rds, rds_path, {"config_source", "route_config_name"}); !s) return s;
      const std::string source_path = fieldPath(rds_path, "config_source");
      if (Status s = onlySupportedFields(rds.config_source(), source_path, {"ads", "resource_api_version"}); !s) {
        return s;
      }
      if (!rds.config_source().has_ads()) {
        return invalidField(source_path, "must be {ads: {}} (remora-proxy fetches routes over ADS only)");
      }
      if (rds.config_source().resource_api_version() == core::V2) {
        return unsupportedField(fieldPath(source_path, "resource_api_version"), "xDS v2");
      }
      if (rds.route_config_name().empty()) {
        return invalidField(fieldPath(rds_path, "route_config_name"), "is required");
      }
      out.rds_route_config_name = rds.route_config_name();
      return Status::ok();
    }
    case hcm::HttpConnectionManager::ROUTE_SPECIFIER_NOT_SET: break;
  }
  return invalidField(path, "one of route_config or rds is required");
}

Status toProtocolOptions(const hcm::HttpConnectionManager& proto, std::string_view path, HttpConnectionManager& out) {
  if (proto.has_common_http_protocol_options()) {
    const core::HttpProtocolOptions& common = proto.common_http_protocol_options();
    const std::string common_path = fieldPath(path, "common_http_protocol_options");
    if (Status s = onlySupportedFields(common, common_path, {"idle_timeout", "max_headers_count"}); !s) return s;
    if (Status s = setMillis(common.has_idle_timeout(), common.idle_timeout(), fieldPath(common_path, "idle_timeout"),
                             out.idle_timeout);
        !s) {
      return s;
    }
    if (common.has_max_headers_count()) {
      const uint32_t count = common.max_headers_count().value();
      if (Status s = checkRange(count, 1, UINT32_MAX, fieldPath(common_path, "max_headers_count")); !s) return s;
      out.max_headers_count = count;
    }
  }
  // No HTTP/1 option is implemented; an empty message is fine.
  if (Status s = onlySupportedFields(proto.http_protocol_options(), fieldPath(path, "http_protocol_options"), {}); !s) {
    return s;
  }
  if (proto.has_http2_protocol_options()) {
    const core::Http2ProtocolOptions& h2 = proto.http2_protocol_options();
    const std::string h2_path = fieldPath(path, "http2_protocol_options");
    if (Status s = onlySupportedFields(
            h2, h2_path, {"max_concurrent_streams", "initial_stream_window_size", "initial_connection_window_size"});
        !s) {
      return s;
    }
    if (h2.has_max_concurrent_streams()) {
      const uint32_t value = h2.max_concurrent_streams().value();
      if (Status s = checkRange(value, 1, kMaxWindow, fieldPath(h2_path, "max_concurrent_streams")); !s) return s;
      out.max_concurrent_streams = value;
    }
    if (h2.has_initial_stream_window_size()) {
      const uint32_t value = h2.initial_stream_window_size().value();
      if (Status s = checkRange(value, 65535, kMaxWindow, fieldPath(h2_path, "initial_stream_window_size")); !s) {
        return s;
      }
      out.initial_stream_window_size = value;
    }
    if (h2.has_initial_connection_window_size()) {
      const uint32_t value = h2.initial_connection_window_size().value();
      if (Status s = checkRange(value, 65535, kMaxWindow, fieldPath(h2_path, "initial_connection_window_size")); !s) {
        return s;
      }
      out.initial_connection_window_size = value;
    }
  }
  return Status::ok();
}

Status toUpgradeConfigs(const hcm::HttpConnectionManager& proto, std::string_view path, HttpConnectionManager& out) {
  std::set<std::string> seen;
  for (int i = 0; i < proto.upgrade_configs_size(); ++i) {
    const hcm::HttpConnectionManager::UpgradeConfig& upgrade = proto.upgrade_configs(i);
    const std::string item = indexPath(fieldPath(path, "upgrade_configs"), static_cast<size_t>(i));
    if (Status s = onlySupportedFields(upgrade, item, {"upgrade_type", "enabled"}); !s) return s;
    std::string type = upgrade.upgrade_type();
    for (char& c : type) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    const bool enabled = upgrade.has_enabled() ? upgrade.enabled().value() : true;
    if (!seen.insert(type).second) {
      return invalidField(fieldPath(item, "upgrade_type"), quoted(upgrade.upgrade_type()) + " is listed twice");
    }
    if (type == "websocket") {
      out.websocket_upgrade = enabled;
    } else if (type == "connect") {
      out.connect_upgrade = enabled;
    } else {
      return unsupportedField(fieldPath(item, "upgrade_type"),
                              quoted(upgrade.upgrade_type()) + "; supported: websocket, CONNECT");
    }
  }
  return Status::ok();
}

}  // namespace

Result<HttpConnectionManager> toHttpConnectionManager(const hcm::HttpConnectionManager& proto, std::string_view path) {
  if (Status s = onlySupportedFields(
          proto, path,
          {"codec_type", "stat_prefix", "rds", "route_config", "http_filters", "common_http_protocol_options",
           "http_protocol_options", "http2_protocol_options", "max_request_headers_kb", "stream_idle_timeout",
           "request_timeout", "request_headers_timeout", "drain_timeout", "upgrade_configs",
           "forward_client_cert_details", "set_current_client_cert_details", "tracing", "access_log"});
      !s) {
    return s.error();
  }
  HttpConnectionManager out;
  if (proto.stat_prefix().empty()) return invalidField(fieldPath(path, "stat_prefix"), "is required");
  out.stat_prefix = proto.stat_prefix();
  switch (proto.codec_type()) {
    case hcm::HttpConnectionManager::AUTO: out.codec_type = HttpConnectionManager::CodecType::kAuto; break;
    case hcm::HttpConnectionManager::HTTP1: out.codec_type = HttpConnectionManager::CodecType::kHttp1; break;
    case hcm::HttpConnectionManager::HTTP2: out.codec_type = HttpConnectionManager::CodecType::kHttp2; break;
    default:
      return unsupportedField(fieldPath(path, "codec_type"),
                              hcm::HttpConnectionManager::CodecType_Name(proto.codec_type()));
  }
  if (Status s = toHttpFilters(proto, path, out); !s) return s.error();
  if (Status s = toForwardClientCert(proto, path, out); !s) return s.error();
  if (Status s = toRoutes(proto, path, out); !s) return s.error();
  if (Status s = toProtocolOptions(proto, path, out); !s) return s.error();
  if (proto.has_max_request_headers_kb()) {
    const uint32_t kb = proto.max_request_headers_kb().value();
    if (Status s = checkRange(kb, 1, 8192, fieldPath(path, "max_request_headers_kb")); !s) return s.error();
    out.max_request_headers_kb = kb;
  }
  struct TimeoutField {
    bool has;
    const google::protobuf::Duration& value;
    std::string_view name;
    Millis& target;
  };
  const TimeoutField timeouts[] = {
      {proto.has_stream_idle_timeout(), proto.stream_idle_timeout(), "stream_idle_timeout", out.stream_idle_timeout},
      {proto.has_request_timeout(), proto.request_timeout(), "request_timeout", out.request_timeout},
      {proto.has_request_headers_timeout(), proto.request_headers_timeout(), "request_headers_timeout",
       out.request_headers_timeout},
      {proto.has_drain_timeout(), proto.drain_timeout(), "drain_timeout", out.drain_timeout},
  };
  for (const TimeoutField& field : timeouts) {
    if (Status s = setMillis(field.has, field.value, fieldPath(path, field.name), field.target); !s) return s.error();
  }
  if (Status s = toUpgradeConfigs(proto, path, out); !s) return s.error();
  if (proto.has_tracing()) {
    Result<Tracing> tracing = toTracing(proto.tracing(), fieldPath(path, "tracing"));
    if (!tracing) return tracing.error();
    out.tracing = std::move(*tracing);
  }
  for (int i = 0; i < proto.access_log_size(); ++i) {
    const std::string item = indexPath(fieldPath(path, "access_log"), static_cast<size_t>(i));
    Result<AccessLog> log = toAccessLog(proto.access_log(i), item);
    if (!log) return log.error();
    out.access_logs.push_back(std::move(*log));
  }
  return out;
}

}  // namespace remora::xds::resources
