// TcpProxySession: relays an opaque byte stream between a downstream
// connection and a host of the listener's cluster, with half-close in both
// directions (a client that shuts down its write side still gets the rest of
// the reply) and back-pressure (a slow reader pauses the other side).
//
// Worker-local; owned by the listener that accepted the connection.
#pragma once

#include <chrono>
#include <memory>

#include "proxy/net/connection.h"
#include "proxy/observability/metric.h"
#include "proxy/upstream/cluster_manager.h"

namespace remora::router {

// Metric handles of a listener's TCP proxy (worker-local; merged on scrape).
struct TcpProxyCounters {
  observability::Counter connections_total;
  observability::Gauge connections_active;
  observability::Counter connect_failures;
  observability::Counter no_upstream;
  observability::Counter idle_timeouts;
  observability::Counter bytes_sent_upstream;
  observability::Counter bytes_sent_downstream;
};

class TcpProxySession : public net::DeferredDeletable {
 public:
  TcpProxySession(net::ConnectionPtr downstream, upstream::Cluster* cluster, std::chrono::milliseconds idle_timeout,
                  TcpProxyCounters& counters, net::ConnectionOwner& owner);
  ~TcpProxySession() override;

  // Starts connecting upstream; `initial` holds bytes read while sniffing.
  void start(net::Buffer& initial);

 private:
  // One side's callbacks; forwards to the session with which side it is.
  class Side : public net::ConnectionCallbacks {
   public:
    Side(TcpProxySession& session, bool downstream) : session_(session), downstream_(downstream) {}
    void onData(net::Buffer& data, bool end_stream) override { session_.onData(downstream_, data, end_stream); }
    void onEvent(net::ConnectionEvent event) override { session_.onEvent(downstream_, event); }
    void onAboveWriteBufferHighWatermark() override { session_.onWatermark(downstream_, true); }
    void onBelowWriteBufferLowWatermark() override { session_.onWatermark(downstream_, false); }

   private:
    TcpProxySession& session_;
    bool downstream_;
  };

  void onData(bool from_downstream, net::Buffer& data, bool end_stream);
  void onEvent(bool downstream, net::ConnectionEvent event);
  void onWatermark(bool downstream, bool above);
  void closeBoth(net::CloseType type);
  void touch();

  net::ConnectionPtr downstream_;
  net::ConnectionPtr upstream_;
  Side downstream_side_{*this, true};
  Side upstream_side_{*this, false};
  upstream::Cluster* cluster_;
  upstream::Host* host_ = nullptr;
  std::chrono::milliseconds idle_timeout_;
  TcpProxyCounters& counters_;
  net::ConnectionOwner& owner_;
  net::Buffer early_data_;  // downstream bytes that arrive before the upstream connects
  net::TimerPtr connect_timer_;
  net::TimerPtr idle_timer_;
  bool upstream_connected_ = false;
  bool downstream_eof_ = false;
  bool upstream_eof_ = false;
  bool released_ = false;
};

}  // namespace remora::router
