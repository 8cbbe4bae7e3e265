#include "proxy/upstream/connection_pool.h"

#include "proxy/upstream/active_client.h"

namespace remora::upstream {

ConnectionPool::ConnectionPool(net::Dispatcher& dispatcher, Host& host, Settings settings, PoolCounters& counters)
    : dispatcher_(dispatcher), host_(host), settings_(settings), counters_(counters) {}

ConnectionPool::~ConnectionPool() {
  // Destroying a client closes its connection without callbacks (close()
  // would call back into this pool while it dies); no router holds a stream
  // any more, as the cluster outlives every request using it.
  clients_.clear();
}

uint32_t ConnectionPool::streamsPerConnection() const {
  if (settings_.protocol != http::Protocol::kHttp2) return 1;
  return settings_.codec_limits.max_concurrent_streams == 0 ? 1 : settings_.codec_limits.max_concurrent_streams;
}

bool ConnectionPool::newStream(http::StreamCallbacks& response, PoolCallbacks& callbacks, PendingHandle& handle) {
    if (draining_) {
    callbacks.onPoolFailure(base::Error::kDraining, "upstream pool is draining");
    return false;
  }
  for (auto& client : clients_) {
    if (client->state() == ActiveClient::State::kReady && client->canCreateStream()) {
      client->attach(Pending{&response, &callbacks});
      return false;
    }
  }
  if (pending_.size() >= settings_.max_pending_requests) {
    counters_.overflows.inc();
    callbacks.onPoolFailure(base::Error::kOverflow, "too many requests waiting for an upstream connection");
    return false;
  }
  handle = pending_.insert(pending_.end(), Pending{&response, &callbacks});
  processPending();
  return true;
}

void ConnectionPool::cancel(PendingHandle handle) { pending_.erase(handle); }

void ConnectionPool::processPending() {
  // Hand queued requests to ready connections first, then open as many
  // connections as the queue needs (within max_connections).
  for (auto& client : clients_) {
    while (!pending_.empty() && client->state() == ActiveClient::State::kReady && client->canCreateStream()) {
      Pending p = pending_.front();
      pending_.pop_front();
      client->attach(p);
    }
  }
  while (!pending_.empty() && pending_.size() > static_cast<size_t>(connecting_) * streamsPerConnection()) {
    // At max_connections the requests wait for a stream to end (HTTP/1) or a
    // connection to come up, unless the queue overflows.
    if (clients_.size() >= settings_.max_connections) break;
    openConnection();
  }
}

void ConnectionPool::openConnection() {
  counters_.connections_total.inc();
  counters_.connections_active.add(1);
  ++connecting_;
  clients_.push_back(std::make_unique<ActiveClient>(*this));
}

void ConnectionPool::failPending(base::Error reason, std::string_view detail) {
  std::list<Pending> failed;
  failed.swap(pending_);
  for (Pending& p : failed) p.callbacks->onPoolFailure(reason, detail);
}

void ConnectionPool::onClientClosed(ActiveClient& client) {
  counters_.connections_active.sub(1);
  for (auto it = clients_.begin(); it != clients_.end(); ++it) {
    if (it->get() == &client) {
      dispatcher_.deferredDelete(std::move(*it));
      clients_.erase(it);
      break;
    }
  }
  // A closed connection may leave queued requests without a connection on
  // the way; open another for them.
  if (!pending_.empty()) processPending();
}

void ConnectionPool::drain() {
  draining_ = true;
  // Requests already queued here were admitted: connections on their way
  // keep going and serve them (then close once idle). Every other connection
  // finishes what it carries and closes. Closing a connecting one would fail
  // the queued requests with connect_failed, for nothing but a config change.
  std::list<ActiveClient*> all;
  for (auto& c : clients_) {
    if (c->state() == ActiveClient::State::kConnecting && !pending_.empty()) continue;
    all.push_back(c.get());
  }
  for (ActiveClient* c : all) c->drain();
}

}  // namespace remora::upstream
