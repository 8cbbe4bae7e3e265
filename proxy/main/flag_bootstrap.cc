#include "proxy/main/flag_bootstrap.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "proxy/main/wait_ready.h"
#include "proxy/net/address.h"

namespace remora::server {

namespace {

base::Failure invalid(const std::string& flag, const std::string& why) {
  return base::fail(base::Error::kInvalidArgument, flag + ": " + why);
}

bool isIp(const std::string& text) { return net::Address::fromIpPort(text, 1).has_value(); }

// "8080,9090": each 1..65535. remora-cp checks again (duplicates too); a
// typo is cheaper to report here, before the pod has started.
base::Status checkPorts(const std::string& text) {
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    uint32_t port = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), port);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || port == 0 || port > 65535) {
      return invalid("--app-ports", "'" + item + "' is not a port 1..65535 (write 8080,9090)");
    }
    at = comma + 1;
  }
  return {};
}

base::Status checkListenAddress(const std::string& flag, const std::string& value) {
  if (value.empty()) return {};
  if (auto a = net::Address::parse(value); !a) return invalid(flag, "'" + value + "' is not ip:port");
  return {};
}

// A label key or value: what Kubernetes allows in a label, roughly
// (letters, digits, '-', '_', '.', '/'), so metadata never needs escaping.
bool isLabelText(const std::string& text) {
  if (text.empty() || text.size() > 253) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '/') return false;
  }
  return true;
}

}  // namespace

std::string yamlQuote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

base::Result<std::vector<std::string>> splitControlPlanes(const std::string& list) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= list.size()) {
    const size_t comma = std::min(list.find(',', at), list.size());
    std::string item = list.substr(at, comma - at);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.pop_back();
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.erase(0, 1);
    if (item.empty()) return invalid("--control-plane", "an empty entry in '" + list + "' (write h1:p1,h2:p2)");
    if (auto hp = splitHostPort(item); !hp) {
      return invalid("--control-plane", "entry '" + item + "': " + hp.error().message);
    }
    out.push_back(std::move(item));
    at = comma + 1;
  }
  return out;
}

bool controlPlanesHaveNames(const std::string& list) {
  auto entries = splitControlPlanes(list);
  if (!entries) return false;
  for (const auto& entry : *entries) {
    if (auto hp = splitHostPort(entry); hp && !isIp(hp->first)) return true;
  }
  return false;
}

base::Status checkFlagBootstrap(const FlagBootstrapOptions& o) {
  if (auto entries = splitControlPlanes(o.control_plane); !entries) return entries.error();
  if (o.node_id.empty()) return invalid("--node-id", "required with --control-plane (e.g. $(POD_NAME).$(POD_NAMESPACE))");
  if (o.service.empty()) return invalid("--service", "required with --control-plane: the service this pod serves");
  if (o.pod_ip.empty()) return invalid("--pod-ip", "required with --control-plane (e.g. $(POD_IP))");
  if (!isIp(o.pod_ip)) return invalid("--pod-ip", "'" + o.pod_ip + "' is not an IP address");
  if (o.namespace_.empty()) return invalid("--namespace", "must not be empty");
  if (!o.app_ports.empty()) {
    if (auto s = checkPorts(o.app_ports); !s) return s;
  }
  if (o.interception != "redirect" && o.interception != "none") {
    return invalid("--interception", "'" + o.interception + "' is not redirect or none");
  }
  if (o.trust_domain.empty()) return invalid("--trust-domain", "must not be empty");
  if (o.insecure_xds && !o.ca_file.empty()) {
    return invalid("--ca-file", "has no use with --insecure-xds (plaintext to the control plane)");
  }
  if (!o.insecure_xds && o.ca_file.empty()) {
    return invalid("--ca-file", "required: the mesh root that remora-cp's certificate is checked against "
                                "(remora-cp's <data-dir>/ca/bundle.pem), or --insecure-xds for a remora-cp "
                                "started with --insecure");
  }
  if (auto a = net::Address::parse(o.admin_address); !a) {
    return invalid("--admin-address", "'" + o.admin_address + "' is not ip:port");
  }
  if (auto s = checkListenAddress("--outbound-address", o.outbound_address); !s) return s;
  if (auto s = checkListenAddress("--inbound-address", o.inbound_address); !s) return s;
  if (!o.app_address.empty() && !isIp(o.app_address)) {
    return invalid("--app-address", "'" + o.app_address + "' is not an IP address");
  }
  for (const auto& label : o.labels) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos || !isLabelText(label.substr(0, eq)) || !isLabelText(label.substr(eq + 1))) {
      return invalid("--label", "'" + label + "' is not key=value (letters, digits, '-', '_', '.', '/')");
    }
  }
  return {};
}

