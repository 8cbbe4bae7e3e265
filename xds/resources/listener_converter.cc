#include "xds/resources/listener_converter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "envoy/extensions/filters/listener/http_inspector/v3/http_inspector.pb.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb.h"
#include "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "xds/resources/common_converters.h"
#include "xds/resources/http_connection_manager_converter.h"
#include "xds/resources/rbac_converter.h"
#include "xds/resources/tls_converter.h"

namespace remora::xds::resources {

namespace listener = envoy::config::listener::v3;
namespace hcm = envoy::extensions::filters::network::http_connection_manager::v3;
namespace tcp = envoy::extensions::filters::network::tcp_proxy::v3;
namespace network_rbac = envoy::extensions::filters::network::rbac::v3;
namespace core = envoy::config::core::v3;
using base::Result;
using base::Status;

namespace {

Result<TcpProxy> toTcpProxy(const tcp::TcpProxy& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path, {"stat_prefix", "cluster", "idle_timeout"}); !s) {
    return s.error();
  }
  TcpProxy out;
  if (proto.stat_prefix().empty()) return invalidField(fieldPath(path, "stat_prefix"), "is required");
  out.stat_prefix = proto.stat_prefix();
  if (proto.cluster().empty()) return invalidField(fieldPath(path, "cluster"), "is required");
  out.cluster = proto.cluster();
  if (proto.has_idle_timeout()) {
    Result<Millis> idle = toMillis(proto.idle_timeout(), fieldPath(path, "idle_timeout"));
    if (!idle) return idle.error();
    out.idle_timeout = *idle;
  }
  return out;
}

// Decodes `any` as T or names the field that could not be decoded.
template <typename T>
Result<T> unpack(const google::protobuf::Any& any, std::string_view path) {
  T message;
  if (!any.UnpackTo(&message)) {
    return invalidField(path, "cannot be decoded as " + T::descriptor()->full_name());
  }
  return message;
}

// A chain's network filters: any envoy.filters.network.rbac filters, then
// exactly one terminal filter (http_connection_manager or tcp_proxy), which
// must be last. remora-proxy has no other network filters.
Status toNetworkFilters(const listener::FilterChain& chain, std::string_view path, FilterChain& out) {
  const std::string filters_path = fieldPath(path, "filters");
  if (chain.filters_size() == 0) {
    return invalidField(filters_path, "must hold a network filter (http_connection_manager or tcp_proxy)");
  }
  const std::string hcm_type = hcm::HttpConnectionManager::descriptor()->full_name();
  const std::string tcp_type = tcp::TcpProxy::descriptor()->full_name();
  const std::string rbac_type = network_rbac::RBAC::descriptor()->full_name();
  for (int i = 0; i < chain.filters_size(); ++i) {
    const listener::Filter& filter = chain.filters(i);
    const std::string item = indexPath(filters_path, static_cast<size_t>(i));
    if (Status s = onlySupportedFields(filter, item, {"name", "typed_config"}); !s) return s;
    const std::string config_path = fieldPath(item, "typed_config");
    if (!filter.has_typed_config()) {
      return invalidField(config_path, "is required (remora-proxy knows a filter by its @type)");
    }
    const std::string_view type = anyTypeName(filter.typed_config().type_url());
    const bool last = i == chain.filters_size() - 1;
    if (type == rbac_type) {
      if (last) return invalidField(item, rbac_type + " must come before http_connection_manager or tcp_proxy");
      Result<network_rbac::RBAC> proto = unpack<network_rbac::RBAC>(filter.typed_config(), config_path);
      if (!proto) return proto.status();
      Result<std::optional<Rbac>> rbac = toNetworkRbac(*proto, config_path);
      if (!rbac) return rbac.status();
      if (*rbac) out.network_rbac.push_back(std::move(**rbac));
      continue;
    }
    if (type != hcm_type && type != tcp_type) {
      return unsupportedField(config_path, "network filter @type " + filter.typed_config().type_url() +
                                               "; supported: " + rbac_type + ", " + hcm_type + ", " + tcp_type);
    }
    if (!last) return invalidField(item, std::string(type) + " must be the last network filter");
    if (type == hcm_type) {
      Result<hcm::HttpConnectionManager> proto = unpack<hcm::HttpConnectionManager>(filter.typed_config(), config_path);
      if (!proto) return proto.status();
      Result<HttpConnectionManager> manager = toHttpConnectionManager(*proto, config_path);
      if (!manager) return manager.status();
      out.filter = std::move(*manager);
    } else {
      Result<tcp::TcpProxy> proto = unpack<tcp::TcpProxy>(filter.typed_config(), config_path);
      if (!proto) return proto.status();
      Result<TcpProxy> proxy = toTcpProxy(*proto, config_path);
      if (!proxy) return proxy.status();
      out.filter = std::move(*proxy);
    }
  }
  return Status::ok();
}

