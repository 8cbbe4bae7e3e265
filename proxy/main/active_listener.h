// ActiveListener: one configured listener on one worker. It accepts
// connections, sniffs their first bytes when the listener's filter chains
// depend on the protocol (HTTP/2 preface, HTTP/1 request line, TLS
// ClientHello, or opaque bytes), picks the filter chain, and hands the
// connection to an HTTP connection manager or a TCP proxy session, which it
// then owns until they close.
//
// A new config for the same listener (same name and address) is applied in
// place, without closing the socket, so no connection is refused or lost in
// the switch:
//   - only the route tables changed (RDS): every connection, old and new, routes
//     its next request by the new tables; requests in flight keep theirs;
//   - anything else changed: new connections get the new filter chains, and
//     connections on the old ones drain (GOAWAY / Connection: close). Each
//     session holds its generation of chains, which lives until its last
//     session ends.
//
// Worker-local.
#pragma once

#include <list>
#include <memory>
#include <vector>

#include "proxy/config/snapshot.h"
#include "proxy/http/manager/connection_manager.h"
#include "proxy/main/proxy_stats.h"
#include "proxy/main/request_observer.h"
#include "proxy/main/telemetry.h"
#include "proxy/net/listener.h"
#include "proxy/router/filter_chain_matcher.h"
#include "proxy/router/router_filter.h"
#include "proxy/router/tcp_proxy.h"
#include "proxy/upstream/cluster_manager.h"

namespace remora::server {

class ActiveListener : public net::ListenerCallbacks, public net::ConnectionOwner {
 public:
  ActiveListener(net::Dispatcher& dispatcher, config::ListenerSnapshot snapshot, upstream::ClusterManager& clusters,
                 router::Random& random, observability::WorkerStats& stats, const ProxyFamilies& families,
                 Telemetry* telemetry = nullptr);
  ~ActiveListener() override;

  // A new config for this listener (same name and address); see above.
  void update(config::ListenerSnapshot snapshot);

  // Binds to `address` (port 0 on the first worker; the resolved port on the others).
  base::Status bind(const net::Address& address);
  const net::Address& localAddress() const { return listener_->localAddress(); }
  const std::string& name() const { return current_->snapshot.config->name; }
  const xds::resources::Listener& config() const { return *current_->snapshot.config; }

  // Stops accepting and drains every HTTP connection (GOAWAY / Connection: close).
  void drain();
  size_t sessionCount() const { return sessions_.size(); }

  // net::ListenerCallbacks
  void onAccept(net::ConnectionPtr connection) override;
  // net::ConnectionOwner
  void release(net::DeferredDeletable& session) override;

  // Called by a sniffing session once the chain is known (or the timeout hit).
  void onSniffed(net::DeferredDeletable& sniffer, net::ConnectionPtr connection, net::Buffer& initial,
                 bool tls, int sniffed_protocol);
  // Called by a TLS handshake session once the peer is verified: the network
  // RBAC filters judge it, then the chain's filters start over TLS.
  void onHandshaken(net::DeferredDeletable& handshaker, int index, net::ConnectionPtr connection);

 private:
  class Sniffer;
  class Handshaker;
  // One generation of this listener's config: the chains and what serves them.
  struct Chains {
    config::ListenerSnapshot snapshot;
    std::unique_ptr<router::FilterChainMatcher> matcher;
    // Per chain: the HTTP stream handler factory (router), or null for TCP.
    std::vector<std::unique_ptr<router::RouterFilterFactory>> factories;
    std::vector<http::manager::ManagerSettings> manager_settings;
    // Per HTTP chain: metrics, tracing and access logs around each request.
    std::vector<std::unique_ptr<RequestObserver>> observers;
    // The managers' settings point here: it stays put when update() swaps
    // `snapshot` in place.
    std::string listener_name;
  };
  struct Session {
    std::unique_ptr<net::DeferredDeletable> object;
    std::shared_ptr<Chains> chains;  // keeps the generation it was started on
  };
  std::shared_ptr<Chains> makeChains(config::ListenerSnapshot snapshot);
  std::unique_ptr<RequestObserver> makeObserver(const xds::resources::Listener& listener,
                                                const xds::resources::HttpConnectionManager& hcm);
  // -1 when no chain matches. `destination`: the connection's local address,
  // its original destination once the original_dst filter restored it.
  int chooseChain(bool tls, int sniffed_protocol, const net::Address& destination) const;
  // The original_dst listener filter: the connection's local address becomes
  // its original destination (counted either way).
  void restoreOriginalDestination(net::Connection& connection);
  // Stops counting this listener's address as one of ours (loop detection).
  void unregisterAddress();
  bool needsSniffing() const;
  void startChain(int index, net::ConnectionPtr connection, net::Buffer& initial, int sniffed_protocol);
  // Starts the chain's filters once transport security and network RBAC passed.
  void startFilters(int index, net::ConnectionPtr connection, net::Buffer& initial, int sniffed_protocol);
  // False when a network RBAC filter refuses the connection: it is then
  // closed and counted, and the caller hands it to deferred deletion.
  bool authorizeConnection(int index, net::Connection& connection);
  tls::HandshakeObserver* tlsObserver();
  const xds::resources::FilterChain& chainAt(int index) const;

  net::Dispatcher& dispatcher_;
  upstream::ClusterManager& clusters_;
  router::Random& random_;
  http::manager::ManagerCounters http_counters_;
  router::RouterCounters router_counters_;
  router::TcpProxyCounters tcp_counters_;
  observability::WorkerStats& stats_;
  const ProxyFamilies& families_;
  Telemetry* telemetry_;
  std::unique_ptr<upstream::TlsObserver> tls_observer_;  // made with the first TLS chain
  // remora_listener_original_dst_total by result, made on first use.
  observability::Counter original_dst_restored_;
  observability::Counter original_dst_not_redirected_;
  // The address registered in clusters_.localListeners() while bound.
  std::optional<net::Address> registered_address_;
  net::ListenerPtr listener_;
  std::shared_ptr<Chains> current_;
  std::list<Session> sessions_;
  bool draining_ = false;
};

}  // namespace remora::server
