#include "proxy/main/host_health.h"

#include <spdlog/spdlog.h>

#include <random>

#include <fmt/format.h>

#include "proxy/main/config_dump.h"
#include "xds/base/json_string.h"

namespace remora::server {
namespace {

using upstream::HostHealthFlag;

std::vector<net::Address> addressesOf(const xds::resources::Cluster& config) {
  std::vector<net::Address> out;
  for (const auto& ep : config.endpoints) {
    if (ep.health == xds::resources::HealthStatus::kDraining) continue;
    auto a = net::Address::fromIpPort(ep.address.address, static_cast<uint16_t>(ep.address.port));
    if (a) out.push_back(*a);
  }
  return out;
}



}  // namespace

HostHealth::HostHealth(net::Dispatcher& main, observability::WorkerStats& stats, const ProxyFamilies& families,
                       Publish publish)
    : main_(main), stats_(stats), families_(families), publish_(std::move(publish)), seed_(std::random_device{}()) {}

HostHealth::~HostHealth() = default;

void HostHealth::update(const config::Snapshot& snapshot) {
  std::map<std::string, std::unique_ptr<ClusterHealth>, std::less<>> next;
  for (const auto& cfg : snapshot.clusters) {
    if (!cfg->outlier_detection && !cfg->health_check) continue;
    auto it = clusters_.find(cfg->name);
    if (it != clusters_.end() && it->second->config->outlier_detection == cfg->outlier_detection &&
        it->second->config->health_check == cfg->health_check) {
      // Other changes (balancer, limits, endpoints) keep what was decided.
      it->second->config = cfg;
      setHosts(*it->second);
      next.emplace(cfg->name, std::move(it->second));
      clusters_.erase(it);
      continue;
    }
    auto c = std::make_unique<ClusterHealth>();
    c->config = cfg;
    // A rebuilt cluster starts clean: clear what the old one decided.
    if (it != clusters_.end()) {
      for (const auto& [address, info] : it->second->hosts) {
        for (HostHealthFlag f : {HostHealthFlag::kOutlierEjected, HostHealthFlag::kFailedActiveCheck}) {
          if (info.flags & static_cast<uint8_t>(f)) publish_(cfg->name, address, f, false);
        }
      }
      clusters_.erase(it);
    }
    auto tls = snapshot.cluster_tls.find(cfg->name);
    build(*c, tls == snapshot.cluster_tls.end() ? nullptr : tls->second);
    next.emplace(cfg->name, std::move(c));
  }
  // Removed clusters (or ones that no longer ask): their flags go too.
  for (auto& [name, c] : clusters_) {
    for (const auto& [address, info] : c->hosts) {
      for (HostHealthFlag f : {HostHealthFlag::kOutlierEjected, HostHealthFlag::kFailedActiveCheck}) {
        if (info.flags & static_cast<uint8_t>(f)) publish_(name, address, f, false);
      }
    }
  }
  clusters_ = std::move(next);
}

void HostHealth::build(ClusterHealth& c, upstream::TlsSettingsPtr tls) {
  const std::string name = c.config->name;
  c.ejected_gauge = stats_.gauge(families_.outlier_ejected_hosts, {name});
  c.unhealthy_gauge = stats_.gauge(families_.health_check_unhealthy_hosts, {name});
  c.check_failures = stats_.counter(families_.health_check_failures, {name});
  c.overflow = stats_.counter(families_.outlier_ejections_overflow, {name});
  for (size_t k = 0; k < upstream::kEjectionKindCount; ++k) {
    c.ejections[k] = stats_.counter(families_.outlier_ejections,
                                    {name, std::string(upstream::ejectionKindName(static_cast<upstream::EjectionKind>(k)))});
  }
  if (c.config->outlier_detection) {
    c.outlier = std::make_unique<upstream::OutlierDetector>(
        *c.config->outlier_detection, [this] { return main_.now(); }, seed_++,
        [this, name](const net::Address& host, bool ejected, const std::string& reason) {
          onEjection(name, host, ejected, reason);
        });
    ClusterHealth* raw = &c;
    c.interval_timer = main_.createTimer([this, raw] {
      for (auto& [address, info] : raw->hosts) {
        info.last_interval = info.current_interval;
        info.current_interval = {};
      }
      raw->outlier->onInterval();
      syncCounters(*raw);
      armUneject(*raw);
      raw->interval_timer->enable(raw->config->outlier_detection->interval);
    });
    c.interval_timer->enable(c.config->outlier_detection->interval);
    c.uneject_timer = main_.createTimer([this, raw] {
      raw->outlier->unejectExpired();
      armUneject(*raw);
    });
  }
  if (c.config->health_check) {
    c.checker = std::make_unique<upstream::HealthChecker>(
        main_, *c.config->health_check, name, std::move(tls), seed_++,
        [this, name](const net::Address& host, bool healthy, const std::string& reason) {
          onHealthCheck(name, host, healthy, reason);
        });
  }
  setHosts(c);
}

void HostHealth::setHosts(ClusterHealth& c) {
  const std::vector<net::Address> hosts = addressesOf(*c.config);
  std::map<std::string, HostInfo> kept;
  for (const net::Address& a : hosts) {
    auto it = c.hosts.find(a.toString());
    kept[a.toString()] = it == c.hosts.end() ? HostInfo{} : it->second;
  }
  c.hosts = std::move(kept);
  if (c.outlier) c.outlier->setHosts(hosts);
  if (c.checker) c.checker->setHosts(hosts);
}

void HostHealth::armUneject(ClusterHealth& c) {
  if (!c.outlier) return;
  const auto next = c.outlier->nextUnejection();
  if (!next) {
    c.uneject_timer->disable();
    return;
  }
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*next - main_.now());
  c.uneject_timer->enable(std::max(wait, std::chrono::milliseconds(0)) + std::chrono::milliseconds(1));
}

