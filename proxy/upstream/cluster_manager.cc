#include "proxy/upstream/cluster_manager.h"

#include <spdlog/spdlog.h>

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

Cluster::Cluster(net::Dispatcher& dispatcher, std::shared_ptr<const ClusterConfig> config, PoolCounters counters,
                 const HostFlagTable* flag_table, const LocalListeners* listeners)
    : dispatcher_(dispatcher), config_(std::move(config)), name_(config_->name), listeners_(listeners), lb_seed_(std::random_device{}()),
      counters_(counters), flag_table_(flag_table) {
  if (config_->circuit_breakers.retry_budget) retry_budget_.emplace(*config_->circuit_breakers.retry_budget);
  if (config_->type == ClusterConfig::DiscoveryType::kOriginalDst) {
    std::optional<uint16_t> port;
    if (config_->upstream_port_override) port = static_cast<uint16_t>(*config_->upstream_port_override);
    original_dst_ = std::make_unique<OriginalDstHosts>(config_->cleanup_interval, port,
                                                       [this] { return dispatcher_.now(); });
  }
  buildHosts({});
}

Host* Cluster::pickOriginalDst(const LoadBalancerContext& context) {
  if (context.original_destination == nullptr) return nullptr;
  if (listeners_ != nullptr && listeners_->contains(original_dst_->upstreamAddress(*context.original_destination))) {
    return nullptr;
  }
  return &original_dst_->get(*context.original_destination);
}

NoHostReply Cluster::onNoHost(const LoadBalancerContext& context) {
  if (!original_dst_) return {base::Error::kNoHealthyUpstream, 0, "cluster '" + name() + "' has no healthy endpoint"};
  NoHostReply reply{base::Error::kNoOriginalDestination, 502,
                    "cluster '" + name() + "' sends to the original destination, and this connection has none "
                    "(it did not come through a redirect)"};
  if (context.original_destination != nullptr) {
    const std::string where = original_dst_->upstreamAddress(*context.original_destination).toString();
    reply = {base::Error::kPassthroughLoop, 502,
             "cluster '" + name() + "': the original destination " + where + " is this proxy's own listener"};
  }
  const std::string_view reason = base::errorName(reply.reason);
  if (counters_.on_original_dst_refused) counters_.on_original_dst_refused(reason);
  spdlog::debug("cluster '{}' refused a connection ({}): {}", name(), reason, reply.detail);
  return reply;
}

void Cluster::drainPools(const Host& host) {
  auto it = pools_.find(&host);
  if (it == pools_.end()) return;
  for (auto& p : it->second) {
    if (p) p->drain();
  }
}

void Cluster::expireOriginalDstHosts() {
  for (auto& host : original_dst_->expire()) {
    drainPools(*host);
    removed_hosts_.push_back(std::move(host));
  }
}

void Cluster::buildHosts(std::vector<std::unique_ptr<Host>> reusable) {
  hosts_.clear();
  const std::map<std::string, uint8_t>* flags = nullptr;
  if (flag_table_ != nullptr) {
    auto it = flag_table_->find(config_->name);
    if (it != flag_table_->end()) flags = &it->second;
  }
  std::vector<Host*> raw;
  for (const auto& ep : config_->endpoints) {
    // Draining endpoints get no new requests, as in Envoy. Unhealthy ones
    // stay in the set, flagged, so the panic threshold sees them.
    using Health = xds::resources::HealthStatus;
    if (ep.health == Health::kDraining) continue;
    auto addr = net::Address::fromIpPort(ep.address.address, static_cast<uint16_t>(ep.address.port));
    if (!addr) continue;  // the converter already rejected bad addresses
    const uint32_t weight = ep.weight == 0 ? 1 : ep.weight;
    auto same = std::find_if(reusable.begin(), reusable.end(), [&](const auto& h) {
      return h && h->address() == *addr && h->weight() == weight && h->priority() == ep.priority;
    });
    if (same != reusable.end()) {
      hosts_.push_back(std::move(*same));
    } else {
      hosts_.push_back(std::make_unique<Host>(*addr, weight, ep.priority));
    }
    Host& host = *hosts_.back();
    host.setHealthFlag(HostHealthFlag::kEdsUnhealthy,
                       ep.health == Health::kUnhealthy || ep.health == Health::kTimeout);
    if (flags != nullptr) {
      auto f = flags->find(host.name());
      const uint8_t bits = f == flags->end() ? 0 : f->second;
      for (HostHealthFlag flag : {HostHealthFlag::kFailedActiveCheck, HostHealthFlag::kOutlierEjected}) {
        host.setHealthFlag(flag, (bits & static_cast<uint8_t>(flag)) != 0);
      }
    }
    raw.push_back(&host);
  }
  for (auto& h : reusable) {
    if (!h) continue;
    drainPools(*h);
    removed_hosts_.push_back(std::move(h));
  }
  selector_ = std::make_unique<HostSelector>(*config_, std::move(raw), lb_seed_,
                                             [this] { return dispatcher_.now(); });
}

