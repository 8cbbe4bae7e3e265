#include "proxy/main/active_listener.h"

#include <variant>

#include <spdlog/spdlog.h>

#include "proxy/http/sniffer.h"
#include "proxy/net/original_destination.h"

namespace remora::server {

using xds::resources::FilterChain;
using xds::resources::HttpConnectionManager;
using xds::resources::TcpProxy;

// Reads the first bytes of a connection until the sniffer can tell the
// protocol, or the listener's timeout passes (a server-first protocol such as
// SMTP or MySQL: the client waits for us, so it is treated as opaque TCP).
class ActiveListener::Sniffer : public net::ConnectionCallbacks, public net::DeferredDeletable {
 public:
  Sniffer(ActiveListener& parent, net::ConnectionPtr connection) : parent_(parent), connection_(std::move(connection)) {
    connection_->setCallbacks(*this);
    timer_ = parent_.dispatcher_.createTimer([this] {
      parent_.router_counters_.sniff_timeouts.inc();
      finish(http::SniffResult::kOpaque);
    });
    timer_->enable(parent_.config().listener_filters_timeout);
  }

  void onData(net::Buffer& data, bool end_stream) override {
    bytes_.move(data);
    http::SniffResult r = http::sniff(bytes_);
    if (r == http::SniffResult::kNeedMoreData && !end_stream) return;
    if (r == http::SniffResult::kNeedMoreData) r = http::SniffResult::kOpaque;
    finish(r);
  }
  void onEvent(net::ConnectionEvent event) override {
    if (event == net::ConnectionEvent::kConnected || done_) return;
    done_ = true;
    timer_->disable();
    parent_.release(*this);
  }

 private:
  void finish(http::SniffResult result) {
    if (done_) return;
    done_ = true;
    timer_->disable();
    // A half-closed client (EOF during sniffing) is handed on as is; the
    // session sees the EOF when it reads.
    parent_.onSniffed(*this, std::move(connection_), bytes_, result == http::SniffResult::kTls,
                      static_cast<int>(result));
  }

  ActiveListener& parent_;
  net::ConnectionPtr connection_;
  net::Buffer bytes_;
  net::TimerPtr timer_;
  bool done_ = false;
};

// Holds a TLS connection until its handshake is done and the peer verified
// (kConnected), so nothing is routed, and no upstream connection made, for a
// peer that fails verification.
class ActiveListener::Handshaker : public net::ConnectionCallbacks, public net::DeferredDeletable {
 public:
  Handshaker(ActiveListener& parent, int index, net::ConnectionPtr connection)
      : parent_(parent), index_(index), connection_(std::move(connection)) {
    connection_->setCallbacks(*this);
  }
  void onData(net::Buffer&, bool) override {}  // not delivered before kConnected
  void onEvent(net::ConnectionEvent event) override {
    if (done_) return;
    done_ = true;
    if (event == net::ConnectionEvent::kConnected) {
      parent_.onHandshaken(*this, index_, std::move(connection_));
      return;
    }
    // The handshake failed (the TLS connection counted why) or the peer left.
    parent_.release(*this);
  }