// A literal IPv4/IPv6 prefix, kept in canonical text so equal ranges compare
// equal ("10.0.0.0" and "010.0.0.0" never both reach the model).
Result<CidrRange> toCidrRange(const core::CidrRange& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path, {"address_prefix", "prefix_len"}); !s) return s.error();
  const std::string& text = proto.address_prefix();
  unsigned char bytes[16];
  int family = AF_INET;
  if (inet_pton(AF_INET, text.c_str(), bytes) != 1) {
    family = AF_INET6;
    if (inet_pton(AF_INET6, text.c_str(), bytes) != 1) {
      return invalidField(fieldPath(path, "address_prefix"), quoted(text) + " is not a literal IPv4 or IPv6 address");
    }
  }
  const uint32_t max = family == AF_INET ? 32 : 128;
  CidrRange out;
  out.prefix_len = proto.has_prefix_len() ? proto.prefix_len().value() : max;
  if (out.prefix_len > max) {
    return invalidField(fieldPath(path, "prefix_len"),
                        std::to_string(out.prefix_len) + " is more than " + std::to_string(max) + " for " + quoted(text));
  }
  char canonical[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, bytes, canonical, sizeof(canonical));
  out.address = canonical;
  return out;
}

Result<FilterChainMatch> toFilterChainMatch(const listener::FilterChainMatch& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path,
                                     {"destination_port", "prefix_ranges", "transport_protocol", "application_protocols"});
      !s) {
    return s.error();
  }
  FilterChainMatch out;
  for (int i = 0; i < proto.prefix_ranges_size(); ++i) {
    Result<CidrRange> range =
        toCidrRange(proto.prefix_ranges(i), indexPath(fieldPath(path, "prefix_ranges"), static_cast<size_t>(i)));
    if (!range) return range.error();
    out.prefix_ranges.push_back(std::move(*range));
  }
  const std::string& transport = proto.transport_protocol();
  if (!transport.empty() && transport != "raw_buffer" && transport != "tls") {
    return invalidField(fieldPath(path, "transport_protocol"),
                        quoted(transport) + " is not one of \"raw_buffer\" or \"tls\"");
  }
  out.transport_protocol = transport;
  for (int i = 0; i < proto.application_protocols_size(); ++i) {
    if (proto.application_protocols(i).empty()) {
      return invalidField(indexPath(fieldPath(path, "application_protocols"), static_cast<size_t>(i)),
                          "must not be empty");
    }
    out.application_protocols.push_back(proto.application_protocols(i));
  }
  if (proto.has_destination_port()) {
    const uint32_t port = proto.destination_port().value();
    if (port < 1 || port > 65535) {
      return invalidField(fieldPath(path, "destination_port"), std::to_string(port) + " is out of range 1..65535");
    }
    out.destination_port = port;
  }
  return out;
}

Result<FilterChain> toFilterChain(const listener::FilterChain& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path, {"filter_chain_match", "filters", "name", "transport_socket"}); !s) {
    return s.error();
  }
  FilterChain out;
  out.name = proto.name();
  Result<FilterChainMatch> match =
      toFilterChainMatch(proto.filter_chain_match(), fieldPath(path, "filter_chain_match"));
  if (!match) return match.error();
  out.match = std::move(*match);
  if (Status s = toNetworkFilters(proto, path, out); !s) return s.error();
  if (proto.has_transport_socket()) {
    Result<DownstreamTls> tls = toDownstreamTls(proto.transport_socket(), fieldPath(path, "transport_socket"));
    if (!tls) return tls.error();
    out.tls = std::move(*tls);
  }
  return out;
}

bool sameMatch(const FilterChainMatch& a, const FilterChainMatch& b) {
  std::vector<std::string> alpn_a = a.application_protocols;
  std::vector<std::string> alpn_b = b.application_protocols;
  std::sort(alpn_a.begin(), alpn_a.end());
  std::sort(alpn_b.begin(), alpn_b.end());
  auto key = [](const CidrRange& r) { return r.address + "/" + std::to_string(r.prefix_len); };
  std::vector<std::string> ranges_a;
  std::vector<std::string> ranges_b;
  for (const auto& r : a.prefix_ranges) ranges_a.push_back(key(r));
  for (const auto& r : b.prefix_ranges) ranges_b.push_back(key(r));
  std::sort(ranges_a.begin(), ranges_a.end());
  std::sort(ranges_b.begin(), ranges_b.end());
  return a.transport_protocol == b.transport_protocol && a.destination_port == b.destination_port &&
         alpn_a == alpn_b && ranges_a == ranges_b;
}

