#include "control-plane/main/control_plane.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <type_traits>

#include "control-plane/mesh/object_codec.h"
#include "control-plane/mesh/mesh_security.h"
#include "control-plane/store/etcd/etcd_store.h"
#include "control-plane/store/sqlite/sqlite_store.h"

namespace remora::cp {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

ControlPlane::ControlPlane(ControlPlaneConfig config)
    : config_(std::move(config)), sidecars_(config_.endpoint_grace) {}

base::Result<std::unique_ptr<ControlPlane>> ControlPlane::start(ControlPlaneConfig config) {
  std::unique_ptr<ControlPlane> cp(new ControlPlane(std::move(config)));
  if (base::Status s = cp->load(); !s) return s.error();
  if (base::Status s = cp->serve(); !s) {
    cp->shutdown();
    return s.error();
  }
  return cp;
}

ControlPlane::~ControlPlane() { shutdown(); }

base::Status ControlPlane::openStore() {
  if (config_.store.backend == StoreConfig::Backend::kSqlite) {
    const std::string path = config_.data_dir + "/remora.db";
    auto store = store::openSqliteStore(path);
    if (!store) return base::fail(store.error().code, "open " + path + ": " + store.error().message);
    store_ = std::move(*store);
    return base::Status::ok();
  }
  auto store = store::etcd::EtcdStore::open(config_.store.etcd, config_.store.etcd_prefix);
  if (!store) return base::fail(store.error().code, "open the etcd store: " + store.error().message);
  store::etcd::EtcdClient& client = (*store)->client();
  store_ = std::move(*store);
  ReplicaOptions replica;
  replica.name = config_.store.replica_name;
  replica.prefix = config_.store.etcd_prefix;
  replica.lease_ttl = config_.store.lease_ttl;
  replicas_ = std::make_unique<ReplicaCoordinator>(
      client, std::move(replica),
      [this] {
        std::lock_guard<std::mutex> lock(mutex_);
        dirty_ = true;
        wake_.notify_all();
      },
      [this] { return registry_.list(); });
  return base::Status::ok();
}

base::Status ControlPlane::load() {
  if (base::Status opened = openStore(); !opened) return opened;
  const std::string source = config_.store.backend == StoreConfig::Backend::kSqlite
                                 ? config_.data_dir + "/remora.db"
                                 : "etcd " + config_.store.etcd_prefix;
  store_->watch([this](const store::Change& change) { onStoreChange(change); });
  auto objects = store_->list("", "");
  if (!objects) return base::fail(objects.error().code, "read " + source + ": " + objects.error().message);
  std::lock_guard<std::mutex> lock(mutex_);
  size_t internal = 0;
  for (const store::StoredObject& stored : *objects) {
    if (ca::isInternalKind(stored.key.kind)) {  // the CA's tokens and records
      ++internal;
      continue;
    }
    auto parsed = mesh::fromStored(stored);
    if (!parsed) {
      // An object this version no longer accepts stays in the store (an
      // operator can fix or delete it) but is not served.
      ++load_errors_;
      spdlog::error("stored object {} is not served: {}", store::describeKey(stored.key), parsed.error().message);
      continue;
    }
    store_state_.put(std::move(*parsed));
  }
  spdlog::info("loaded {} objects from {} (revision {})", objects->size() - internal - load_errors_.load(), source,
               store_->revision());
  dirty_ = true;
  return base::Status::ok();
}

base::Status ControlPlane::serve() {
  if (config_.security.insecure) {
    spdlog::warn("--insecure: xDS is plaintext, there is no CA and the mesh runs without mTLS");
  } else if (base::Status opened = openCa(); !opened) {
    return opened;
  }
  if (replicas_) {
    // Every replica's sidecars before the first build, so a replica that
    // starts (or restarts) never serves a mesh without them.
    if (base::Status started = replicas_->start(); !started) {
      return base::fail(started.error().code, "replica " + config_.store.replica_name + ": " + started.message());
    }
  }
  rebuild();  // the first build, so the first proxy finds current_ set
  builder_ = std::thread([this] { runBuilder(); });

  xds::AdsServiceOptions ads;
  ads.debounce = config_.push_debounce;
  ads.on_node_connected = [this](const envoy::config::core::v3::Node& node) { return onNodeConnected(node); };
  ads.on_node_disconnected = [this](const std::string& node_id, bool left) { onNodeDisconnected(node_id, left); };
  ads.metrics = &xds_metrics_;
  ads.change_origin = [this]() -> std::optional<Clock::time_point> {
    const int64_t ns = publishing_origin_ns_.load();
    if (ns == 0) return std::nullopt;
    return Clock::time_point(std::chrono::nanoseconds(ns));
  };
  std::optional<xds::XdsTlsFiles> tls;
  if (ca_) {
    ads.authorize_node = [this](const xds::PeerCertificate& peer, const envoy::config::core::v3::Node& node) {
      return authorizeNode(peer, node);
    };
    ads.on_authorized_stream_done = [this](const xds::PeerCertificate& peer, const std::string& node_id) {
      if (peer.present) issued_->proxyDisconnected(peer.spiffe_id, node_id);
    };
    tls = xds::XdsTlsFiles{config_.data_dir + "/ca/serving.key", config_.data_dir + "/ca/serving.pem",
                           ca_->bundlePath()};
  }
  xds_server_ = std::make_unique<xds::XdsServer>(cache_, registry_, std::move(ads));
  if (certificate_service_) xds_server_->addService(certificate_service_.get());
  auto xds_port = xds_server_->start(config_.xds_address, tls);
  if (!xds_port) return base::fail(xds_port.error().code, "xDS address " + config_.xds_address + ": " + xds_port.error().message);
  xds_port_ = *xds_port;

  api_server_ = std::make_unique<api::ApiServer>(*store_, [this] { return storeState(); }, registry_, config_.api);
  api_server_->setMetricsHook([this](std::string& out) { appendMetrics(out); });
  api_server_->setProxiesSource([this]() -> base::Result<std::string> {
    if (replicas_) return replicas_->proxiesJson();
    return proxiesJsonWithReplica(registry_.list(), config_.store.replica_name);
  });
  if (ca_) {
    api_server_->setSecurity(api::SecurityBackend{
        tokens_.get(), issued_.get(), ca_.get(), [this](std::string_view phase) { return rotateCa(phase); }});
  }
  auto api_port = api_server_->start();
  if (!api_port) {
    return base::fail(api_port.error().code, "API address " + config_.api.address + ": " + api_port.error().message);
  }
  api_port_ = *api_port;
  return base::Status::ok();
}

void ControlPlane::shutdown() {
  if (api_server_) api_server_->stop();
  if (xds_server_) xds_server_->shutdown();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (builder_.joinable()) builder_.join();
  if (replicas_) replicas_->stop();
}

void ControlPlane::onStoreChange(const store::Change& change) {
  ++store_changes_;
  if (ca::isInternalKind(change.object.key.kind)) return;  // not part of the mesh
  // Push latency is timed from the first change a build picks up.
  int64_t none = 0;
  first_change_ns_.compare_exchange_strong(
      none, std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
  std::lock_guard<std::mutex> lock(mutex_);
  if (change.type == store::Change::Type::kDelete) {
    const auto kind = mesh::kindFromName(change.object.key.kind);
    if (kind) store_state_.remove(*kind, mesh::ObjectKey{change.object.key.namespace_, change.object.key.name});
  } else {
    auto parsed = mesh::fromStored(change.object);
    if (!parsed) {
      // The API validated it before writing, so this is a bug, not input.
      ++load_errors_;
      spdlog::error("committed object {} does not parse: {}", store::describeKey(change.object.key),
                    parsed.error().message);
      return;
    }
    store_state_.put(std::move(*parsed));
  }
  store_state_copy_.reset();
  dirty_ = true;
  wake_.notify_all();
}

std::shared_ptr<const mesh::MeshState> ControlPlane::storeState() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!store_state_copy_) store_state_copy_ = std::make_shared<const mesh::MeshState>(store_state_);
  return store_state_copy_;
}