 private:
  ActiveListener& parent_;
  int index_;
  net::ConnectionPtr connection_;
  bool done_ = false;
};

ActiveListener::ActiveListener(net::Dispatcher& dispatcher, config::ListenerSnapshot snapshot,
                               upstream::ClusterManager& clusters, router::Random& random,
                               observability::WorkerStats& stats, const ProxyFamilies& families,
                               Telemetry* telemetry)
    : dispatcher_(dispatcher), clusters_(clusters), random_(random),
      http_counters_(makeManagerCounters(stats, families, snapshot.config->name)),
      router_counters_(makeRouterCounters(stats, families, snapshot.config->name)),
      tcp_counters_(makeTcpCounters(stats, families, snapshot.config->name)), stats_(stats), families_(families),
      telemetry_(telemetry) {
  current_ = makeChains(std::move(snapshot));
}

namespace {
observability::TrafficDirection directionOf(xds::resources::Listener::Direction direction) {
  switch (direction) {
    case xds::resources::Listener::Direction::kInbound: return observability::TrafficDirection::kInbound;
    case xds::resources::Listener::Direction::kOutbound: return observability::TrafficDirection::kOutbound;
    case xds::resources::Listener::Direction::kUnspecified: break;
  }
  return observability::TrafficDirection::kUnspecified;
}
}  // namespace

std::unique_ptr<RequestObserver> ActiveListener::makeObserver(const xds::resources::Listener& listener,
                                                              const HttpConnectionManager& hcm) {
  std::unique_ptr<tracing::Tracer> tracer;
  std::vector<RequestObserver::AccessLogTarget> logs;
  if (telemetry_ != nullptr) {
    // Telemetry::prepare() made these before the snapshot reached us; a
    // missing one (it failed to start) only turns that feature off here.
    if (hcm.tracing) {
      if (tracing::SpanSink* sink = telemetry_->sinkFor(hcm.tracing->provider)) {
        tracer = std::make_unique<tracing::Tracer>(*hcm.tracing, directionOf(listener.direction), *sink,
                                                   random_.next());
      }
    }
    for (const auto& log : hcm.access_logs) {
      if (observability::AccessLogWriter* writer = telemetry_->writerFor(log.path)) logs.push_back({writer, log.format});
    }
  }
  return std::make_unique<RequestObserver>(stats_, families_, listener.name, std::move(tracer), std::move(logs));
}

std::shared_ptr<ActiveListener::Chains> ActiveListener::makeChains(config::ListenerSnapshot snapshot) {
  auto chains = std::make_shared<Chains>();
  chains->snapshot = std::move(snapshot);
  const auto& l = *chains->snapshot.config;
  chains->matcher = std::make_unique<router::FilterChainMatcher>(l);
  chains->listener_name = l.name;
  const size_t count = l.filter_chains.size() + (l.default_filter_chain ? 1 : 0);
  for (size_t i = 0; i < count; ++i) {
    const FilterChain& chain = i < l.filter_chains.size() ? l.filter_chains[i] : *l.default_filter_chain;
    if (const auto* hcm = std::get_if<HttpConnectionManager>(&chain.filter)) {
      router::HttpSecurity security;
      if (i < chains->snapshot.http_authz.size()) security.authorizer = chains->snapshot.http_authz[i];
      security.forward_client_identity = hcm->forward_client_identity;
      chains->factories.push_back(std::make_unique<router::RouterFilterFactory>(
          chains->snapshot.route_tables[i], clusters_, random_, router_counters_, hcm->websocket_upgrade,
          hcm->connect_upgrade, std::move(security)));
      http::manager::ManagerSettings settings = http::manager::managerSettingsFor(*hcm);
      settings.listener = chains->listener_name;
      settings.direction = directionOf(l.direction);
      settings.observer = chains->observers.emplace_back(makeObserver(l, *hcm)).get();
      chains->manager_settings.push_back(settings);
    } else {
      chains->factories.push_back(nullptr);
      chains->manager_settings.emplace_back();
    }
  }
  return chains;
}

ActiveListener::~ActiveListener() {
  // Sessions own connections on this dispatcher; they go before the listener.
  sessions_.clear();
  unregisterAddress();
}

void ActiveListener::unregisterAddress() {
  if (!registered_address_) return;
  clusters_.localListeners().remove(*registered_address_);
  registered_address_.reset();
}

namespace {
// Equal but for the RBAC filters (an AuthorizationPolicy change).
bool sameButAuthorization(const xds::resources::Listener& a, const xds::resources::Listener& b) {
  xds::resources::Listener x = b;
  auto strip = [](FilterChain& chain) {
    chain.network_rbac.clear();
    if (auto* hcm = std::get_if<HttpConnectionManager>(&chain.filter)) hcm->rbac.clear();
  };
  xds::resources::Listener y = a;
  for (auto* l : {&x, &y}) {
    for (auto& chain : l->filter_chains) strip(chain);
    if (l->default_filter_chain) strip(*l->default_filter_chain);
  }
  return x == y;
}
}  // namespace

void ActiveListener::update(config::ListenerSnapshot snapshot) {
  if (sameButAuthorization(*snapshot.config, *current_->snapshot.config)) {
    // Same listener, new route tables (RDS) or new RBAC filters: swapped
    // under every connection, so the next request (and the next connection)
    // is judged by them; requests in flight keep what they started with.
    for (size_t i = 0; i < current_->factories.size(); ++i) {
      if (!current_->factories[i]) continue;
      if (i < snapshot.route_tables.size() && snapshot.route_tables[i]) {
        current_->factories[i]->setRoutes(snapshot.route_tables[i]);
      }
      const auto& chain = i < snapshot.config->filter_chains.size() ? snapshot.config->filter_chains[i]
                                                                      : *snapshot.config->default_filter_chain;
      router::HttpSecurity security;
      if (i < snapshot.http_authz.size()) security.authorizer = snapshot.http_authz[i];
      security.forward_client_identity = std::get<HttpConnectionManager>(chain.filter).forward_client_identity;
      current_->factories[i]->setSecurity(std::move(security));
    }
    current_->snapshot = std::move(snapshot);
    return;
  }
  current_ = makeChains(std::move(snapshot));
  // Connections on the old chains finish what they are doing and close; new
  // connections (and the clients' retries) land on the new chains.
  std::vector<net::DeferredDeletable*> old;
  for (auto& s : sessions_) {
    if (s.chains != current_) old.push_back(s.object.get());
  }
  for (auto* s : old) {
    if (auto* m = dynamic_cast<http::manager::ConnectionManager*>(s)) m->drain();
  }
}

namespace {
// Members are destroyed in reverse order: the session before its chains.
struct RetiredSession : net::DeferredDeletable {
  std::shared_ptr<void> chains;
  std::unique_ptr<net::DeferredDeletable> object;
};
}  // namespace

const FilterChain& ActiveListener::chainAt(int index) const {
  const auto& l = *current_->snapshot.config;
  if (static_cast<size_t>(index) < l.filter_chains.size()) return l.filter_chains[index];
  return *l.default_filter_chain;
}

base::Status ActiveListener::bind(const net::Address& address) {
  auto bound = net::Listener::bind(dispatcher_, address, *this, /*reuse_port=*/true);
  if (!bound) return bound.error();
  listener_ = std::move(*bound);
  registered_address_ = listener_->localAddress();
  clusters_.localListeners().add(*registered_address_);
  return {};
}

bool ActiveListener::needsSniffing() const {
  const auto& l = *current_->snapshot.config;
  for (const auto& c : l.filter_chains) {
    if (!c.match.transport_protocol.empty() || !c.match.application_protocols.empty()) return true;
  }
  // Without chain matches only an HTTP manager in AUTO mode needs the first
  // bytes (to tell HTTP/2 from HTTP/1); it reads them itself.
  return false;
}

void ActiveListener::onAccept(net::ConnectionPtr connection) {
  if (draining_) {
    connection->close(net::CloseType::kNoFlush);
    dispatcher_.deferredDelete(std::move(connection));
    return;
  }
  connection->setBufferLimits(current_->snapshot.config->per_connection_buffer_limit_bytes);
  if (current_->snapshot.config->original_dst) restoreOriginalDestination(*connection);
  if (needsSniffing()) {
    auto sniffer = std::make_unique<Sniffer>(*this, std::move(connection));
    sessions_.push_back({std::move(sniffer), current_});
    return;
  }
  net::Buffer none;
  const int index = chooseChain(false, static_cast<int>(http::SniffResult::kNeedMoreData), connection->localAddress());
  startChain(index, std::move(connection), none, static_cast<int>(http::SniffResult::kNeedMoreData));
}

void ActiveListener::restoreOriginalDestination(net::Connection& connection) {
  const bool restored = net::restoreOriginalDestination(connection);
  observability::Counter& counter = restored ? original_dst_restored_ : original_dst_not_redirected_;
  if (!counter.enabled()) {
    counter = stats_.counter(families_.listener_original_dst, {name(), restored ? "restored" : "not_redirected"});
  }
  counter.inc();
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("listener '{}': connection {} from {} {} {}", name(), connection.id(),
                  connection.remoteAddress().toString(), restored ? "was headed to" : "was not redirected; local",
                  connection.localAddress().toString());
  }
}