// Sniffing is implied by filter chain matches (see model.h), so the
// inspectors are only checked to be ones remora-proxy has; original_dst sets
// Listener::original_dst.
Status toListenerFilters(const listener::Listener& proto, std::string_view path, Listener& out) {
  namespace lf = envoy::extensions::filters::listener;
  const std::string http_type = lf::http_inspector::v3::HttpInspector::descriptor()->full_name();
  const std::string tls_type = lf::tls_inspector::v3::TlsInspector::descriptor()->full_name();
  const std::string odst_type = lf::original_dst::v3::OriginalDst::descriptor()->full_name();
  for (int i = 0; i < proto.listener_filters_size(); ++i) {
    const listener::ListenerFilter& filter = proto.listener_filters(i);
    const std::string item = indexPath(fieldPath(path, "listener_filters"), static_cast<size_t>(i));
    if (Status s = onlySupportedFields(filter, item, {"name", "typed_config"}); !s) return s;
    if (!filter.has_typed_config()) {
      if (filter.name() == kOriginalDstFilterName) {
        out.original_dst = true;
      } else if (filter.name() != "envoy.filters.listener.http_inspector" &&
                 filter.name() != "envoy.filters.listener.tls_inspector") {
        return unsupportedField(fieldPath(item, "name"), "listener filter " + quoted(filter.name()));
      }
      continue;
    }
    const std::string config_path = fieldPath(item, "typed_config");
    const google::protobuf::Any& any = filter.typed_config();
    const std::string_view type = anyTypeName(any.type_url());
    Status decoded = Status::ok();
    if (type == http_type) {
      decoded = unpack<lf::http_inspector::v3::HttpInspector>(any, config_path).status();
    } else if (type == tls_type) {
      decoded = unpack<lf::tls_inspector::v3::TlsInspector>(any, config_path).status();
    } else if (type == odst_type) {
      Result<lf::original_dst::v3::OriginalDst> odst = unpack<lf::original_dst::v3::OriginalDst>(any, config_path);
      if (odst) decoded = onlySupportedFields(*odst, config_path, {});
      else decoded = odst.status();
      out.original_dst = true;
    } else {
      return unsupportedField(config_path, "listener filter @type " + any.type_url() + "; supported: " + http_type +
                                               ", " + tls_type + ", " + odst_type);
    }
    if (!decoded) return decoded;
  }
  return Status::ok();
}

}  // namespace

Result<Listener> toListener(const listener::Listener& proto, std::string_view path) {
  if (Status s = onlySupportedFields(
          proto, path,
          {"name", "address", "filter_chains", "default_filter_chain", "per_connection_buffer_limit_bytes",
           "listener_filters", "listener_filters_timeout", "traffic_direction"});
      !s) {
    return s.error();
  }
  Listener out;
  if (proto.name().empty()) return invalidField(fieldPath(path, "name"), "is required");
  out.name = proto.name();
  if (!proto.has_address()) return invalidField(fieldPath(path, "address"), "is required");
  Result<SocketAddress> address = toSocketAddress(proto.address(), fieldPath(path, "address"), PortPolicy::kAllowZero);
  if (!address) return address.error();
  out.address = std::move(*address);
  switch (proto.traffic_direction()) {
    case core::INBOUND: out.direction = Listener::Direction::kInbound; break;
    case core::OUTBOUND: out.direction = Listener::Direction::kOutbound; break;
    default: out.direction = Listener::Direction::kUnspecified; break;
  }

  if (proto.filter_chains_size() == 0 && !proto.has_default_filter_chain()) {
    return invalidField(fieldPath(path, "filter_chains"),
                        "at least one filter chain (or default_filter_chain) is required");
  }
  const std::string chains_path = fieldPath(path, "filter_chains");
  for (int i = 0; i < proto.filter_chains_size(); ++i) {
    const std::string item = indexPath(chains_path, static_cast<size_t>(i));
    Result<FilterChain> chain = toFilterChain(proto.filter_chains(i), item);
    if (!chain) return chain.error();
    for (size_t j = 0; j < out.filter_chains.size(); ++j) {
      if (sameMatch(out.filter_chains[j].match, chain->match)) {
        return invalidField(
            fieldPath(item, "filter_chain_match"),
            "is the same as " + indexPath(chains_path, j) + "'s; a connection could not choose between them");
      }
    }
    out.filter_chains.push_back(std::move(*chain));
  }
  if (proto.has_default_filter_chain()) {
    const std::string default_path = fieldPath(path, "default_filter_chain");
    if (proto.default_filter_chain().has_filter_chain_match()) {
      return invalidField(fieldPath(default_path, "filter_chain_match"),
                          "must not be set: the default chain serves connections no other chain matches");
    }
    Result<FilterChain> chain = toFilterChain(proto.default_filter_chain(), default_path);
    if (!chain) return chain.error();
    out.default_filter_chain = std::move(*chain);
  }
  if (Status s = toListenerFilters(proto, path, out); !s) return s.error();
  if (proto.has_listener_filters_timeout()) {
    Result<Millis> timeout = toMillis(proto.listener_filters_timeout(), fieldPath(path, "listener_filters_timeout"));
    if (!timeout) return timeout.error();
    out.listener_filters_timeout = *timeout;
  }
  if (proto.has_per_connection_buffer_limit_bytes()) {
    const uint32_t limit = proto.per_connection_buffer_limit_bytes().value();
    if (limit == 0) return invalidField(fieldPath(path, "per_connection_buffer_limit_bytes"), "must be more than 0");
    out.per_connection_buffer_limit_bytes = limit;
  }
  return out;
}

}  // namespace remora::xds::resources