base::Status ControlPlane::onNodeConnected(const envoy::config::core::v3::Node& node) {
  auto identity = mesh::proxyIdentityFromNode(node);
  if (!identity) {
    ++rejected_nodes_;
    spdlog::warn("proxy '{}' refused: {}", node.id(), identity.error().message);
    return identity.error();
  }
  std::lock_guard<std::mutex> publish(publish_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Node& entry = nodes_[node.id()];
    entry.identity = *identity;
    ++entry.streams;
    // With replicas, the rebuild follows etcd's watch instead.
    if (sidecars_.connected(node.id(), *identity) && !replicas_) {
      dirty_ = true;
      wake_.notify_all();
    }
    if (replicas_ && sidecars_.has(node.id())) replicas_->connected(node);
  }
  publishFor(node.id(), *identity);
  return base::Status::ok();
}

void ControlPlane::onNodeDisconnected(const std::string& node_id, bool left) {
  bool gone = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = nodes_.find(node_id);
    if (it != nodes_.end() && --it->second.streams <= 0) {
      nodes_.erase(it);
      gone = true;
      if (left && sidecars_.left(node_id)) {
        // A draining sidecar: its peers stop sending to it with the next push.
        dirty_ = true;
        if (replicas_) replicas_->withdraw(node_id);
      } else {
        sidecars_.disconnected(node_id, Clock::now());
      }
      wake_.notify_all();  // the builder now has an expiry to wait for, or a rebuild
    }
  }
  // No stream of it is left to push to; a reconnect builds it afresh.
  if (gone) cache_.setSnapshot(node_id, nullptr);
}

