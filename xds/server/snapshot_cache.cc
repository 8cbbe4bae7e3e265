#include "xds/server/snapshot_cache.h"

namespace remora::xds::server {

void SnapshotCache::setSnapshot(const std::string& node_id, SnapshotPtr snapshot) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (snapshot) {
    snapshots_[node_id] = std::move(snapshot);
  } else {
    snapshots_.erase(node_id);
  }
  for (auto& [id, w] : watches_) {
    const bool affected = node_id.empty() ? snapshots_.count(w.node_id) == 0 || w.node_id.empty()
                                          : w.node_id == node_id;
    if (!affected) continue;
    SnapshotPtr current = snapshotLocked(w.node_id);
    // A node that lost its snapshot keeps what it has: there is nothing to
    // tell it (an empty snapshot would remove every resource instead).
    if (current) w.callback(current);
  }
}

SnapshotCache::SnapshotPtr SnapshotCache::snapshot(const std::string& node_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return snapshotLocked(node_id);
}

SnapshotCache::SnapshotPtr SnapshotCache::snapshotLocked(const std::string& node_id) const {
  auto it = snapshots_.find(node_id);
  if (it != snapshots_.end()) return it->second;
  it = snapshots_.find("");
  return it == snapshots_.end() ? nullptr : it->second;
}

SnapshotCache::WatchId SnapshotCache::watch(const std::string& node_id, Callback callback) {
  std::lock_guard<std::mutex> lock(mutex_);
  const WatchId id = next_id_++;
  watches_.emplace(id, Watch{node_id, std::move(callback)});
  return id;
}

void SnapshotCache::cancel(WatchId id) {
  std::lock_guard<std::mutex> lock(mutex_);
  watches_.erase(id);
}

size_t SnapshotCache::watchCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return watches_.size();
}

}  // namespace remora::xds::server