void Cluster::setHostFlag(const std::string& address, HostHealthFlag flag, bool set) {
  for (auto& h : hosts_) {
    if (h->name() != address) continue;
    const bool was = (h->healthFlags() & static_cast<uint8_t>(flag)) != 0;
    if (was == set) return;
    h->setHealthFlag(flag, set);
    selector_->refresh();
    return;
  }
}

void Cluster::onRequest() {
  if (retry_budget_) retry_budget_->onRequest(dispatcher_.now());
}

bool Cluster::tryStartRetry() {
  if (retry_budget_) {
    if (!retry_budget_->tryRetry(dispatcher_.now())) {
      counters_.retry_overflows.inc();
      return false;
    }
  } else if (active_retries_ >= config_->circuit_breakers.max_retries) {
    counters_.retry_overflows.inc();
    return false;
  }
  ++active_retries_;
  return true;
}

void Cluster::updateEndpoints(std::shared_ptr<const ClusterConfig> config) {
  config_ = std::move(config);
  buildHosts(std::move(hosts_));
  sweep();
}

void Cluster::sweep() {
  if (original_dst_) expireOriginalDstHosts();
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
  bool busy = false;
  if (original_dst_) original_dst_->forEach([&busy](const Host& h) { busy = busy || h.activeRequests() != 0; });
  if (busy) return false;
  for (const auto& [host, pair] : pools_) {
    for (const auto& p : pair) {
      if (p && !p->idle()) return false;
    }
  }
  return true;
}

ClusterManager::~ClusterManager() = default;

void ClusterManager::setOutcomeSink(OutcomeSink* sink) {
  outcome_sink_ = sink;
  for (auto& [name, cluster] : clusters_) cluster->setOutcomeSink(sink);
}

void ClusterManager::setHostFlag(const std::string& cluster, const std::string& address, HostHealthFlag flag,
                                 bool set) {
  uint8_t& bits = host_flags_[cluster][address];
  if (set) bits |= static_cast<uint8_t>(flag);
  else bits &= static_cast<uint8_t>(~static_cast<uint8_t>(flag));
  if (bits == 0) {
    host_flags_[cluster].erase(address);
    if (host_flags_[cluster].empty()) host_flags_.erase(cluster);
  }
  if (Cluster* c = get(cluster)) c->setHostFlag(address, flag, set);
}

bool sameExceptEndpoints(const ClusterConfig& a, const ClusterConfig& b) {
  ClusterConfig x = a;
  x.endpoints = b.endpoints;
  return x == b;
}

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
      auto cluster = std::make_unique<Cluster>(dispatcher_, cfg, counters_for_ ? counters_for_(cfg->name) : PoolCounters{},
                                               &host_flags_, &local_listeners_);
      cluster->setOutcomeSink(outcome_sink_);
      next.emplace(cfg->name, std::move(cluster));
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
