// LoadState: what the simulated proxies report to the load driver. Each
// stream writes its own ProxyRecord from gRPC's callback threads; the driver
// (main thread) polls the records and publishes the current write to watch
// for. Everything crossing threads here is an atomic or guarded by a mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace remora::bench {

// Nanoseconds on the steady clock: the one time base for every figure.
inline int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The endpoint address that write `index` introduced; a proxy has "seen"
// the write once a ClusterLoadAssignment it received carries the address.
struct WriteWatch {
  int index = 0;
  std::string address;
};

// Bits of ProxyRecord::stages.
inline constexpr unsigned kStageListeners = 1;  // a Listener response arrived
inline constexpr unsigned kStageClusters = 2;   // a Cluster response arrived
inline constexpr unsigned kStageRoutes = 4;     // every subscribed route configuration held
inline constexpr unsigned kStageEndpoints = 8;  // every subscribed assignment held

// Index into ProxyRecord::type_bytes for a type URL; -1 for another type.
inline int typeIndex(const std::string& type_url) {
  static const char* const kTypes[4] = {"type.googleapis.com/envoy.config.listener.v3.Listener",
                                        "type.googleapis.com/envoy.config.cluster.v3.Cluster",
                                        "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
                                        "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"};
  for (int i = 0; i < 4; ++i) {
    if (type_url == kTypes[i]) return i;
  }
  return -1;
}

struct ProxyRecord {
  explicit ProxyRecord(int writes) : seen_ns(static_cast<size_t>(writes)) {}
  // When the initial config was complete (every type answered, every
  // subscribed route configuration and assignment held); 0 = not yet.
  std::atomic<int64_t> synced_ns{0};
  std::atomic<uint64_t> bytes{0};       // serialized size of every response
  std::atomic<uint64_t> responses{0};
  std::atomic<uint64_t> max_response_bytes{0};
  // Bytes by type, in kStage* bit order: listeners, clusters, routes, assignments.
  std::atomic<uint64_t> type_bytes[4] = {0, 0, 0, 0};
  std::vector<std::atomic<int64_t>> seen_ns;  // per write; 0 = not yet
  std::atomic<bool> ended{false};             // the stream is over (see LoadState::error)
  // Progress towards synced_ns, for a summary that says where sync stalls:
  // a bit per kStage*.
  std::atomic<unsigned> stages{0};
};

class LoadState {
 public:
  LoadState(int proxies, int writes) {
    records_.reserve(static_cast<size_t>(proxies));
    for (int i = 0; i < proxies; ++i) records_.push_back(std::make_unique<ProxyRecord>(writes));
  }

  ProxyRecord& proxy(int index) { return *records_[static_cast<size_t>(index)]; }
  const ProxyRecord& proxy(int index) const { return *records_[static_cast<size_t>(index)]; }
  int proxies() const { return static_cast<int>(records_.size()); }

  void setWatch(std::shared_ptr<const WriteWatch> watch) {
    std::lock_guard lock(mutex_);
    watch_ = std::move(watch);
  }
  std::shared_ptr<const WriteWatch> watch() const {
    std::lock_guard lock(mutex_);
    return watch_;
  }

  // A stream ended; the first few reasons are kept for the summary.
  void streamEnded(int index, const std::string& reason) {
    std::lock_guard lock(mutex_);
    proxy(index).ended = true;
    ++ended_;
    if (errors_.size() < 5 && !reason.empty()) errors_.push_back("load-" + std::to_string(index) + ": " + reason);
    ended_cv_.notify_all();
  }
  // Waits until `count` streams have ended or the deadline passed.
  bool waitEnded(int count, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return ended_cv_.wait_until(lock, deadline, [&] { return ended_ >= count; });
  }
  int ended() const {
    std::lock_guard lock(mutex_);
    return ended_;
  }
  std::vector<std::string> errors() const {
    std::lock_guard lock(mutex_);
    return errors_;
  }

 private:
  std::vector<std::unique_ptr<ProxyRecord>> records_;
  mutable std::mutex mutex_;
  std::shared_ptr<const WriteWatch> watch_;
  std::condition_variable ended_cv_;
  int ended_ = 0;
  std::vector<std::string> errors_;
};

}  // namespace remora::bench
