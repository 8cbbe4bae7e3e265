// ConnectionPool: upstream connections to one host, for one HTTP version.
// HTTP/1.1 connections carry one request at a time and are kept alive for
// reuse; HTTP/2 connections multiplex up to the peer's max concurrent streams.
// The pool opens connections on demand within the cluster's circuit-breaker
// limits, queues requests while connecting, and closes idle connections.
//
// Worker-local: owned by the worker's Cluster; every connection, timer and
// stream it hands out lives on that worker's dispatcher.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string_view>

#include "proxy/http/codec.h"
#include "proxy/net/connection.h"
#include "proxy/net/dispatcher.h"
#include "proxy/observability/metric.h"
#include "proxy/upstream/host.h"
#include "xds/base/error.h"

namespace remora::upstream {

class ActiveClient;

// The router's side of a pool request. Exactly one of the two is called, once,
// unless the request is cancelled first.
class PoolCallbacks {
 public:
  virtual ~PoolCallbacks() = default;
  // `stream` encodes the request; its response events go to the
  // StreamCallbacks given to newStream(). Valid until the response ends, the
  // stream is reset, or onReset is delivered.
  virtual void onPoolReady(http::Stream& stream, Host& host) = 0;
  // kConnectFailed, kConnectTimeout or kOverflow, with the reason in words.
  virtual void onPoolFailure(base::Error reason, std::string_view detail) = 0;
};

// Metric handles of one cluster on one worker, shared by its pools and the
// router (worker-local; merged on scrape). Default handles are disabled.
struct PoolCounters {
  observability::Counter streams_total;  // requests sent to the cluster
  observability::Gauge requests_active;
  observability::Counter connections_total;
  observability::Gauge connections_active;
  observability::Counter connect_failures;
  observability::Counter connect_timeouts;
  observability::Counter overflows;
  observability::Counter resets_before_response;
  observability::Counter resets_after_response;
  observability::Counter route_timeouts;
  // Resilience: retries started, retries the budget (or max_retries)
  // refused, retries the method's rules refused, requests too long to
  // replay, and tries that hit the per-try timeout.
  observability::Counter retries;
  observability::Counter retry_overflows;
  observability::Counter retry_unsafe;
  observability::Counter retry_body_too_large;
  observability::Counter per_try_timeouts;
  // One sample per try: from its start to its end (answer complete, failure
  // or cancellation), in seconds.
  observability::Histogram attempt_duration;
  // ORIGINAL_DST clusters: a request or TCP session refused for want of an
  // original destination or because it pointed back at this proxy, by
  // reason ("no_original_destination", "passthrough_loop"). Series made on
  // first use; null in tests.
  std::function<void(std::string_view reason)> on_original_dst_refused;
};

class ConnectionPool {
 public:
  struct Settings {
    http::Protocol protocol = http::Protocol::kHttp11;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds idle_timeout{60000};
    uint32_t max_connections = 1024;
    uint32_t max_pending_requests = 1024;
    uint32_t max_requests_per_connection = 0;  // 0: unlimited
    uint32_t connection_buffer_limit = 1024 * 1024;
    http::CodecLimits codec_limits;
    // Opens the transport to the host (TLS when the cluster originates it);
    // plain TCP when unset.
    std::function<net::ConnectionPtr(const net::Address&)> connect;
  };

  // Identifies a queued request so the caller can cancel it.
  struct Pending {
    http::StreamCallbacks* response = nullptr;
    PoolCallbacks* callbacks = nullptr;
  };
  using PendingHandle = std::list<Pending>::iterator;

  ConnectionPool(net::Dispatcher& dispatcher, Host& host, Settings settings, PoolCounters& counters);
  // Closes every connection without callbacks. No request may still be
  // pending (callers cancel first).
  ~ConnectionPool();

  // Asks for a stream. Returns true with the request queued (handle set) when
  // it must wait for a connection; returns false when a callback already ran
  // synchronously (ready or failure).
  bool newStream(http::StreamCallbacks& response, PoolCallbacks& callbacks, PendingHandle& handle);
  void cancel(PendingHandle handle);

  // Stops using current connections: idle ones close now, busy ones after
  // their streams end (a removed endpoint drains this way).
  void drain();
  bool idle() const { return clients_.empty() && pending_.empty(); }
  bool draining() const { return draining_; }

  Host& host() { return host_; }
  net::Dispatcher& dispatcher() { return dispatcher_; }
  net::ConnectionPtr connect(const net::Address& address) {
    return settings_.connect ? settings_.connect(address) : net::connectTcp(dispatcher_, address);
  }
  const Settings& settings() const { return settings_; }
  PoolCounters& counters() { return counters_; }

 private:
  friend class ActiveClient;
  void processPending();
  void openConnection();
  void failPending(base::Error reason, std::string_view detail);
  void onClientClosed(ActiveClient& client);
  uint32_t streamsPerConnection() const;

  net::Dispatcher& dispatcher_;
  Host& host_;
  Settings settings_;
  PoolCounters& counters_;
  std::list<std::unique_ptr<ActiveClient>> clients_;
  std::list<Pending> pending_;
  uint32_t connecting_ = 0;
  bool draining_ = false;
};

}  // namespace remora::upstream