namespace {

// Every address `host` resolves to (an IP literal as is), resolver order.
base::Result<std::vector<std::string>> resolveHost(const std::string& host) {
  if (isIp(host)) return std::vector<std::string>{host};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    return base::fail(base::Error::kNotFound, "--control-plane: cannot resolve '" + host + "': " + ::gai_strerror(rc));
  }
  std::vector<std::string> out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const std::string ip = net::Address::fromSockaddr(a->ai_addr).ip();
    if (std::find(out.begin(), out.end(), ip) == out.end()) out.push_back(ip);
  }
  ::freeaddrinfo(found);
  return out;
}

}  // namespace

base::Result<ResolvedAddress> resolveControlPlane(const std::string& host_port) {
  auto hp = splitHostPort(host_port);
  if (!hp) return invalid("--control-plane", hp.error().message);
  auto ips = resolveHost(hp->first);
  if (!ips) return ips.error();
  // The first answer, as a resolver orders them (RFC 6724).
  return ResolvedAddress{ips->front(), hp->second};
}

base::Result<std::vector<ResolvedAddress>> resolveControlPlanes(const std::string& list) {
  auto entries = splitControlPlanes(list);
  if (!entries) return entries.error();
  std::vector<ResolvedAddress> out;
  for (const auto& entry : *entries) {
    auto hp = splitHostPort(entry);
    if (!hp) return invalid("--control-plane", "entry '" + entry + "': " + hp.error().message);
    auto ips = resolveHost(hp->first);
    if (!ips) return ips.error();
    for (const auto& ip : *ips) {
      const bool seen = std::any_of(out.begin(), out.end(),
                                    [&](const ResolvedAddress& a) { return a.ip == ip && a.port == hp->second; });
      if (!seen) out.push_back(ResolvedAddress{ip, hp->second});
    }
  }
  return out;
}

std::string flagBootstrapYaml(const FlagBootstrapOptions& o, const ResolvedAddress& cp) {
  return flagBootstrapYaml(o, std::vector<ResolvedAddress>{cp});
}

