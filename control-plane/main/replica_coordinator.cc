#include "control-plane/main/replica_coordinator.h"

#include <spdlog/spdlog.h>

#include "control-plane/mesh/proxy_identity.h"
#include "xds/base/json_string.h"

namespace remora::cp {

namespace etcd = store::etcd;
using Clock = std::chrono::steady_clock;

std::string statusWithReplica(const xds::server::ProxyStatus& status, const std::string& replica) {
  const std::string array = xds::server::proxyStatusJson({status});  // "[{...}]"
  std::string out = "{\"replica\":";
  base::appendJsonString(out, replica);
  out += ",";
  out.append(array, 2, array.size() - 3);  // the object's fields and its "}"
  return out;
}

std::string proxiesJsonWithReplica(const std::vector<xds::server::ProxyStatus>& statuses, const std::string& replica) {
  std::string out = "[";
  for (const xds::server::ProxyStatus& status : statuses) {
    if (out.size() > 1) out += ",";
    out += statusWithReplica(status, replica);
  }
  return out + "]";
}

ReplicaCoordinator::ReplicaCoordinator(etcd::EtcdClient& etcd, ReplicaOptions options,
                                       std::function<void()> on_sidecars_changed,
                                       std::function<std::vector<xds::server::ProxyStatus>()> local_proxies)
    : etcd_(etcd),
      options_(std::move(options)),
      on_sidecars_changed_(std::move(on_sidecars_changed)),
      local_proxies_(std::move(local_proxies)) {}

ReplicaCoordinator::~ReplicaCoordinator() { stop(); }

std::string ReplicaCoordinator::sidecarKey(const std::string& node_id) const {
  return options_.prefix + "sidecars/" + node_id;
}

std::string ReplicaCoordinator::statusPrefix() const { return options_.prefix + "proxies/" + options_.name + "/"; }

base::Status ReplicaCoordinator::start() {
  if (base::Status s = ensureLease(); !s) return s;
  auto existing = etcd_.range(options_.prefix + "sidecars/", true);
  if (!existing) return existing.error();
  {
    std::vector<etcd::WatchEvent> events;
    for (etcd::KeyValue& kv : existing->kvs) events.push_back(etcd::WatchEvent{etcd::WatchEvent::Type::kPut, kv, {}});
    applyEvents(events);
  }
  etcd::WatchHandlers handlers;
  handlers.on_events = [this](const std::vector<etcd::WatchEvent>& events, int64_t) { applyEvents(events); };
  handlers.on_compacted = [this](int64_t) -> int64_t {
    // Missed events: start over from what etcd holds now.
    auto now = etcd_.range(options_.prefix + "sidecars/", true);
    if (!now) return 0;
    std::vector<etcd::WatchEvent> events;
    {
      std::lock_guard<std::mutex> lock(shared_mutex_);
      shared_ = SidecarEndpoints(std::chrono::milliseconds(0));
    }
    for (etcd::KeyValue& kv : now->kvs) events.push_back(etcd::WatchEvent{etcd::WatchEvent::Type::kPut, kv, {}});
    applyEvents(events);
    if (on_sidecars_changed_) on_sidecars_changed_();
    return now->revision;
  };
  handlers.on_error = [this](const std::string& why) {
    ++etcd_errors_;
    spdlog::warn("replica {}: watch of sidecar registrations: {}", options_.name, why);
  };
  watch_ = etcd_.watchPrefix(options_.prefix + "sidecars/", existing->revision + 1, std::move(handlers));
  std::lock_guard<std::mutex> lock(mutex_);
  started_ = true;
  thread_ = std::thread([this] { run(); });
  spdlog::info("replica {}: {} sidecar registrations in etcd {}", options_.name, sidecarCount(), etcd_.endpointsText());
  return base::Status::ok();
}

void ReplicaCoordinator::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  watch_.reset();
  // Registrations stay until the lease runs out: the proxies re-register
  // with another replica first, so their endpoints never blink.
  if (auto removed = etcd_.remove(statusPrefix(), true); !removed) {
    spdlog::warn("replica {}: could not delete its proxy status: {}", options_.name, removed.error().message);
  }
}

void ReplicaCoordinator::connected(const envoy::config::core::v3::Node& node) {
  std::lock_guard<std::mutex> lock(mutex_);
  Owned& owned = owned_[node.id()];
  owned.node_bytes = node.SerializeAsString();
  owned.revision = 0;
  withdrawals_.erase(node.id());
  woken_ = true;
  wake_.notify_all();
}

void ReplicaCoordinator::withdraw(const std::string& node_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = owned_.find(node_id);
  if (it == owned_.end()) return;
  if (it->second.revision != 0) withdrawals_[node_id] = it->second.revision;
  owned_.erase(it);
  woken_ = true;
  wake_.notify_all();
}

