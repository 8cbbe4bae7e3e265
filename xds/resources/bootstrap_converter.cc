#include "xds/resources/bootstrap_converter.h"

#include <algorithm>
#include <map>
#include <string>

#include "xds/resources/cluster_converter.h"
#include "xds/resources/common_converters.h"
#include "xds/resources/listener_converter.h"

namespace remora::xds::resources {

namespace bootstrap = envoy::config::bootstrap::v3;
using base::Result;
using base::Status;

namespace {

constexpr std::string_view kNeedsAds = "needs dynamic_resources.ads_config (an ADS stream to fetch it over)";
namespace core = envoy::config::core::v3;

Status clusterExists(const std::string& name, const std::vector<Cluster>& clusters, std::string_view path) {
  const bool found =
      std::any_of(clusters.begin(), clusters.end(), [&](const Cluster& cluster) { return cluster.name == name; });
  if (found) return Status::ok();
  return base::fail(base::Error::kNotFound,
                    std::string(path) + ": cluster " + quoted(name) + " does not exist in static_resources.clusters");
}

Status checkRoutes(const RouteConfiguration& routes, const std::vector<Cluster>& clusters, std::string_view path) {
  for (size_t v = 0; v < routes.virtual_hosts.size(); ++v) {
    const std::string vhost_path = indexPath(fieldPath(path, "virtual_hosts"), v);
    const VirtualHost& vhost = routes.virtual_hosts[v];
    for (size_t r = 0; r < vhost.routes.size(); ++r) {
      const auto* action = std::get_if<RouteAction>(&vhost.routes[r].action);
      if (action == nullptr) continue;  // a direct response names no cluster
      const std::string action_path = fieldPath(indexPath(fieldPath(vhost_path, "routes"), r), "route");
      if (action->weighted_clusters.empty()) {
        if (Status s = clusterExists(action->cluster, clusters, fieldPath(action_path, "cluster")); !s) return s;
        continue;
      }
      for (size_t w = 0; w < action->weighted_clusters.size(); ++w) {
        const std::string weight_path = indexPath(fieldPath(action_path, "weighted_clusters.clusters"), w);
        if (Status s = clusterExists(action->weighted_clusters[w].name, clusters, fieldPath(weight_path, "name")); !s) {
          return s;
        }
      }
    }
  }
  return Status::ok();
}

// `path` names the filter chain; its one network filter is filters[0].
Status checkChain(const FilterChain& chain, const std::vector<Cluster>& clusters, std::string_view path) {
  const std::string config_path = fieldPath(path, "filters[0].typed_config");
  if (const auto* proxy = std::get_if<TcpProxy>(&chain.filter)) {
    return clusterExists(proxy->cluster, clusters, fieldPath(config_path, "cluster"));
  }
  const auto& manager = std::get<HttpConnectionManager>(chain.filter);
  if (manager.tracing) {
    // Spans sent to a cluster that does not exist would all be dropped.
    const TracingProvider& provider = manager.tracing->provider;
    const std::string provider_path = fieldPath(config_path, "tracing.provider.typed_config");
    const std::string cluster_path =
        provider.format == TracingProvider::Format::kZipkinJson
            ? fieldPath(provider_path, "collector_cluster")
            : fieldPath(provider_path, "http_service.http_uri.cluster");
    if (Status s = clusterExists(provider.cluster, clusters, cluster_path); !s) return s;
  }
  if (!manager.route_config) return Status::ok();
  return checkRoutes(*manager.route_config, clusters, fieldPath(config_path, "route_config"));
}

// The first secret of a TLS context that would have to arrive over ADS
// ("default" is made by the proxy itself), or "".
std::string adsSecretOf(const CertificateSource& certificate, const std::optional<CertificateValidation>& validation) {
  if (!certificate.sds_name.empty() && certificate.sds_name != "default") return certificate.sds_name;
  if (validation && !validation->sds_name.empty()) return validation->sds_name;
  return {};
}

// A bootstrap has no ADS stream yet, so routes must be inline and secrets
// other than the proxy's own cannot arrive.
Status rejectRds(const Listener& listener, std::string_view path) {
  auto check = [&](const FilterChain& chain, const std::string& chain_path) -> Status {
    if (chain.tls) {
      const std::string secret = adsSecretOf(chain.tls->certificate, chain.tls->validation);
      if (!secret.empty()) {
        return unsupportedField(fieldPath(chain_path, "transport_socket"),
                                "secret " + quoted(secret) + " " + std::string(kNeedsAds));
      }
    }
    const auto* manager = std::get_if<HttpConnectionManager>(&chain.filter);
    if (manager == nullptr || manager->route_config) return Status::ok();
    return unsupportedField(fieldPath(chain_path, "filters[0].typed_config.rds"), kNeedsAds);
  };
  for (size_t i = 0; i < listener.filter_chains.size(); ++i) {
    if (Status s = check(listener.filter_chains[i], indexPath(fieldPath(path, "filter_chains"), i)); !s) return s;
  }
  if (listener.default_filter_chain)
    return check(*listener.default_filter_chain, fieldPath(path, "default_filter_chain"));
  return Status::ok();
}

Result<Admin> toAdmin(const bootstrap::Admin& proto) {
  if (Status s = onlySupportedFields(proto, "admin", {"address", "access_log_path"}); !s) return s.error();
  // Envoy examples carry access_log_path: /dev/null, which asks for no log.
  if (!proto.access_log_path().empty() && proto.access_log_path() != "/dev/null") {
    return unsupportedField("admin.access_log_path", "only \"/dev/null\" (no admin access log)");
  }
  Admin out;
  if (proto.has_address()) {
    Result<SocketAddress> address = toSocketAddress(proto.address(), "admin.address", PortPolicy::kAllowZero);
    if (!address) return address.error();
    out.address = std::move(*address);
  }
  return out;
}

// lds_config / cds_config: only `ads: {}` (the resources ride the ADS stream).
Status toAdsSource(const core::ConfigSource& proto, std::string_view path, DynamicResources& out) {
  if (Status s = onlySupportedFields(proto, path, {"ads", "resource_api_version", "initial_fetch_timeout"}); !s) {
    return s;
  }
  if (!proto.has_ads()) return invalidField(path, "must be {ads: {}} (remora-proxy fetches resources over ADS only)");
  if (proto.resource_api_version() == core::V2) {
    return unsupportedField(fieldPath(path, "resource_api_version"), "xDS v2");
  }
  if (proto.has_initial_fetch_timeout()) {
    Result<Millis> timeout = toMillis(proto.initial_fetch_timeout(), fieldPath(path, "initial_fetch_timeout"));
    if (!timeout) return timeout.status();
    out.initial_fetch_timeout = *timeout;
  }
  return Status::ok();
}

Status toAdsConfig(const core::ApiConfigSource& proto, std::string_view path, DynamicResources& out) {
  if (Status s = onlySupportedFields(proto, path, {"api_type", "transport_api_version", "grpc_services"}); !s) return s;
  switch (proto.api_type()) {
    case core::ApiConfigSource::GRPC: out.api_type = DynamicResources::ApiType::kSotw; break;
    case core::ApiConfigSource::DELTA_GRPC: out.api_type = DynamicResources::ApiType::kDelta; break;
    case core::ApiConfigSource::DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE:
      return invalidField(fieldPath(path, "api_type"), "is required (GRPC or DELTA_GRPC)");
    default:
      return unsupportedField(fieldPath(path, "api_type"),
                              core::ApiConfigSource::ApiType_Name(proto.api_type()) + "; supported: GRPC, DELTA_GRPC");
  }
  if (proto.transport_api_version() == core::V2) {
    return unsupportedField(fieldPath(path, "transport_api_version"), "xDS v2");
  }
  const std::string services_path = fieldPath(path, "grpc_services");
  if (proto.grpc_services_size() != 1) {
    return invalidField(services_path, "must name exactly one control plane (one envoy_grpc cluster)");
  }
  const std::string service_path = indexPath(services_path, 0);
  const core::GrpcService& service = proto.grpc_services(0);
  if (Status s = onlySupportedFields(service, service_path, {"envoy_grpc"}); !s) return s;
  const std::string grpc_path = fieldPath(service_path, "envoy_grpc");
  if (!service.has_envoy_grpc()) return invalidField(grpc_path, "is required");
  if (Status s = onlySupportedFields(service.envoy_grpc(), grpc_path, {"cluster_name"}); !s) return s;
  if (service.envoy_grpc().cluster_name().empty()) {
    return invalidField(fieldPath(grpc_path, "cluster_name"), "is required");
  }
  out.ads_cluster = service.envoy_grpc().cluster_name();
  return Status::ok();
}

Result<DynamicResources> toDynamicResources(const bootstrap::Bootstrap::DynamicResources& proto) {
  constexpr std::string_view kPath = "dynamic_resources";
  if (Status s = onlySupportedFields(proto, kPath, {"ads_config", "lds_config", "cds_config"}); !s) return s.error();
  DynamicResources out;
  const std::string ads_path = fieldPath(kPath, "ads_config");
  if (!proto.has_ads_config()) return invalidField(ads_path, "is required (remora-proxy supports ADS only)");
  if (Status s = toAdsConfig(proto.ads_config(), ads_path, out); !s) return s.error();
  if (proto.has_lds_config()) {
    out.lds = true;
    if (Status s = toAdsSource(proto.lds_config(), fieldPath(kPath, "lds_config"), out); !s) return s.error();
  }
  if (proto.has_cds_config()) {
    out.cds = true;
    if (Status s = toAdsSource(proto.cds_config(), fieldPath(kPath, "cds_config"), out); !s) return s.error();
  }
  return out;
}

// The ADS stream is gRPC, so its cluster must exist before any xDS does:
// static, with endpoints, speaking HTTP/2.
Status checkAdsCluster(const DynamicResources& dynamic, const std::vector<Cluster>& clusters) {
  const std::string path = "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name";
  auto it = std::find_if(clusters.begin(), clusters.end(),
                         [&](const Cluster& cluster) { return cluster.name == dynamic.ads_cluster; });
  if (it == clusters.end()) {
    return base::fail(base::Error::kNotFound, path + ": cluster " + quoted(dynamic.ads_cluster) +
                                                  " does not exist in static_resources.clusters");
  }
  const std::string why = "cluster " + quoted(dynamic.ads_cluster) + " ";
  if (it->type != Cluster::DiscoveryType::kStatic) {
    return invalidField(path, why + "must be type STATIC (it carries the xDS stream itself)");
  }
  if (it->endpoints.empty()) return invalidField(path, why + "must have at least one endpoint in load_assignment");
  if (it->protocol != Cluster::UpstreamProtocol::kHttp2) {
    return invalidField(path, why +
                                  "must speak HTTP/2 (gRPC): set typed_extension_protocol_options "
                                  "explicit_http_config.http2_protocol_options, or http2_protocol_options");
  }
  // The xDS stream cannot wait for a secret that only it can deliver. A
  // bundle secret beside roots of its own is fine: those verify the control
  // plane until the secret (a rotated bundle) arrives.
  if (it->tls) {
    std::optional<CertificateValidation> waits = it->tls->validation;
    if (waits && (!waits->trusted_ca.empty() || !waits->trusted_ca_file.empty())) waits->sds_name.clear();
    const std::string secret = adsSecretOf(it->tls->certificate, waits);
    if (!secret.empty()) {
      return invalidField(path, why + "must not use secret " + quoted(secret) +
                                    " from ADS alone for its own TLS: also name trusted_ca (a file or inline PEM) to "
                                    "verify the control plane with until it arrives");
    }
  }
  return Status::ok();
}

Status toStaticResources(const bootstrap::Bootstrap::StaticResources& proto, Bootstrap& out) {
  std::map<std::string, std::string> cluster_owner;
  for (int i = 0; i < proto.clusters_size(); ++i) {
    const std::string path = indexPath("static_resources.clusters", static_cast<size_t>(i));
    Result<Cluster> cluster = toCluster(proto.clusters(i), path);
    if (!cluster) return cluster.status();
    if (cluster->type == Cluster::DiscoveryType::kEds && !out.dynamic) {
      return unsupportedField(fieldPath(path, "type"), "EDS " + std::string(kNeedsAds));
    }
    if (cluster->tls && !out.dynamic) {
      const std::string secret = adsSecretOf(cluster->tls->certificate, cluster->tls->validation);
      if (!secret.empty()) {
        return unsupportedField(fieldPath(path, "transport_socket"),
                                "secret " + quoted(secret) + " " + std::string(kNeedsAds));
      }
    }
    auto [it, inserted] = cluster_owner.emplace(cluster->name, path);
    if (!inserted) {
      return base::fail(base::Error::kAlreadyExists,
                        fieldPath(path, "name") + ": " + quoted(cluster->name) + " is already used by " + it->second);
    }
    out.clusters.push_back(std::move(*cluster));
  }
  std::map<std::string, std::string> listener_owner;
  std::map<std::pair<std::string, uint32_t>, std::string> address_owner;
  for (int i = 0; i < proto.listeners_size(); ++i) {
    const std::string path = indexPath("static_resources.listeners", static_cast<size_t>(i));
    Result<Listener> listener = toListener(proto.listeners(i), path);
    if (!listener) return listener.status();
    auto [it, inserted] = listener_owner.emplace(listener->name, path);
    if (!inserted) {
      return base::fail(base::Error::kAlreadyExists,
                        fieldPath(path, "name") + ": " + quoted(listener->name) + " is already used by " + it->second);
    }
    if (listener->address.port != 0) {
      auto [owner, fresh] =
          address_owner.emplace(std::make_pair(listener->address.address, listener->address.port), path);
      if (!fresh) {
        return invalidField(fieldPath(path, "address"), "is the same as " + owner->second + "'s");
      }
    }
    if (!out.dynamic) {
      if (Status s = rejectRds(*listener, path); !s) return s;
    }
    // With CDS on, a cluster a static listener names may arrive later.
    if (!out.dynamic || !out.dynamic->cds) {
      if (Status s = checkClusterReferences(*listener, out.clusters, path); !s) return s;
    }
    out.listeners.push_back(std::move(*listener));
  }
  return Status::ok();
}

}  // namespace

Status checkClusterReferences(const Listener& listener, const std::vector<Cluster>& clusters, std::string_view path) {
  for (size_t i = 0; i < listener.filter_chains.size(); ++i) {
    if (Status s = checkChain(listener.filter_chains[i], clusters, indexPath(fieldPath(path, "filter_chains"), i));
        !s) {
      return s;
    }
  }
  if (listener.default_filter_chain) {
    return checkChain(*listener.default_filter_chain, clusters, fieldPath(path, "default_filter_chain"));
  }
  return Status::ok();
}

Result<Bootstrap> toBootstrap(const bootstrap::Bootstrap& proto) {
  if (Status s = onlySupportedFields(proto, "", {"node", "static_resources", "dynamic_resources", "admin"}); !s) {
    return s.error();
  }
  Bootstrap out;
  // Metadata is sent to a control plane as it is; the loader keeps the proto
  // for that, so no node field is refused here. The locality is also kept in
  // the model (the control plane ranks endpoints by it; admin shows it).
  out.node.id = proto.node().id();
  out.node.cluster = proto.node().cluster();
  const auto& locality = proto.node().locality();
  out.node.locality = Locality{locality.region(), locality.zone(), locality.sub_zone()};
  if (proto.has_dynamic_resources()) {
    Result<DynamicResources> dynamic = toDynamicResources(proto.dynamic_resources());
    if (!dynamic) return dynamic.error();
    // A control plane keys its per-proxy snapshot on the node id.
    if (out.node.id.empty()) return invalidField("node.id", "required with dynamic_resources");
    out.dynamic = std::move(*dynamic);
  }
  if (proto.has_admin()) {
    Result<Admin> admin = toAdmin(proto.admin());
    if (!admin) return admin.error();
    out.admin = std::move(*admin);
  }
  if (Status s = onlySupportedFields(proto.static_resources(), "static_resources", {"listeners", "clusters"}); !s) {
    return s.error();
  }
  if (Status s = toStaticResources(proto.static_resources(), out); !s) return s.error();
  if (out.dynamic) {
    if (Status s = checkAdsCluster(*out.dynamic, out.clusters); !s) return s.error();
  }
  return out;
}

}  // namespace remora::xds::resources