int ActiveListener::chooseChain(bool tls, int sniffed, const net::Address& destination) const {
  const auto result = static_cast<http::SniffResult>(sniffed);
  std::string_view app;
  if (result == http::SniffResult::kHttp1) app = "http/1.1";
  if (result == http::SniffResult::kHttp2) app = "h2c";
  return current_->matcher->choose(router::ConnectionFacts{destination, tls ? "tls" : "raw_buffer", app});
}

void ActiveListener::onSniffed(net::DeferredDeletable& sniffer, net::ConnectionPtr connection, net::Buffer& initial,
                               bool tls, int sniffed) {
  const int index = chooseChain(tls, sniffed, connection->localAddress());
  startChain(index, std::move(connection), initial, sniffed);
  release(sniffer);
}

tls::HandshakeObserver* ActiveListener::tlsObserver() {
  if (!tls_observer_) {
    tls_observer_ = std::make_unique<upstream::TlsObserver>(
        makeListenerTlsCounters(stats_, families_, current_->snapshot.config->name));
  }
  return tls_observer_.get();
}

void ActiveListener::startChain(int index, net::ConnectionPtr connection, net::Buffer& initial, int sniffed) {
  if (index < 0) {
    router_counters_.no_filter_chain.inc();
    connection->close(net::CloseType::kNoFlush);
    dispatcher_.deferredDelete(std::move(connection));
    return;
  }
  const auto& chain_tls = current_->snapshot.chain_tls;
  const upstream::TlsSettings* tls =
      static_cast<size_t>(index) < chain_tls.size() ? chain_tls[index].get() : nullptr;
  if (tls == nullptr) {
    if (!authorizeConnection(index, *connection)) {
      dispatcher_.deferredDelete(std::move(connection));
      return;
    }
    startFilters(index, std::move(connection), initial, sniffed);
    return;
  }
  std::shared_ptr<const tls::TlsContext> context = tls->slot ? tls->slot->current() : nullptr;
  if (!context) {
    // No certificate yet (the identity or the trust bundle has not arrived):
    // refuse rather than serve without the security the chain asks for.
    tlsObserver()->onHandshakeFailed(tls::HandshakeFailure::kProtocol, "no certificate yet: " + tls->waiting_for);
    connection->close(net::CloseType::kNoFlush);
    dispatcher_.deferredDelete(std::move(connection));
    return;
  }
  tls::TlsConnection::ServerOptions options;
  options.validation = tls->validation;
  auto secure = tls::TlsConnection::server(std::move(context), std::move(connection), initial, std::move(options),
                                           tlsObserver());
  auto handshaker = std::make_unique<Handshaker>(*this, index, std::move(secure));
  sessions_.push_back({std::move(handshaker), current_});
}