void ControlPlane::runBuilder() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    const std::vector<std::string> expired = sidecars_.expire(Clock::now());
    if (!expired.empty()) dirty_ = true;
    if (replicas_) {
      for (const std::string& node_id : expired) replicas_->withdraw(node_id);
    }
    if (ca_ && std::time(nullptr) >= serving_renew_at_.load()) {
      lock.unlock();
      std::lock_guard<std::mutex> rotating(rotate_mutex_);
      if (base::Status renewed = renewServingCertificate(); !renewed) {
        spdlog::error("{}; retrying in a minute", renewed.message());
        serving_renew_at_ = std::time(nullptr) + 60;
      }
      lock.lock();
      continue;
    }
    if (!dirty_) {
      auto next = sidecars_.nextExpiry();
      if (ca_) {
        // Also wake to renew the serving certificate.
        const auto renew = Clock::now() + std::chrono::seconds(std::max<int64_t>(
                                              1, serving_renew_at_.load() - static_cast<int64_t>(std::time(nullptr))));
        if (!next || renew < *next) next = renew;
      }
      if (next) {
        wake_.wait_until(lock, *next);
      } else {
        wake_.wait(lock);
      }
      continue;
    }
    lock.unlock();
    rebuild();
    lock.lock();
  }
}

void ControlPlane::rebuild() {
  const auto started = Clock::now();
  // Changes that are not store commits (sidecars connecting or expiring, a
  // CA rotation) are timed from the build's start.
  int64_t origin = first_change_ns_.exchange(0);
  if (origin == 0) origin = std::chrono::duration_cast<std::chrono::nanoseconds>(started.time_since_epoch()).count();
  auto state = std::make_shared<mesh::MeshState>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dirty_ = false;
    *state = store_state_;
    if (replicas_) {
      replicas_->addSidecarsTo(*state);
    } else {
      sidecars_.addTo(*state);
    }
  }
  std::shared_ptr<mesh::MeshSnapshots> previous;
  {
    std::lock_guard<std::mutex> publish(publish_mutex_);
    previous = current_;
  }
  // Planned without publish_mutex_: proxies connecting meanwhile are served
  // from the previous build, then again from this one below.
  mesh::MeshSecurity security;
  security.enabled = ca_ != nullptr;
  security.trust_domain = config_.security.trust_domain;
  security.trust_bundle_pem = trustBundlePem();
  security.allow_tls12 = config_.security.mesh_allow_tls12;
  auto build = std::make_shared<mesh::MeshSnapshots>(std::move(state), previous.get(), std::move(security),
                                                     config_.tracing, config_.outbound_traffic_policy);
  if (!previous || build->warnings() != previous->warnings()) {
    for (const std::string& warning : build->warnings()) spdlog::warn("mesh: {}", warning);
  }
  previous.reset();
  size_t proxies = 0;
  {
    std::lock_guard<std::mutex> publish(publish_mutex_);
    current_ = std::move(build);
    std::vector<std::pair<std::string, mesh::ProxyIdentity>> nodes;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      nodes.reserve(nodes_.size());
      for (const auto& [id, node] : nodes_) nodes.emplace_back(id, node.identity);
    }
    publishing_origin_ns_ = origin;
    for (const auto& [id, identity] : nodes) publishFor(id, identity);
    publishing_origin_ns_ = 0;
    proxies = nodes.size();
  }
  ++builds_;
  last_build_micros_ = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
  spdlog::debug("built snapshots for {} proxies in {} us", proxies, last_build_micros_.load());
}

