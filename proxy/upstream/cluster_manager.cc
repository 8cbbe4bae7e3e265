#include "proxy/upstream/cluster_manager.h"

#include <algorithm>
#include <random>

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
    : dispatcher_(dispatcher), config_(std::move(config)), lb_seed_(std::random_device{}()), counters_(counters) {
  buildHosts({});
}

void Cluster::buildHosts(std::vector<std::unique_ptr<Host>> reusable) {
  hosts_.clear();
  std::vector<Host*> raw;
  for (const auto& ep : config_->endpoints) {
    // Endpoints the control plane (or the bootstrap) marks unhealthy,
    // draining or timed out get no new requests, as in Envoy.
    using Health = xds::resources::HealthStatus;
    if (ep.health == Health::kUnhealthy || ep.health == Health::kDraining || ep.health == Health::kTimeout) continue;
    auto addr = net::Address::fromIpPort(ep.address.address, static_cast<uint16_t>(ep.address.port));
    if (!addr) continue;  // the converter already rejected bad addresses
    const uint32_t weight = ep.weight == 0 ? 1 : ep.weight;
    auto same = std::find_if(reusable.begin(), reusable.end(),
                             [&](const auto& h) { return h && h->address() == *addr && h->weight() == weight; });
    if (same != reusable.end()) {
      hosts_.push_back(std::move(*same));
    } else {
      hosts_.push_back(std::make_unique<Host>(*addr, weight));
    }
    raw.push_back(hosts_.back().get());
  }
  for (auto& h : reusable) {
    if (!h) continue;
    auto it = pools_.find(h.get());
    if (it != pools_.end()) {
      for (auto& p : it->second) {
        if (p) p->drain();
      }
    }
    removed_hosts_.push_back(std::move(h));
  }
  switch (config_->lb_policy) {
    case ClusterConfig::LbPolicy::kRoundRobin: lb_ = std::make_unique<RoundRobinLoadBalancer>(std::move(raw)); break;
    case ClusterConfig::LbPolicy::kLeastRequest:
      lb_ = std::make_unique<LeastRequestLoadBalancer>(std::move(raw), lb_seed_);
      break;
    case ClusterConfig::LbPolicy::kRandom: lb_ = std::make_unique<RandomLoadBalancer>(std::move(raw), lb_seed_); break;
  }
}

void Cluster::updateEndpoints(std::shared_ptr<const ClusterConfig> config) {
  config_ = std::move(config);
  buildHosts(std::move(hosts_));
  sweep();
}

void Cluster::sweep() {
  auto unused = [this](const std::unique_ptr<Host>& h) {
    if (h->activeRequests() != 0) return false;
    auto it = pools_.find(h.get());
    if (it == pools_.end()) return true;
    for (const auto& p : it->second) {
      if (p && !p->idle()) return false;
    }
    pools_.erase(it);
    return true;
  };
  removed_hosts_.erase(std::remove_if(removed_hosts_.begin(), removed_hosts_.end(), unused), removed_hosts_.end());
}

Cluster::~Cluster() = default;

void Cluster::setTls(TlsSettingsPtr tls, TlsCounters counters) {
  if (tls == tls_) return;
  tls_ = std::move(tls);
  if (tls_ && !tls_observer_) {
    tls_observer_ = std::make_unique<TlsObserver>(std::move(counters));
    tls_sessions_ = std::make_unique<tls::ClientSessionCache>();
  }
}

net::ConnectionPtr Cluster::connect(const net::Address& address) {
  return connectUpstream(dispatcher_, address, tls_.get(), tls_sessions_.get(), tls_observer_.get());
}

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
  if (!slot) {
    ConnectionPool::Settings settings = poolSettingsFor(*config_, protocol);
    // The pool lives inside this cluster, which outlives its connections.
    settings.connect = [this](const net::Address& address) { return connect(address); };
    slot = std::make_unique<ConnectionPool>(dispatcher_, host, std::move(settings), counters_);
  }
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
  // TCP proxy sessions hold a host without a pool or a cluster request.
  for (const auto* list : {&hosts_, &removed_hosts_}) {
    for (const auto& h : *list) {
      if (h->activeRequests() != 0) return false;
    }
  }
  for (const auto& [host, pair] : pools_) {
    for (const auto& p : pair) {
      if (p && !p->idle()) return false;
    }
  }
  return true;
}

ClusterManager::~ClusterManager() = default;

namespace {
// Equal in everything but endpoints: an EDS update, which keeps the cluster.
bool sameExceptEndpoints(const ClusterConfig& a, const ClusterConfig& b) {
  ClusterConfig x = a;
  x.endpoints = b.endpoints;
  return x == b;
}
}  // namespace

void ClusterManager::update(const std::vector<std::shared_ptr<const ClusterConfig>>& configs,
                            const std::map<std::string, TlsSettingsPtr, std::less<>>& tls) {
  std::map<std::string, std::unique_ptr<Cluster>, std::less<>> next;
  for (const auto& cfg : configs) {
    auto it = clusters_.find(cfg->name);
    if (it != clusters_.end() && (it->second->configPtr() == cfg || it->second->config() == *cfg)) {
      next.emplace(cfg->name, std::move(it->second));
      clusters_.erase(it);
    } else if (it != clusters_.end() && sameExceptEndpoints(it->second->config(), *cfg)) {
      it->second->updateEndpoints(cfg);
      next.emplace(cfg->name, std::move(it->second));
      clusters_.erase(it);
    } else {
      next.emplace(cfg->name, std::make_unique<Cluster>(dispatcher_, cfg, counters_for_ ? counters_for_(cfg->name) : PoolCounters{}));
    }
  }
  for (auto& [name, cluster] : next) {
    auto t = tls.find(name);
    if (t == tls.end() || !t->second) continue;
    if (cluster->tls() == t->second) continue;
    cluster->setTls(t->second, tls_counters_for_ && !cluster->tls() ? tls_counters_for_(name) : TlsCounters{});
  }
  // Whatever is left was removed or replaced: let in-flight requests finish.
  for (auto& [name, cluster] : clusters_) {
    cluster->drain();
    draining_.push_back(std::move(cluster));
  }
  clusters_ = std::move(next);
  sweep();
}

void ClusterManager::sweep() {
  for (auto& [name, cluster] : clusters_) cluster->sweep();
  for (auto& c : draining_) c->sweep();
  draining_.erase(std::remove_if(draining_.begin(), draining_.end(), [](const auto& c) { return c->idle(); }),
                  draining_.end());
}

Cluster* ClusterManager::get(std::string_view name) {
  auto it = clusters_.find(name);
  return it == clusters_.end() ? nullptr : it->second.get();
}

}  // namespace remora::upstream