void ActiveListener::onHandshaken(net::DeferredDeletable& handshaker, int index, net::ConnectionPtr connection) {
  if (authorizeConnection(index, *connection)) {
    // The protocol comes from ALPN; without it, the manager detects it from
    // the first bytes (kNeedMoreData).
    int sniffed = static_cast<int>(http::SniffResult::kNeedMoreData);
    if (connection->nextProtocol() == "h2") sniffed = static_cast<int>(http::SniffResult::kHttp2);
    if (connection->nextProtocol() == "http/1.1") sniffed = static_cast<int>(http::SniffResult::kHttp1);
    net::Buffer none;
    startFilters(index, std::move(connection), none, sniffed);
  } else {
    dispatcher_.deferredDelete(std::move(connection));
  }
  release(handshaker);
}

bool ActiveListener::authorizeConnection(int index, net::Connection& connection) {
  const auto& authz = current_->snapshot.network_authz;
  const security::Authorizer* a = static_cast<size_t>(index) < authz.size() ? authz[index].get() : nullptr;
  if (a == nullptr || a->empty()) return true;
  const security::Decision decision = a->evaluate(
      security::RequestFacts{connection.peerIdentity(), connection.localAddress().port(), {}, {}, nullptr});
  if (decision.allowed) return true;
  if (router_counters_.on_denied) router_counters_.on_denied(connection.peerIdentity(), decision.policy);
  // Closed before any upstream connection is made; the caller frees it.
  connection.close(net::CloseType::kNoFlush);
  return false;
}