void ControlPlane::publishFor(const std::string& node_id, const mesh::ProxyIdentity& identity) {
  auto snapshot = current_->forProxy(identity);
  if (!snapshot) {
    ++build_errors_;
    spdlog::error("proxy '{}' keeps its last config: {}", node_id, snapshot.error().message);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto node = nodes_.find(node_id);
    if (node != nodes_.end() && node->second.warnings != snapshot->warnings) {
      for (const std::string& warning : snapshot->warnings) spdlog::warn("proxy '{}': {}", node_id, warning);
      node->second.warnings = snapshot->warnings;
    }
  }
  cache_.setSnapshot(node_id, std::move(snapshot->snapshot));
}

void ControlPlane::appendMetrics(std::string& out) {
  size_t proxies = 0;
  size_t sidecars = 0;
  size_t services = 0;
  size_t endpoints = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    proxies = nodes_.size();
    sidecars = replicas_ ? replicas_->sidecarCount() : sidecars_.size();
    services = store_state_.services().size();
    endpoints = store_state_.endpoints().size();
  }
  auto gauge = [&](const char* name, const char* help, const char* type, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  gauge("remora_cp_proxies_connected", "Proxies (node ids) with an open ADS stream.", "gauge", proxies);
  gauge("remora_cp_sidecar_registrations", "Sidecars registered as endpoints (connected or in their grace period).",
        "gauge", sidecars);
  gauge("remora_cp_services", "Services in the store.", "gauge", services);
  gauge("remora_cp_api_endpoints", "Endpoints in the store (sidecar registrations not included).", "gauge",
        endpoints);
  gauge("remora_cp_store_revision", "The store's last committed revision.", "gauge", store_->revision());
  gauge("remora_cp_store_changes_total", "Changes committed to the store since start.", "counter",
        store_changes_.load());
  gauge("remora_cp_snapshot_builds_total", "Rebuilds of every connected proxy's snapshot.", "counter",
        builds_.load());
  gauge("remora_cp_snapshot_build_seconds", "How long the last rebuild took.", "gauge",
        static_cast<double>(last_build_micros_.load()) / 1e6);
  gauge("remora_cp_snapshot_errors_total", "Proxy snapshots that could not be built (the proxy kept its last).",
        "counter", build_errors_.load());
  gauge("remora_cp_proxies_rejected_total", "ADS streams refused for malformed node metadata.", "counter",
        rejected_nodes_.load());
  if (certificate_service_) certificate_service_->appendMetrics(out);
  if (replicas_) replicas_->appendMetrics(out);
  xds_metrics_.appendMetrics(out);
  gauge("remora_cp_object_errors_total", "Stored objects that could not be read into the mesh.", "counter",
        load_errors_.load());
}

}  // namespace remora::cp
