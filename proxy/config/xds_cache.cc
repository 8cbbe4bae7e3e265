#include "proxy/config/xds_cache.h"

#include <variant>

namespace remora::config {

using xds::resources::Cluster;
using xds::resources::ClusterLoadAssignment;
using xds::resources::FilterChain;
using xds::resources::HttpConnectionManager;
using xds::resources::Listener;
using xds::resources::ResourceType;
using xds::resources::RouteConfiguration;

struct XdsCache::Compiled {
  std::map<std::string, std::shared_ptr<const Listener>> listeners;
  // Per dynamic listener, per chain: the compiled inline routes, or null (RDS or TCP).
  std::map<std::string, std::vector<std::shared_ptr<const router::RouteTable>>> inline_routes;
  std::map<std::string, std::shared_ptr<const router::RouteTable>> routes;  // RDS, by name
  std::map<std::string, std::shared_ptr<const Cluster>> clusters;
  std::map<std::string, std::shared_ptr<const ClusterLoadAssignment>> assignments;  // by cluster_name
  // EDS clusters with their endpoints filled in, reused while neither changes.
  struct Filled {
    std::shared_ptr<const Cluster> cluster;
    std::shared_ptr<const ClusterLoadAssignment> assignment;
    std::shared_ptr<const Cluster> result;
  };
  std::map<std::string, Filled> filled;
};

namespace {

size_t chainCount(const Listener& l) { return l.filter_chains.size() + (l.default_filter_chain ? 1 : 0); }

const FilterChain& chainAt(const Listener& l, size_t i) {
  return i < l.filter_chains.size() ? l.filter_chains[i] : *l.default_filter_chain;
}

std::string edsName(const Cluster& c) { return c.eds_service_name.empty() ? c.name : c.eds_service_name; }

std::string quoted(ResourceType type, const std::string& name) {
  return std::string(xds::resources::shortTypeName(type)) + " '" + name + "'";
}

}  // namespace

XdsCache::XdsCache(std::shared_ptr<const xds::resources::Bootstrap> bootstrap, std::shared_ptr<const Snapshot> initial,
                   Publish publish, Clock clock, TlsRegistry& tls)
    : bootstrap_(std::move(bootstrap)), tls_(tls), publish_(std::move(publish)), clock_(std::move(clock)),
      state_(std::make_unique<Compiled>()), snapshot_(std::move(initial)) {}

XdsCache::~XdsCache() = default;

void XdsCache::attach(xds::client::AdsMux& mux) {
  mux_ = &mux;
  const auto& d = bootstrap_->dynamic;
  if (!d) return;
  // Clusters and their endpoints before listeners and their routes, as xDS
  // asks: a listener should never arrive before the clusters it routes to.
  if (d->cds) {
    mux.watch(xds::resources::kClusterTypeUrl, true);
    mux.watch(xds::resources::kClusterLoadAssignmentTypeUrl, false);
  }
  if (d->lds) {
    mux.watch(xds::resources::kListenerTypeUrl, true);
    mux.watch(xds::resources::kRouteConfigurationTypeUrl, false);
  }
  checkInitialized();
}

const std::map<std::string, XdsCache::Entry>& XdsCache::entries(ResourceType type) const {
  return entries_[static_cast<size_t>(type)];
}

base::Status XdsCache::onUpdate(std::string_view type_url, const std::vector<xds::client::ResourceUpdate>& updated,
                                const std::vector<std::string>& removed, bool state_of_the_world,
                                std::string_view version) {
  auto type = xds::resources::resourceTypeOf(type_url);
  if (!type) return base::fail(base::Error::kUnsupported, "resource type '" + std::string(type_url) + "' is not supported");
  Compiled next = *state_;
  auto entries = entries_[static_cast<size_t>(*type)];
  const auto now = clock_();
  // SotW Listener and Cluster responses are the complete set: start empty.
  if (state_of_the_world && (*type == ResourceType::kListener || *type == ResourceType::kCluster)) {
    entries.clear();
    if (*type == ResourceType::kListener) {
      next.listeners.clear();
      next.inline_routes.clear();
    } else {
      next.clusters.clear();
    }
  }
  for (const auto& name : removed) {
    entries.erase(name);
    switch (*type) {
      case ResourceType::kListener:
        next.listeners.erase(name);
        next.inline_routes.erase(name);
        break;
      case ResourceType::kRouteConfiguration: next.routes.erase(name); break;
      case ResourceType::kCluster: next.clusters.erase(name); break;
      case ResourceType::kClusterLoadAssignment: next.assignments.erase(name); break;
      case ResourceType::kSecret: break;
    }
  }

  std::set<std::string> seen;
  for (const auto& u : updated) {
    auto decoded = xds::resources::decodeResource(*type, *u.body);
    if (!decoded) return decoded.error();
    const std::string& name = decoded->name;
    if (!u.name.empty() && u.name != name) {
      return base::fail(base::Error::kInvalidArgument,
                        "resource '" + u.name + "' carries a " + quoted(*type, name) + ": names must match");
    }
    if (!seen.insert(name).second) {
      return base::fail(base::Error::kInvalidArgument, quoted(*type, name) + " appears twice in one response");
    }
    // Unchanged bytes: keep what is compiled and when it was accepted, so the
    // runtime sees the same object and keeps its state.
    auto held = entries_[static_cast<size_t>(*type)].find(name);
    const bool unchanged = held != entries_[static_cast<size_t>(*type)].end() && held->second.body &&
                           held->second.body->value() == u.body->value();
    Entry e{state_of_the_world ? std::string(version) : u.version, unchanged ? held->second.accepted_at : now,
            unchanged ? held->second.body : std::make_shared<const google::protobuf::Any>(*u.body), ""};

    if (const auto* skipped = std::get_if<xds::resources::Skipped>(&decoded->value)) {
      e.skipped = skipped->reason;
      if (*type == ResourceType::kListener) {
        next.listeners.erase(name);
        next.inline_routes.erase(name);
      }
    } else if (auto* l = std::get_if<Listener>(&decoded->value)) {
      for (const auto& s : bootstrap_->listeners) {
        if (s.name == name) return base::fail(base::Error::kInvalidArgument, quoted(*type, name) + ": a static listener has this name");
      }
      if (unchanged && state_->listeners.count(name)) {
        next.listeners[name] = state_->listeners.at(name);
        next.inline_routes[name] = state_->inline_routes.at(name);
      } else {
        std::vector<std::shared_ptr<const router::RouteTable>> tables;
        for (size_t i = 0; i < chainCount(*l); ++i) {
          const auto* hcm = std::get_if<HttpConnectionManager>(&chainAt(*l, i).filter);
          if (hcm == nullptr || !hcm->route_config) {
            tables.push_back(nullptr);
            continue;
          }
          auto table = router::RouteTable::build(*hcm->route_config);
          if (!table) return base::fail(table.error().code, quoted(*type, name) + ": " + table.error().message);
          tables.push_back(*table);
        }
        next.listeners[name] = std::make_shared<const Listener>(std::move(*l));
        next.inline_routes[name] = std::move(tables);
      }
    } else if (auto* r = std::get_if<RouteConfiguration>(&decoded->value)) {
      if (unchanged && state_->routes.count(name)) {
        next.routes[name] = state_->routes.at(name);
      } else {
        auto table = router::RouteTable::build(*r);
        if (!table) return base::fail(table.error().code, quoted(*type, name) + ": " + table.error().message);
        next.routes[name] = *table;
      }
    } else if (auto* c = std::get_if<Cluster>(&decoded->value)) {
      for (const auto& s : bootstrap_->clusters) {
        if (s.name == name) return base::fail(base::Error::kInvalidArgument, quoted(*type, name) + ": a static cluster has this name");
      }
      if (unchanged && state_->clusters.count(name)) {
        next.clusters[name] = state_->clusters.at(name);
      } else {
        next.clusters[name] = std::make_shared<const Cluster>(std::move(*c));
      }
    } else if (auto* secret = std::get_if<xds::resources::Secret>(&decoded->value)) {
      // Secrets apply at once (the registry refuses one that makes no valid
      // context): a rotated bundle must not wait for another resource type.
      if (name == kWorkloadSecret) {
        return base::fail(base::Error::kInvalidArgument,
                          quoted(*type, name) + ": the workload certificate is made by the proxy itself, "
                                                "never received over xDS");
      }
      TlsRegistry::SecretValue value;
      if (secret->tls_certificate) {
        value.certificate_chain = secret->tls_certificate->certificate_chain;
        value.private_key = secret->tls_certificate->private_key;
      }
      if (secret->validation_context) value.trusted_ca = secret->validation_context->trusted_ca;
      if (!unchanged) {
        if (base::Status s = tls_.setSecret(name, std::move(value)); !s) return s;
      }
    } else if (auto* a = std::get_if<ClusterLoadAssignment>(&decoded->value)) {
      if (unchanged && state_->assignments.count(name)) {
        next.assignments[name] = state_->assignments.at(name);
      } else {
        next.assignments[name] = std::make_shared<const ClusterLoadAssignment>(std::move(*a));
      }
    }
    entries[name] = std::move(e);
  }

  std::set<std::string> warming;
  auto snapshot = assemble(next, warming);
  if (!snapshot) return snapshot.error();
  if (auto s = publish_(*snapshot); !s) return s;

  // Committed: this is the running config now.
  ++next_version_;
  *state_ = std::move(next);
  entries_[static_cast<size_t>(*type)] = std::move(entries);
  snapshot_ = *snapshot;
  warming_ = std::move(warming);
  accepted_types_.insert(std::string(type_url));
  last_update_ = now;
  followNames();
  checkInitialized();
  return {};
}

base::Result<std::shared_ptr<const Snapshot>> XdsCache::assemble(Compiled& state, std::set<std::string>& warming) const {
  auto snap = std::make_shared<Snapshot>();
  snap->version = next_version_;
  snap->bootstrap = bootstrap_;
  // The bootstrap's own listeners and clusters come first and never change.
  std::map<std::string, std::string> addresses;  // "ip:port" -> listener, to refuse two on one port
  for (const auto& ls : bootstrap_->listeners) {
    if (ls.address.port != 0) addresses[ls.address.address + ":" + std::to_string(ls.address.port)] = ls.name;
  }
  for (size_t i = 0; i < bootstrap_->listeners.size() && i < snapshot_->listeners.size(); ++i) {
    snap->listeners.push_back(snapshot_->listeners[i]);
  }
  for (const auto& [name, l] : state.listeners) {
    if (l->address.port != 0) {
      const std::string key = l->address.address + ":" + std::to_string(l->address.port);
      auto [it, fresh] = addresses.emplace(key, name);
      if (!fresh) {
        return base::fail(base::Error::kInvalidArgument,
                          "Listener '" + name + "': address " + key + " is already used by listener '" + it->second + "'");
      }
    }
    ListenerSnapshot ls;
    ls.config = l;
    const auto& inline_tables = state.inline_routes.at(name);
    bool ready = true;
    for (size_t i = 0; i < chainCount(*l); ++i) {
      const auto* hcm = std::get_if<HttpConnectionManager>(&chainAt(*l, i).filter);
      if (hcm == nullptr || hcm->route_config) {
        ls.route_tables.push_back(inline_tables[i]);
        continue;
      }
      auto r = state.routes.find(hcm->rds_route_config_name);
      if (r == state.routes.end()) {
        ready = false;
        break;
      }
      ls.route_tables.push_back(r->second);
    }
    if (ready) {
      snap->listeners.push_back(std::move(ls));
      continue;
    }
    // Warming: the running version (if any) serves until the routes arrive.
    warming.insert(name);
    for (const auto& running : snapshot_->listeners) {
      if (running.config->name == name) snap->listeners.push_back(running);
    }
  }
  for (const auto& c : bootstrap_->clusters) {
    for (const auto& running : snapshot_->clusters) {
      if (running->name == c.name) snap->clusters.push_back(running);
    }
  }
  auto& filled = state.filled;
  std::map<std::string, Compiled::Filled> still_used;
  for (const auto& [name, c] : state.clusters) {
    if (c->type != Cluster::DiscoveryType::kEds) {
      snap->clusters.push_back(c);
      continue;
    }
    auto a = state.assignments.find(edsName(*c));
    std::shared_ptr<const ClusterLoadAssignment> assignment = a == state.assignments.end() ? nullptr : a->second;
    auto f = filled.find(name);
    if (f != filled.end() && f->second.cluster == c && f->second.assignment == assignment) {
      still_used[name] = f->second;
    } else {
      auto full = std::make_shared<Cluster>(*c);
      // Endpoints carry their locality and priority; the assignment's
      // overprovisioning factor drives priority failover.
      if (assignment) {
        full->endpoints = assignment->endpoints;
        full->overprovisioning_factor = assignment->overprovisioning_factor;
      }
      still_used[name] = {c, assignment, std::move(full)};
    }
    snap->clusters.push_back(still_used[name].result);
  }
  filled = std::move(still_used);
  if (base::Status s = attachSecurity(*snap, &tls_); !s) return s.error();
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

void XdsCache::followNames() {
  if (mux_ == nullptr || !bootstrap_->dynamic) return;
  std::set<std::string> eds;
  for (const auto& [name, c] : state_->clusters) {
    if (c->type == Cluster::DiscoveryType::kEds) eds.insert(edsName(*c));
  }
  std::set<std::string> rds;
  for (const auto& [name, l] : state_->listeners) {
    for (size_t i = 0; i < chainCount(*l); ++i) {
      const auto* hcm = std::get_if<HttpConnectionManager>(&chainAt(*l, i).filter);
      if (hcm != nullptr && !hcm->route_config && !hcm->rds_route_config_name.empty()) rds.insert(hcm->rds_route_config_name);
    }
  }
  // What is no longer asked for is dropped here; the published snapshot keeps
  // whatever it still uses.
  auto prune = [this](ResourceType type, const std::set<std::string>& keep, auto& compiled) {
    auto& held = entries_[static_cast<size_t>(type)];
    for (auto it = held.begin(); it != held.end();) {
      if (keep.count(it->first)) {
        ++it;
        continue;
      }
      compiled.erase(it->first);
      it = held.erase(it);
    }
  };
  if (bootstrap_->dynamic->cds) {
    prune(ResourceType::kClusterLoadAssignment, eds, state_->assignments);
    mux_->setNames(xds::resources::kClusterLoadAssignmentTypeUrl, eds);
  }
  if (bootstrap_->dynamic->lds) {
    prune(ResourceType::kRouteConfiguration, rds, state_->routes);
    mux_->setNames(xds::resources::kRouteConfigurationTypeUrl, rds);
  }
  // SDS over ADS: the secrets (trust bundles) listeners and clusters name,
  // asked for once some are named (servers that know no Secret type are
  // never bothered otherwise).
  tls_.prune();
  std::set<std::string> secrets = tls_.sdsNames();
  if (mux_->state(xds::resources::kSecretTypeUrl) == nullptr) {
    if (!secrets.empty()) mux_->watch(xds::resources::kSecretTypeUrl, false, std::move(secrets));
  } else {
    mux_->setNames(xds::resources::kSecretTypeUrl, std::move(secrets));
  }
}

std::string XdsCache::waitingFor() const {
  const auto& d = bootstrap_->dynamic;
  if (!d) return "";
  if (d->cds && !accepted_types_.count(std::string(xds::resources::kClusterTypeUrl))) {
    return "no Cluster (CDS) response from the control plane yet";
  }
  if (d->lds && !accepted_types_.count(std::string(xds::resources::kListenerTypeUrl))) {
    return "no Listener (LDS) response from the control plane yet";
  }
  for (const auto& [name, c] : state_->clusters) {
    if (c->type == Cluster::DiscoveryType::kEds && !state_->assignments.count(edsName(*c))) {
      return "cluster '" + name + "' waits for its endpoints (ClusterLoadAssignment '" + edsName(*c) + "')";
    }
  }
  if (!warming_.empty()) return "listener '" + *warming_.begin() + "' waits for its routes (RouteConfiguration)";
  for (const auto& name : tls_.sdsNames()) {
    if (!tls_.hasSecret(name)) return "TLS waits for secret '" + name + "' (SDS)";
  }
  return "";
}

void XdsCache::checkInitialized() {
  if (!initialized_ && waitingFor().empty()) initialized_ = true;
}

}  // namespace remora::config