void ActiveListener::startFilters(int index, net::ConnectionPtr connection, net::Buffer& initial, int sniffed) {
  if (connection->state() == net::Connection::State::kClosed) {
    dispatcher_.deferredDelete(std::move(connection));
    return;
  }
  const FilterChain& chain = chainAt(index);
  if (const auto* hcm = std::get_if<HttpConnectionManager>(&chain.filter)) {
    http::Protocol protocol = http::Protocol::kHttp11;
    if (hcm->codec_type == HttpConnectionManager::CodecType::kHttp2) protocol = http::Protocol::kHttp2;
    if (hcm->codec_type == HttpConnectionManager::CodecType::kAuto &&
        static_cast<http::SniffResult>(sniffed) == http::SniffResult::kHttp2) {
      protocol = http::Protocol::kHttp2;
    }
    const bool auto_detect = hcm->codec_type == HttpConnectionManager::CodecType::kAuto &&
                             static_cast<http::SniffResult>(sniffed) == http::SniffResult::kNeedMoreData;
    auto session = std::make_unique<http::manager::ConnectionManager>(
        std::move(connection), protocol, auto_detect, current_->manager_settings[index], *current_->factories[index],
        http_counters_, *this);
    auto* raw = session.get();
    sessions_.push_back({std::move(session), current_});
    raw->start(initial);
    return;
  }
  const auto& tcp = std::get<TcpProxy>(chain.filter);
  auto session = std::make_unique<router::TcpProxySession>(std::move(connection), clusters_.get(tcp.cluster),
                                                           tcp.idle_timeout, tcp_counters_, *this);
  auto* raw = session.get();
  sessions_.push_back({std::move(session), current_});
  raw->start(initial);
}

void ActiveListener::release(net::DeferredDeletable& session) {
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->object.get() == &session) {
      // The session may still be on the stack, using its chains: both go to
      // the deferred-delete queue together, the session destroyed first.
      // (One small allocation per closed connection; deciding from the use
      // count instead would race with a config swap in the same iteration.)
      auto retired = std::make_unique<RetiredSession>();
      retired->chains = std::move(it->chains);
      retired->object = std::move(it->object);
      dispatcher_.deferredDelete(std::move(retired));
      sessions_.erase(it);
      return;
    }
  }
}

void ActiveListener::drain() {
  draining_ = true;
  // Closing the socket (rather than pausing accept) makes new connections
  // fail fast with ECONNREFUSED, so callers retry elsewhere at once.
  listener_.reset();
  unregisterAddress();
  std::vector<net::DeferredDeletable*> all;
  for (auto& s : sessions_) all.push_back(s.object.get());
  for (auto* s : all) {
    if (auto* m = dynamic_cast<http::manager::ConnectionManager*>(s)) m->drain();
  }
}

}  // namespace remora::server