void HostHealth::syncCounters(ClusterHealth& c) {
  if (!c.outlier) return;
  const upstream::OutlierCounters& counters = c.outlier->counters();
  for (size_t k = 0; k < upstream::kEjectionKindCount; ++k) {
    const uint64_t now = counters.ejected[k];
    if (now > c.ejections_seen[k]) c.ejections[k].inc(now - c.ejections_seen[k]);
    c.ejections_seen[k] = now;
  }
  if (counters.overflow > c.overflow_seen) c.overflow.inc(counters.overflow - c.overflow_seen);
  c.overflow_seen = counters.overflow;
  c.ejected_gauge.set(static_cast<double>(c.outlier->ejectedCount()));
}

void HostHealth::record(std::vector<OutcomeRecord> batch) {
  std::vector<ClusterHealth*> touched;
  for (OutcomeRecord& r : batch) {
    auto it = clusters_.find(r.cluster->name);
    // Outcomes of a cluster config that was replaced meanwhile are dropped.
    if (it == clusters_.end() || !it->second->outlier) continue;
    if (it->second->config->outlier_detection != r.cluster->outlier_detection) continue;
    it->second->outlier->report(r.host, r.outcome);
    if (r.outcome != upstream::HostOutcome::kLocalOriginSuccess) {
      auto h = it->second->hosts.find(r.host.toString());
      if (h != it->second->hosts.end()) {
        ++(r.outcome == upstream::HostOutcome::kSuccess ? h->second.current_interval.success
                                                         : h->second.current_interval.failure);
      }
    }
    if (touched.empty() || touched.back() != it->second.get()) touched.push_back(it->second.get());
  }
  for (ClusterHealth* c : touched) {
    syncCounters(*c);
    armUneject(*c);
  }
}

void HostHealth::onEjection(const std::string& cluster, const net::Address& host, bool ejected,
                            const std::string& reason) {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return;
  HostInfo& info = it->second->hosts[host.toString()];
  if (ejected) {
    info.flags |= static_cast<uint8_t>(HostHealthFlag::kOutlierEjected);
    info.reason = reason;
    if (const auto* state = it->second->outlier->state(host)) {
      info.ejected_until = main_.systemNow() + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                                   state->ejected_until - main_.now());
    }
    spdlog::warn("cluster '{}': host {} ejected: {}", cluster, host.toString(), reason);
  } else {
    info.flags &= static_cast<uint8_t>(~static_cast<uint8_t>(HostHealthFlag::kOutlierEjected));
    spdlog::info("cluster '{}': host {} returns: {}", cluster, host.toString(), reason);
  }
  publish_(cluster, host.toString(), HostHealthFlag::kOutlierEjected, ejected);
}

void HostHealth::onHealthCheck(const std::string& cluster, const net::Address& host, bool healthy,
                               const std::string& reason) {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return;
  ClusterHealth& c = *it->second;
  HostInfo& info = c.hosts[host.toString()];
  const auto flag = static_cast<uint8_t>(HostHealthFlag::kFailedActiveCheck);
  if (healthy) {
    info.flags &= static_cast<uint8_t>(~flag);
    spdlog::info("cluster '{}': host {} passes its health check again: {}", cluster, host.toString(), reason);
  } else {
    info.flags |= flag;
    info.reason = "health check: " + reason;
    c.check_failures.inc();
    spdlog::warn("cluster '{}': host {} fails its health check: {}", cluster, host.toString(), reason);
  }
  size_t unhealthy = 0;
  for (const auto& [a, h] : c.hosts) unhealthy += (h.flags & flag) ? 1 : 0;
  c.unhealthy_gauge.set(static_cast<double>(unhealthy));
  publish_(cluster, host.toString(), HostHealthFlag::kFailedActiveCheck, !healthy);
}

