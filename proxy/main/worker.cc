#include "proxy/main/worker.h"

#include <algorithm>
#include <chrono>

namespace remora::server {

Worker::Worker(net::Dispatcher& dispatcher, uint32_t index, observability::WorkerStats& stats,
               const ProxyFamilies& families, Telemetry* telemetry)
    : dispatcher_(dispatcher), index_(index),
      random_(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^ (index + 1)),
      stats_(stats), families_(families), telemetry_(telemetry) {}

Worker::~Worker() { shutdown(); }

void Worker::shutdown() {
  // Connections (in listeners) use pools (in clusters): listeners go first.
  drain_poll_.reset();
  sweep_timer_.reset();
  outcome_flush_.reset();
  listeners_.clear();
  retired_.clear();
  clusters_.reset();
}

base::Status Worker::apply(std::shared_ptr<const config::Snapshot> snapshot, const ListenerAddresses& addresses) {
  snapshot_ = std::move(snapshot);
  if (!clusters_) {
    clusters_ = std::make_unique<upstream::ClusterManager>(
        dispatcher_, [this](const std::string& cluster) { return makeClusterCounters(stats_, families_, cluster); },
        [this](const std::string& cluster) { return makeClusterTlsCounters(stats_, families_, cluster); });
  }
  clusters_->update(snapshot_->clusters, snapshot_->cluster_tls);
  if (reporter_) clusters_->setOutcomeSink(this);

  base::Status first_error;
  std::vector<std::unique_ptr<ActiveListener>> next;
  for (const auto& ls : snapshot_->listeners) {
    const std::string& name = ls.config->name;
    auto where = addresses.find(name);
    if (where == addresses.end()) continue;  // the main thread refused it
    auto old = std::find_if(listeners_.begin(), listeners_.end(),
                            [&](const auto& l) { return l && l->name() == name; });
    if (old != listeners_.end() && (*old)->localAddress() == where->second) {
      (*old)->update(ls);
      next.push_back(std::move(*old));
      continue;
    }
    auto listener = std::make_unique<ActiveListener>(dispatcher_, ls, *clusters_, random_, stats_, families_, telemetry_);
    if (auto s = listener->bind(where->second); !s) {
      if (first_error) first_error = base::fail(s.code(), "listener '" + name + "': " + s.message());
      continue;
    }
    next.push_back(std::move(listener));
  }
  for (auto& l : listeners_) {
    if (l) retire(std::move(l));
  }
  listeners_ = std::move(next);
  if (!sweep_timer_) {
    sweep_timer_ = dispatcher_.createTimer([this] {
      sweep();
      sweep_timer_->enable(std::chrono::seconds(1));
    });
    sweep_timer_->enable(std::chrono::seconds(1));
  }
  return first_error;
}

void Worker::record(const upstream::Cluster& cluster, const upstream::Host& host, upstream::HostOutcome outcome) {
  outcomes_.push_back(OutcomeRecord{cluster.configPtr(), host.address(), outcome});
  if (!outcome_flush_) outcome_flush_ = dispatcher_.createTimer([this] { flushOutcomes(); });
  // Consecutive-failure ejection waits for this batch: a few ms, not an interval.
  if (!outcome_flush_->enabled()) outcome_flush_->enable(std::chrono::milliseconds(5));
}

void Worker::flushOutcomes() {
  if (outcomes_.empty() || !reporter_) return;
  std::vector<OutcomeRecord> batch;
  batch.swap(outcomes_);
  outcomes_.reserve(batch.size());
  reporter_(std::move(batch));
}

void Worker::setHostFlag(const std::string& cluster, const std::string& address, upstream::HostHealthFlag flag,
                         bool set) {
  if (clusters_) clusters_->setHostFlag(cluster, address, flag, set);
}

void Worker::retire(std::unique_ptr<ActiveListener> listener) {
  listener->drain();
  retired_.push_back(std::move(listener));
}

void Worker::sweep() {
  retired_.erase(std::remove_if(retired_.begin(), retired_.end(), [](const auto& l) { return l->sessionCount() == 0; }),
                 retired_.end());
  if (clusters_) clusters_->sweep();
}

bool Worker::keptServing(const ActiveListener& listener) const {
  return keep_outbound_ && listener.config().direction == xds::resources::Listener::Direction::kOutbound;
}

size_t Worker::drainingSessionCount() const {
  size_t n = 0;
  for (const auto& l : listeners_) {
    if (!keptServing(*l)) n += l->sessionCount();
  }
  for (const auto& l : retired_) n += l->sessionCount();
  return n;
}

void Worker::drain(std::function<void()> on_drained, bool keep_outbound) {
  keep_outbound_ = keep_outbound;
  for (auto& l : listeners_) {
    if (!keptServing(*l)) l->drain();
  }
  // Sessions end on their own (responses finish, drain timeouts fire); look
  // every 50 ms instead of threading a callback through every session.
  drain_poll_ = dispatcher_.createTimer([this, on_drained = std::move(on_drained)] {
    if (drainingSessionCount() == 0) {
      on_drained();
      return;
    }
    drain_poll_->enable(std::chrono::milliseconds(50));
  });
  drain_poll_->enable(std::chrono::milliseconds(0));
}

HostHealth::ActiveRequests Worker::activeRequests() const {
  HostHealth::ActiveRequests out;
  if (!clusters_) return out;
  for (const auto& [name, cluster] : clusters_->clusters()) {
    auto& hosts = out[name];
    for (const auto& host : cluster->hosts()) hosts[host->name()] += host->activeRequests();
  }
  return out;
}

}  // namespace remora::server