std::string flagBootstrapYaml(const FlagBootstrapOptions& o, const std::vector<ResolvedAddress>& cps) {
  const std::string account = o.service_account.empty() ? o.service : o.service_account;
  std::string y;
  y += "# Built from remora-proxy's flags (--control-plane " + o.control_plane + "): the node and\n";
  y += "# where remora-cp is. Everything else comes from remora-cp over ADS.\n";
  y += "node:\n";
  y += "  id: " + yamlQuote(o.node_id) + "\n";
  y += "  cluster: " + yamlQuote(o.service) + "\n";
  y += "  metadata:\n";
  y += "    REMORA_SERVICE: " + yamlQuote(o.service) + "\n";
  y += "    REMORA_NAMESPACE: " + yamlQuote(o.namespace_) + "\n";
  y += "    REMORA_SERVICE_ACCOUNT: " + yamlQuote(account) + "\n";
  y += "    REMORA_TRUST_DOMAIN: " + yamlQuote(o.trust_domain) + "\n";
  y += "    POD_IP: " + yamlQuote(o.pod_ip) + "\n";
  if (!o.app_ports.empty()) y += "    APP_PORTS: " + yamlQuote(o.app_ports) + "\n";
  y += "    INTERCEPTION_MODE: " + std::string(o.interception == "redirect" ? "\"REDIRECT\"" : "\"NONE\"") + "\n";
  if (!o.outbound_address.empty()) y += "    OUTBOUND_ADDRESS: " + yamlQuote(o.outbound_address) + "\n";
  if (!o.inbound_address.empty()) y += "    INBOUND_ADDRESS: " + yamlQuote(o.inbound_address) + "\n";
  if (!o.app_address.empty()) y += "    APP_ADDRESS: " + yamlQuote(o.app_address) + "\n";
  if (!o.labels.empty()) {
    y += "    LABELS:\n";
    for (const auto& label : o.labels) {
      const size_t eq = label.find('=');
      y += "      " + yamlQuote(label.substr(0, eq)) + ": " + yamlQuote(label.substr(eq + 1)) + "\n";
    }
  }
  if (!o.region.empty() || !o.zone.empty()) {
    y += "  locality:\n";
    if (!o.region.empty()) y += "    region: " + yamlQuote(o.region) + "\n";
    if (!o.zone.empty()) y += "    zone: " + yamlQuote(o.zone) + "\n";
  }
  // checkFlagBootstrap() parsed it as ip:port (port 0 allowed: the OS picks).
  const size_t colon = o.admin_address.rfind(':');
  std::string admin_ip = o.admin_address.substr(0, colon);
  if (admin_ip.size() >= 2 && admin_ip.front() == '[') admin_ip = admin_ip.substr(1, admin_ip.size() - 2);
  const std::string admin_port = o.admin_address.substr(colon + 1);
  y += "admin: {address: {socket_address: {address: " + yamlQuote(admin_ip) + ", port_value: " + admin_port + "}}}\n";
  y += "dynamic_resources:\n";
  y += "  ads_config:\n";
  y += "    api_type: GRPC\n";
  y += "    transport_api_version: V3\n";
  y += "    grpc_services: [{envoy_grpc: {cluster_name: xds_cluster}}]\n";
  y += "  lds_config: {ads: {}, resource_api_version: V3}\n";
  y += "  cds_config: {ads: {}, resource_api_version: V3}\n";
  y += "static_resources:\n";
  y += "  clusters:\n";
  y += "  - name: xds_cluster\n";
  y += "    type: STATIC\n";
  y += "    connect_timeout: 1s\n";
  y += "    typed_extension_protocol_options:\n";
  y += "      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:\n";
  y += "        \"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\n";
  y += "        explicit_http_config: {http2_protocol_options: {}}\n";
  y += "    load_assignment:\n";
  y += "      cluster_name: xds_cluster\n";
  // One endpoint per replica: the ADS client dials them in turn.
  y += "      endpoints:\n";
  y += "      - lb_endpoints:\n";
  for (const ResolvedAddress& cp : cps) {
    y += "        - {endpoint: {address: {socket_address: {address: " + yamlQuote(cp.ip) +
         ", port_value: " + std::to_string(cp.port) + "}}}}\n";
  }
  if (o.insecure_xds) return y;
  const std::string identity = o.control_plane_identity.empty()
                                   ? "spiffe://" + o.trust_domain + "/ns/remora-system/sa/remora-cp"
                                   : o.control_plane_identity;
  y += "    transport_socket:\n";
  y += "      name: envoy.transport_sockets.tls\n";
  y += "      typed_config:\n";
  y += "        \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext\n";
  y += "        common_tls_context:\n";
  y += "          alpn_protocols: [h2]\n";
  y += "          tls_certificate_sds_secret_configs: [{name: default, sds_config: {ads: {}}}]\n";
  y += "          combined_validation_context:\n";
  y += "            default_validation_context:\n";
  y += "              trusted_ca: {filename: " + yamlQuote(o.ca_file) + "}\n";
  y += "              match_typed_subject_alt_names:\n";
  y += "              - {san_type: URI, matcher: {exact: " + yamlQuote(identity) + "}}\n";
  y += "            validation_context_sds_secret_config: {name: ROOTCA, sds_config: {ads: {}}}\n";
  return y;
}

}  // namespace remora::server
