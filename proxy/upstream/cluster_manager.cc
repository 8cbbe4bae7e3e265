#include "proxy/upstream/cluster_manager.h"

#include <algorithm>

namespace remora::upstream {

ConnectionPool::Settings poolSettingsFor(const ClusterConfig& config, http::Protocol protocol) {
  ConnectionPool::Settings s;
  s.protocol = protocol;
  s.connect_timeout = config.connect_timeout;
  s.idle_timeout = config.pool_idle_timeout;
  s.max_connections = config.circuit_breakers.max_connections;
  s.max_pending_requests = config.circuit_breakers.max_pending_requests;
  s.max_requests_per_connection = config.max_requests_per_connection;
  s.connection_buffer_limit = config.per_connection_buffer_limit_bytes;
  s.codec_limits.max_concurrent_streams = config.http2_max_concurrent_streams;
  // Responses may carry larger header blocks than we accept from clients.
  s.codec_limits.max_request_headers_kb = 96;
  return s;
}

Cluster::Cluster(net::Dispatcher& dispatcher, std::shared_ptr<const ClusterConfig> config, PoolCounters counters)
    : dispatcher_(dispatcher), config_(std::move(config)), counters_(counters) {
  std::vector<Host*> raw;
  for (const auto& ep : config_->endpoints) {
    // Endpoints the control plane (or the bootstrap) marks unhealthy,
    // draining or timed out get no new requests, as in Envoy.
    using Health = xds::resources::HealthStatus;
    if (ep.health == Health::kUnhealthy || ep.health == Health::kDraining || ep.health == Health::kTimeout) continue;
    auto addr = net::Address::fromIpPort(ep.address.address, static_cast<uint16_t>(ep.address.port));
    if (!addr) continue;  // the converter already rejected bad addresses
    hosts_.push_back(std::make_unique<Host>(*addr, ep.weight == 0 ? 1 : ep.weight));
    raw.push_back(hosts_.back().get());
  }
  lb_ = std::make_unique<RoundRobinLoadBalancer>(std::move(raw));
}

Cluster::~Cluster() = default;

ConnectionPool& Cluster::pool(Host& host, http::Protocol downstream_protocol) {
  http::Protocol protocol = http::Protocol::kHttp11;
  switch (config_->protocol) {
    case ClusterConfig::UpstreamProtocol::kHttp1: protocol = http::Protocol::kHttp11; break;
    case ClusterConfig::UpstreamProtocol::kHttp2: protocol = http::Protocol::kHttp2; break;
    case ClusterConfig::UpstreamProtocol::kUseDownstream:
      protocol = downstream_protocol == http::Protocol::kHttp2 ? http::Protocol::kHttp2 : http::Protocol::kHttp11;
      break;
  }
  auto& slot = pools_[&host][protocol == http::Protocol::kHttp2 ? 1 : 0];
  if (!slot) slot = std::make_unique<ConnectionPool>(dispatcher_, host, poolSettingsFor(*config_, protocol), counters_);
  return *slot;
}

bool Cluster::tryStartRequest() {
  if (active_requests_ >= config_->circuit_breakers.max_requests) {
    counters_.overflows.inc();
    return false;
  }
  ++active_requests_;
  counters_.streams_total.inc();
  counters_.requests_active.add(1);
  return true;
}

void Cluster::drain() {
  for (auto& [host, pair] : pools_) {
    for (auto& p : pair) {
      if (p) p->drain();
    }
  }
}

bool Cluster::idle() const {
  if (active_requests_ != 0) return false;
  for (const auto& [host, pair] : pools_) {
    for (const auto& p : pair) {
      if (p && !p->idle()) return false;
    }
  }
  return true;
}

ClusterManager::~ClusterManager() = default;

namespace {
bool sameEndpoints(const ClusterConfig& a, const ClusterConfig& b) {
  if (a.endpoints.size() != b.endpoints.size()) return false;
  for (size_t i = 0; i < a.endpoints.size(); ++i) {
    const auto& x = a.endpoints[i];
    const auto& y = b.endpoints[i];
    if (x.address.address != y.address.address || x.address.port != y.address.port || x.weight != y.weight ||
        x.health != y.health) {
      return false;
    }
  }
  return true;
}

bool sameCluster(const ClusterConfig& a, const ClusterConfig& b) {
  return a.name == b.name && a.type == b.type && a.connect_timeout == b.connect_timeout &&
         a.lb_policy == b.lb_policy && a.protocol == b.protocol &&
         a.max_requests_per_connection == b.max_requests_per_connection &&
         a.pool_idle_timeout == b.pool_idle_timeout && a.http2_max_concurrent_streams == b.http2_max_concurrent_streams &&
         a.per_connection_buffer_limit_bytes == b.per_connection_buffer_limit_bytes &&
         a.circuit_breakers.max_connections == b.circuit_breakers.max_connections &&
         a.circuit_breakers.max_pending_requests == b.circuit_breakers.max_pending_requests &&
         a.circuit_breakers.max_requests == b.circuit_breakers.max_requests &&
         a.circuit_breakers.max_retries == b.circuit_breakers.max_retries && sameEndpoints(a, b);
}
}  // namespace

void ClusterManager::update(const std::vector<std::shared_ptr<const ClusterConfig>>& configs) {
  std::map<std::string, std::unique_ptr<Cluster>, std::less<>> next;
  for (const auto& cfg : configs) {
    auto it = clusters_.find(cfg->name);
    if (it != clusters_.end() && (it->second->configPtr() == cfg || sameCluster(it->second->config(), *cfg))) {
      next.emplace(cfg->name, std::move(it->second));
      clusters_.erase(it);
    } else {
      next.emplace(cfg->name, std::make_unique<Cluster>(dispatcher_, cfg, counters_for_ ? counters_for_(cfg->name) : PoolCounters{}));
    }
  }
  // Whatever is left was removed or replaced: let in-flight requests finish.
  for (auto& [name, cluster] : clusters_) {
    cluster->drain();
    draining_.push_back(std::move(cluster));
  }
  clusters_ = std::move(next);
  draining_.erase(std::remove_if(draining_.begin(), draining_.end(), [](const auto& c) { return c->idle(); }),
                  draining_.end());
}

Cluster* ClusterManager::get(std::string_view name) {
  auto it = clusters_.find(name);
  return it == clusters_.end() ? nullptr : it->second.get();
}

}  // namespace remora::upstream
