#include "proxy/main/worker.h"

#include <chrono>

namespace remora::server {

Worker::Worker(net::Dispatcher& dispatcher, uint32_t index, observability::WorkerStats& stats,
               const ProxyFamilies& families)
    : dispatcher_(dispatcher), index_(index),
      random_(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^ (index + 1)),
      stats_(stats), families_(families) {}

Worker::~Worker() { shutdown(); }

void Worker::shutdown() {
  // Connections (in listeners) use pools (in clusters): listeners go first.
  drain_poll_.reset();
  listeners_.clear();
  clusters_.reset();
}

base::Status Worker::initialize(std::shared_ptr<const config::Snapshot> snapshot,
                                std::vector<net::Address>& addresses) {
  snapshot_ = std::move(snapshot);
  clusters_ = std::make_unique<upstream::ClusterManager>(
      dispatcher_, [this](const std::string& cluster) { return makeClusterCounters(stats_, families_, cluster); });
  clusters_->update(snapshot_->clusters);
  const bool first = addresses.empty();
  for (size_t i = 0; i < snapshot_->listeners.size(); ++i) {
    const auto& ls = snapshot_->listeners[i];
    net::Address address;
    if (first) {
      auto parsed = net::Address::fromIpPort(ls.config->address.address, static_cast<uint16_t>(ls.config->address.port));
      if (!parsed) return base::fail(parsed.error().code, "listener '" + ls.config->name + "': " + parsed.error().message);
      address = *parsed;
    } else {
      address = addresses[i];
    }
    auto listener = std::make_unique<ActiveListener>(dispatcher_, ls, *clusters_, random_, stats_, families_);
    if (auto s = listener->bind(address); !s) {
      return base::fail(s.code(), "listener '" + ls.config->name + "': " + s.message());
    }
    if (first) addresses.push_back(listener->localAddress());
    listeners_.push_back(std::move(listener));
  }
  return {};
}

size_t Worker::sessionCount() const {
  size_t n = 0;
  for (const auto& l : listeners_) n += l->sessionCount();
  return n;
}

void Worker::drain(std::function<void()> on_drained) {
  for (auto& l : listeners_) l->drain();
  // Sessions end on their own (responses finish, drain timeouts fire); look
  // every 50 ms instead of threading a callback through every session.
  drain_poll_ = dispatcher_.createTimer([this, on_drained = std::move(on_drained)] {
    if (sessionCount() == 0) {
      on_drained();
      return;
    }
    drain_poll_->enable(std::chrono::milliseconds(50));
  });
  drain_poll_->enable(std::chrono::milliseconds(0));
}

}  // namespace remora::server
