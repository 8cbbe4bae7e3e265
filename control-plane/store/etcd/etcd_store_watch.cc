// EtcdStore's side of its watch: etcd events -> store::Change, delivered to
// the callbacks on the watch thread; the resync after a compaction.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "control-plane/store/etcd/etcd_store.h"
#include "control-plane/store/etcd/etcd_store_codec.h"

namespace remora::cp::store::etcd {

void EtcdStore::startWatch(int64_t after_revision) {
  WatchHandlers handlers;
  handlers.on_events = [this](const std::vector<WatchEvent>& events, int64_t) { onEvents(events); };
  handlers.on_compacted = [this](int64_t compact_revision) { return onCompacted(compact_revision); };
  handlers.on_error = [](const std::string& why) { spdlog::warn("etcd store: watch interrupted, retrying: {}", why); };
  watch_ = client_->watchPrefix(objects_prefix_, after_revision + 1, std::move(handlers));
}

void EtcdStore::onEvents(const std::vector<WatchEvent>& events) {
  std::vector<Change> changes;
  int64_t last = 0;
  for (const WatchEvent& event : events) {
    last = std::max(last, event.kv.mod_revision);
    Change change;
    change.revision = static_cast<uint64_t>(event.kv.mod_revision);
    if (event.type == WatchEvent::Type::kPut) {
      auto object = decodeObject(objects_prefix_, event.kv);
      if (!object) {
        spdlog::warn("etcd store: ignoring a change: {}", object.error().message);
        continue;
      }
      change.type = Change::Type::kPut;
      change.object = *object;
      known_[event.kv.key] = std::move(*object);
    } else {
      change.type = Change::Type::kDelete;
      // The object as it was: etcd's prev_kv, else what we last saw (prev_kv
      // can be missing when the previous revision was compacted).
      const auto known = known_.find(event.kv.key);
      base::Result<StoredObject> previous = base::fail(base::Error::kNotFound, "");
      if (event.prev_kv) previous = decodeObject(objects_prefix_, *event.prev_kv);
      if (previous) {
        change.object = std::move(*previous);
      } else if (known != known_.end()) {
        change.object = known->second;
      } else if (auto key = parseObjectPath(objects_prefix_, event.kv.key)) {
        change.object.key = std::move(*key);
      } else {
        continue;
      }
      if (known != known_.end()) known_.erase(known);
    }
    changes.push_back(std::move(change));
  }
  deliver(changes, last);
}

int64_t EtcdStore::onCompacted(int64_t compact_revision) {
  // The events between what we delivered and the compaction are gone: list
  // everything and hand the callbacks the difference, as if they had seen
  // it happen.
  auto range = client_->range(objects_prefix_, true);
  if (!range) {
    spdlog::warn("etcd store: watch fell behind compaction (revision {}) and re-listing failed: {}", compact_revision,
                 range.error().message);
    return -1;
  }
  spdlog::warn("etcd store: watch fell behind compaction (revision {}); re-listed at revision {}", compact_revision,
               range->revision);
  std::map<std::string, StoredObject> now;
  for (const KeyValue& kv : range->kvs) {
    auto object = decodeObject(objects_prefix_, kv);
    if (object) now.emplace(kv.key, std::move(*object));
  }
  std::vector<Change> puts;
  std::vector<Change> deletes;
  for (const auto& [path, object] : now) {
    const auto known = known_.find(path);
    if (known == known_.end() || known->second.resource_version != object.resource_version) {
      puts.push_back(Change{Change::Type::kPut, object, object.resource_version});
    }
  }
  for (const auto& [path, object] : known_) {
    if (!now.contains(path)) {
      deletes.push_back(Change{Change::Type::kDelete, object, static_cast<uint64_t>(range->revision)});
    }
  }
  std::stable_sort(puts.begin(), puts.end(), [](const Change& a, const Change& b) { return a.revision < b.revision; });
  puts.insert(puts.end(), deletes.begin(), deletes.end());
  known_ = std::move(now);
  deliver(puts, range->revision);
  return range->revision;
}

void EtcdStore::deliver(const std::vector<Change>& changes, int64_t revision) {
  std::vector<WatchCallback> watchers;
  {
    std::lock_guard lock(watchers_mutex_);
    watchers = watchers_;
  }
  for (const Change& change : changes) {
    for (const WatchCallback& watcher : watchers) watcher(change);
  }
  {
    std::lock_guard lock(delivered_mutex_);
    delivered_ = std::max(delivered_, revision);
  }
  delivered_cv_.notify_all();
}

}  // namespace remora::cp::store::etcd
