// ActiveListener: one configured listener on one worker. It accepts
// connections, sniffs their first bytes when the listener's filter chains
// depend on the protocol (HTTP/2 preface, HTTP/1 request line, TLS
// ClientHello, or opaque bytes), picks the filter chain, and hands the
// connection to an HTTP connection manager or a TCP proxy session, which it
// then owns until they close.
//
// Worker-local.
#pragma once

#include <list>
#include <memory>
#include <vector>

#include "proxy/config/snapshot.h"
#include "proxy/http/manager/connection_manager.h"
#include "proxy/main/proxy_stats.h"
#include "proxy/net/listener.h"
#include "proxy/router/router_filter.h"
#include "proxy/router/tcp_proxy.h"
#include "proxy/upstream/cluster_manager.h"

namespace remora::server {

class ActiveListener : public net::ListenerCallbacks, public net::ConnectionOwner {
 public:
  ActiveListener(net::Dispatcher& dispatcher, config::ListenerSnapshot snapshot, upstream::ClusterManager& clusters,
                 router::Random& random, observability::WorkerStats& stats, const ProxyFamilies& families);
  ~ActiveListener() override;

  // Binds to `address` (port 0 on the first worker; the resolved port on the others).
  base::Status bind(const net::Address& address);
  const net::Address& localAddress() const { return listener_->localAddress(); }
  const std::string& name() const { return snapshot_.config->name; }

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

 private:
  class Sniffer;
  // -1 when no chain matches.
  int chooseChain(bool tls, int sniffed_protocol) const;
  bool needsSniffing() const;
  void startChain(int index, net::ConnectionPtr connection, net::Buffer& initial, int sniffed_protocol);
  const xds::resources::FilterChain& chainAt(int index) const;

  net::Dispatcher& dispatcher_;
  config::ListenerSnapshot snapshot_;
  upstream::ClusterManager& clusters_;
  http::manager::ManagerCounters http_counters_;
  router::RouterCounters router_counters_;
  router::TcpProxyCounters tcp_counters_;
  net::ListenerPtr listener_;
  // Per chain: the HTTP stream handler factory (router), or null for TCP.
  std::vector<std::unique_ptr<router::RouterFilterFactory>> factories_;
  std::vector<http::manager::ManagerSettings> manager_settings_;
  std::list<std::unique_ptr<net::DeferredDeletable>> sessions_;
  bool draining_ = false;
};

}  // namespace remora::server
