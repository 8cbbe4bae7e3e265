// SnapshotCache: the snapshot each proxy (by node id) should hold, and the
// watches of open ADS streams that want to hear when it changes. The control
// plane's builder calls setSnapshot(); gRPC's threads call snapshot(),
// watch() and cancel(). Thread-safe (one mutex).
//
// A snapshot set for the node id "" is the default: every node without a
// snapshot of its own gets it (a small control plane, the test server).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "xds/server/resource_snapshot.h"

namespace remora::xds::server {

class SnapshotCache {
 public:
  using SnapshotPtr = std::shared_ptr<const ResourceSnapshot>;
  // Runs with the cache's lock held, on the thread that called setSnapshot():
  // it must be quick (store and signal) and must not call back into the cache.
  // In exchange, once cancel() returns the callback never runs again.
  using Callback = std::function<void(const SnapshotPtr&)>;
  using WatchId = uint64_t;

  // Replaces the node's snapshot (nullptr removes it) and notifies the
  // watches of that node, or for "" of every node without its own snapshot.
  void setSnapshot(const std::string& node_id, SnapshotPtr snapshot);
  // The node's snapshot, else the default one, else nullptr.
  SnapshotPtr snapshot(const std::string& node_id) const;

  WatchId watch(const std::string& node_id, Callback callback);
  void cancel(WatchId id);
  size_t watchCount() const;

 private:
  SnapshotPtr snapshotLocked(const std::string& node_id) const;

  struct Watch {
    std::string node_id;
    Callback callback;
  };

  mutable std::mutex mutex_;
  std::map<std::string, SnapshotPtr> snapshots_;
  std::map<WatchId, Watch> watches_;
  WatchId next_id_ = 1;
};

}  // namespace remora::xds::server