const HostHealth::HostReport* HostHealth::host(std::string_view cluster, std::string_view address) const {
  auto c = clusters_.find(cluster);
  if (c == clusters_.end()) return nullptr;
  auto h = c->second->hosts.find(std::string(address));
  return h == c->second->hosts.end() ? nullptr : &h->second;
}

bool HostHealth::tracksOutcomes(std::string_view cluster) const {
  auto c = clusters_.find(cluster);
  return c != clusters_.end() && c->second->outlier != nullptr;
}

std::string hostKey(const xds::resources::Endpoint& endpoint) {
  auto parsed = net::Address::fromIpPort(endpoint.address.address, static_cast<uint16_t>(endpoint.address.port));
  return parsed ? parsed->toString() : endpoint.address.address;
}

std::vector<std::string> hostFlagNames(const xds::resources::Endpoint& endpoint, const HostHealth::HostReport* report) {
  using Health = xds::resources::HealthStatus;
  std::vector<std::string> flags;
  if (endpoint.health == Health::kUnhealthy || endpoint.health == Health::kTimeout) flags.push_back("eds_unhealthy");
  if (endpoint.health == Health::kDraining) flags.push_back("eds_draining");
  if (report && (report->flags & static_cast<uint8_t>(HostHealthFlag::kFailedActiveCheck))) {
    flags.push_back("failed_active_health_check");
  }
  if (report && (report->flags & static_cast<uint8_t>(HostHealthFlag::kOutlierEjected))) {
    flags.push_back("outlier_ejected");
  }
  return flags;
}

double lastIntervalSuccessRate(const HostHealth::HostReport& report) {
  if (report.last_interval.total() == 0) return -1;
  return static_cast<double>(report.last_interval.success) / static_cast<double>(report.last_interval.total());
}

std::string HostHealth::clustersJson(const config::Snapshot& snapshot, const ActiveRequests* active) const {
  std::string out = "{\"clusters\":[";
  bool first_cluster = true;
  for (const auto& cfg : snapshot.clusters) {
    if (!first_cluster) out += ",";
    first_cluster = false;
    out += "{\"name\":" + base::jsonString(cfg->name) + ",\"hosts\":[";
    const std::map<std::string, uint64_t>* cluster_active = nullptr;
    if (active != nullptr) {
      auto a = active->find(cfg->name);
      if (a != active->end()) cluster_active = &a->second;
    }
    const bool tallied = tracksOutcomes(cfg->name);
    bool first = true;
    for (const auto& ep : cfg->endpoints) {
      const std::string address = hostKey(ep);
      const HostReport* info = host(cfg->name, address);
      const std::vector<std::string> flags = hostFlagNames(ep, info);
      const bool ejected = info && (info->flags & static_cast<uint8_t>(HostHealthFlag::kOutlierEjected));
      if (!first) out += ",";
      first = false;
      out += "{\"address\":" + base::jsonString(address) + ",\"weight\":" + std::to_string(ep.weight) +
             ",\"priority\":" + std::to_string(ep.priority) + ",\"healthy\":" + (flags.empty() ? "true" : "false") +
             ",\"flags\":[";
      for (size_t i = 0; i < flags.size(); ++i) out += (i ? ",\"" : "\"") + flags[i] + "\"";
      out += "]";
      if (ejected) out += ",\"ejected_until\":" + base::jsonString(rfc3339Utc(info->ejected_until));
      if (info && !info->reason.empty()) out += ",\"reason\":" + base::jsonString(info->reason);
      if (active != nullptr) {
        uint64_t n = 0;
        if (cluster_active != nullptr) {
          auto h = cluster_active->find(address);
          if (h != cluster_active->end()) n = h->second;
        }
        out += ",\"active_requests\":" + std::to_string(n);
      }
      if (tallied && info != nullptr) {
        const double rate = lastIntervalSuccessRate(*info);
        out += ",\"success_rate\":" + (rate < 0 ? std::string("null") : fmt::format("{:.4g}", rate)) +
               ",\"requests_last_interval\":" + std::to_string(info->last_interval.total());
      }
      out += "}";
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

}  // namespace remora::server