void ReplicaCoordinator::run() {
  auto next_status = Clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    const bool pending = syncOnce();
    if (Clock::now() >= next_status) {
      next_status = Clock::now() + options_.sync_interval;
      publishStatus();
    }
    lock.lock();
    // What failed is retried soon; otherwise the next status pass, or a new
    // registration, wakes the thread.
    auto until = pending ? std::min(next_status, Clock::now() + std::chrono::milliseconds(250)) : next_status;
    // Renewals are never late; a failed one is retried after a pause.
    until = std::min(until, std::max(lease_renewed_ + options_.lease_ttl / 3,
                                     Clock::now() + std::chrono::milliseconds(100)));
    wake_.wait_until(lock, until, [&] { return stopping_ || woken_; });
  }
}

base::Status ReplicaCoordinator::ensureLease() {
  const auto now = Clock::now();
  if (lease_ != 0 && now - lease_renewed_ < options_.lease_ttl / 3) return base::Status::ok();
  if (lease_ != 0) {
    base::Status renewed = etcd_.keepAlive(lease_);
    if (renewed) {
      lease_renewed_ = now;
      return renewed;
    }
    if (renewed.error().code != base::Error::kNotFound) return renewed;
    // Expired while etcd was out of reach: every key we wrote under it is
    // gone, so write them all again under a new one.
    spdlog::warn("replica {}: lease {} expired; registering its sidecars again", options_.name, lease_);
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, owned] : owned_) owned.revision = 0;
    published_.clear();
    lease_ = 0;
  }
  auto granted = etcd_.grantLease(options_.lease_ttl);
  if (!granted) return granted.error();
  lease_ = *granted;
  lease_renewed_ = now;
  return base::Status::ok();
}

bool ReplicaCoordinator::syncOnce() {
  base::Status status = ensureLease();
  // The work is copied out so gRPC threads calling connected() never wait
  // on etcd.
  std::vector<std::pair<std::string, std::string>> puts;
  std::map<std::string, int64_t> withdrawals;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, owned] : owned_) {
      if (owned.revision == 0) puts.emplace_back(id, owned.node_bytes);
    }
    withdrawals = withdrawals_;
  }
  std::map<std::string, int64_t> written;
  // In transactions of up to 100 (etcd allows 128 operations in one): a
  // thousand sidecars reconnecting at once are ten writes, not a thousand.
  for (size_t first = 0; status && first < puts.size(); first += 100) {
    std::vector<etcd::TxnOp> ops;
    for (size_t i = first; i < puts.size() && i < first + 100; ++i) {
      ops.push_back(etcd::TxnOp{etcd::TxnOp::Type::kPut, sidecarKey(puts[i].first), puts[i].second, lease_, false});
    }
    auto txn = etcd_.txn({}, ops, {});
    if (!txn) {
      status = txn.error();
      break;
    }
    for (size_t i = first; i < puts.size() && i < first + 100; ++i) written[puts[i].first] = txn->revision;
  }
  std::vector<std::string> withdrawn;
  for (const auto& [id, revision] : withdrawals) {
    if (!status) break;
    // Only while the key is still the one we wrote: a proxy that moved to
    // another replica stays registered there.
    const std::string key = sidecarKey(id);
    auto txn = etcd_.txn(
        {etcd::Compare{key, etcd::Compare::Target::kModRevision, etcd::Compare::Result::kEqual, revision, ""}},
        {etcd::TxnOp{etcd::TxnOp::Type::kDelete, key, "", 0, false}}, {});
    if (!txn) {
      status = txn.error();
      break;
    }
    withdrawn.push_back(id);
  }
  bool pending = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, bytes] : puts) {
      auto it = owned_.find(id);
      auto done = written.find(id);
      if (it != owned_.end() && done != written.end() && it->second.node_bytes == bytes) it->second.revision = done->second;
    }
    for (const std::string& id : withdrawn) {
      auto it = withdrawals_.find(id);
      if (it != withdrawals_.end() && it->second == withdrawals[id]) withdrawals_.erase(it);
    }
    pending = !withdrawals_.empty();
    for (const auto& [id, owned] : owned_) pending = pending || owned.revision == 0;
  }
  if (!status) {
    ++etcd_errors_;
    if (healthy_.exchange(false)) {
      spdlog::error("replica {}: etcd {}: {}; sidecar registrations wait", options_.name, etcd_.endpointsText(),
                    status.message());
    }
  } else if (!healthy_.exchange(true)) {
    spdlog::info("replica {}: etcd {} reachable", options_.name, etcd_.endpointsText());
  }
  return pending;
}

void ReplicaCoordinator::publishStatus() {
  // What changes with every request (last_seen) is not a reason to write:
  // a thousand proxies would be a thousand etcd writes a second. A proxy
  // that came or went is written at the next pass; one whose versions or
  // ACKs changed, at the next full pass (status_interval).
  const auto now = Clock::now();
  const bool full = now >= next_full_status_;
  if (full) next_full_status_ = now + options_.status_interval;
  std::map<std::string, std::pair<std::string, std::string>> current;  // node -> {compared, written}
  for (xds::server::ProxyStatus status : local_proxies_()) {
    std::string written = statusWithReplica(status, options_.name);
    status.last_seen = status.connected_since;
    current[status.node_id] = {statusWithReplica(status, options_.name), std::move(written)};
  }
  const int64_t lease = lease_;
  std::map<std::string, std::string> published;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    published = published_;
  }
  if (lease == 0) return;
  // etcd applies at most 128 operations per transaction.
  constexpr size_t kBatch = 100;
  std::vector<etcd::TxnOp> ops;
  std::vector<std::pair<std::string, std::string>> batch;  // what `ops` makes true
  auto flush = [&]() -> bool {
    if (ops.empty()) return true;
    if (!etcd_.txn({}, ops, {})) return false;  // retried at the next pass
    for (auto& [node, compared] : batch) {
      if (compared.empty()) {
        published.erase(node);
      } else {
        published[node] = std::move(compared);
      }
    }
    ops.clear();
    batch.clear();
    return true;
  };
  bool ok = true;
  for (auto& [node, texts] : current) {
    auto it = published.find(node);
    if (it != published.end() && (it->second == texts.first || !full)) continue;
    ops.push_back(etcd::TxnOp{etcd::TxnOp::Type::kPut, statusPrefix() + node, texts.second, lease, false});
    batch.emplace_back(node, texts.first);
    if (ops.size() >= kBatch && !(ok = flush())) break;
  }
  for (const auto& [node, compared] : published) {
    if (!ok || current.count(node)) continue;
    ops.push_back(etcd::TxnOp{etcd::TxnOp::Type::kDelete, statusPrefix() + node, "", 0, false});
    batch.emplace_back(node, "");
    if (ops.size() >= kBatch && !(ok = flush())) break;
  }
  if (ok) flush();
  std::lock_guard<std::mutex> lock(mutex_);
  published_ = std::move(published);
}

void ReplicaCoordinator::applyEvents(const std::vector<etcd::WatchEvent>& events) {
  const std::string prefix = options_.prefix + "sidecars/";
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(shared_mutex_);
    for (const etcd::WatchEvent& event : events) {
      if (event.kv.key.size() <= prefix.size()) continue;
      const std::string node_id = event.kv.key.substr(prefix.size());
      if (event.type == etcd::WatchEvent::Type::kDelete) {
        changed = shared_.left(node_id) || changed;
        continue;
      }
      envoy::config::core::v3::Node node;
      if (!node.ParseFromString(event.kv.value)) {
        ++etcd_errors_;
        spdlog::error("replica {}: registration {} in etcd is not an xDS Node; ignored", options_.name, event.kv.key);
        continue;
      }
      auto identity = mesh::proxyIdentityFromNode(node);
      if (!identity) {
        ++etcd_errors_;
        spdlog::error("replica {}: registration {}: {}", options_.name, event.kv.key, identity.error().message);
        continue;
      }
      changed = shared_.connected(node_id, *identity) || changed;
    }
  }
  if (changed && on_sidecars_changed_) on_sidecars_changed_();
}

void ReplicaCoordinator::addSidecarsTo(mesh::MeshState& state) const {
  std::lock_guard<std::mutex> lock(shared_mutex_);
  shared_.addTo(state);
}

size_t ReplicaCoordinator::sidecarCount() const {
  std::lock_guard<std::mutex> lock(shared_mutex_);
  return shared_.size();
}

base::Result<std::string> ReplicaCoordinator::proxiesJson() {
  auto statuses = etcd_.range(options_.prefix + "proxies/", true);
  if (!statuses) {
    return base::fail(statuses.error().code, "proxy status from etcd: " + statuses.error().message);
  }
  // This replica's own proxies as they are now; the others' as last
  // published (a new proxy within sync_interval, versions within
  // status_interval).
  std::string out = proxiesJsonWithReplica(local_proxies_(), options_.name);
  out.pop_back();
  for (const etcd::KeyValue& kv : statuses->kvs) {
    if (kv.key.starts_with(statusPrefix())) continue;
    if (out.size() > 1) out += ",";
    out += kv.value;
  }
  return out + "]";
}

void ReplicaCoordinator::appendMetrics(std::string& out) const {
  out += "# HELP remora_cp_etcd_healthy Whether this replica's last etcd write (registrations, lease) worked.\n"
         "# TYPE remora_cp_etcd_healthy gauge\nremora_cp_etcd_healthy " +
         std::to_string(healthy_.load() ? 1 : 0) + "\n";
  out += "# HELP remora_cp_replica_errors_total Failed etcd calls and unreadable registrations of this replica.\n"
         "# TYPE remora_cp_replica_errors_total counter\nremora_cp_replica_errors_total " +
         std::to_string(etcd_errors_.load()) + "\n";
}

}  // namespace remora::cp
