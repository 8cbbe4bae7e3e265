// The seam between the connection manager (which owns downstream connections
// and streams) and whatever serves a request (the router, the admin handler).
// The connection manager never knows where a request goes; the handler never
// knows which HTTP version the client speaks.
//
// Worker-local (or main-thread for admin); single-threaded.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <memory>
#include <string_view>

#include "proxy/http/codec.h"
#include "proxy/net/address.h"
#include "proxy/net/dispatcher.h"
#include "proxy/observability/request_record.h"
#include "proxy/observability/worker_stats.h"
#include "xds/base/error.h"

namespace remora::http::manager {

// What a handler may do to the client side of its stream.
class DownstreamStream {
 public:
  virtual ~DownstreamStream() = default;
  virtual void encodeHeaders(HeaderMapPtr headers, bool end_stream) = 0;
  virtual void encodeData(net::Buffer& data, bool end_stream) = 0;
  virtual void encodeTrailers(HeaderMapPtr trailers) = 0;
  virtual void encodeInformational(const HeaderMap& headers) = 0;
  // The one place Remora answers on its own: a response with `status`, an
  // x-remora-error header naming `reason`, and `detail` in words as the body.
  // If the response has already started, the stream is reset instead, so the
  // client never sees a truncated body that looks complete. Counted.
  virtual void sendLocalReply(uint32_t status, base::Error reason, std::string_view detail) = 0;
  // Aborts the client's stream (after the response started).
  virtual void resetDownstream(base::Error reason, std::string_view detail) = 0;
  // Stops (true) or resumes (false) reading the client's request body.
  virtual void readDisableDownstream(bool disable) = 0;
  virtual bool responseStarted() const = 0;
  virtual Protocol protocol() const = 0;
  virtual const net::Address& remoteAddress() const = 0;
  // The downstream connection's local address (its port is the destination
  // port authorization policies match on).
  virtual const net::Address& localAddress() const { return remoteAddress(); }
  // The connection's original destination when the listener's original_dst
  // filter restored it (it came through an iptables redirect), else null.
  virtual const net::Address* originalDestination() const { return nullptr; }
  // The caller's verified identity (its SPIFFE ID) when it came over mTLS; "".
  virtual std::string_view peerIdentity() const { return {}; }
  virtual net::Dispatcher& dispatcher() = 0;
  // What is known about this request so far, for metrics, tracing and the
  // access log; the router fills in its part. Null when nothing observes the
  // stream (the admin endpoint).
  virtual observability::RequestRecord* record() { return nullptr; }
  // An upstream try is about to send `upstream_headers`: the observer writes
  // the trace context for the next hop; returns the try's span id (0 when the
  // request is not traced).
  virtual uint64_t prepareUpstreamAttempt(HeaderMap& upstream_headers) { return 0; }
};

// Watches every request of a connection manager: sees the request headers
// before the handler (to read trace context and decide sampling) and the
// finished record once the stream ends (histograms, spans, the access log).
// One per HTTP filter chain per worker; worker-local.
class StreamObserver {
 public:
  virtual ~StreamObserver() = default;
  virtual void onRequestHeaders(const HeaderMap& headers, observability::RequestRecord& record) = 0;
  virtual uint64_t onUpstreamAttempt(HeaderMap& upstream_headers, observability::RequestRecord& record) = 0;
  virtual void onStreamEnd(observability::RequestRecord& record) = 0;
};

// Serves one request. Created per stream by a StreamHandlerFactory; destroyed
// by the connection manager after the stream ends (never from inside its own
// calls: deletion is deferred).
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  virtual void onRequestHeaders(HeaderMapPtr headers, bool end_stream) = 0;
  virtual void onRequestData(net::Buffer& data, bool end_stream) = 0;
  virtual void onRequestTrailers(HeaderMapPtr trailers) = 0;
  // The client reset the stream or went away, or the stream timed out: stop
  // all upstream work. No more calls follow.
  virtual void onDownstreamReset(std::string_view reason) = 0;
  // The client is not reading fast enough: pause the upstream response.
  virtual void onDownstreamAboveWriteBufferHighWatermark() {}
  virtual void onDownstreamBelowWriteBufferLowWatermark() {}
};

class StreamHandlerFactory {
 public:
  virtual ~StreamHandlerFactory() = default;
  virtual std::unique_ptr<StreamHandler> createHandler(DownstreamStream& downstream) = 0;
};

// Local replies counted by reason; a reason's series is made on its first
// use, so /stats lists only reasons that happened.
class LocalReplyCounters {
 public:
  LocalReplyCounters() = default;
  LocalReplyCounters(observability::WorkerStats* shard, observability::CounterFamily family, std::string listener)
      : shard_(shard), family_(family), listener_(std::move(listener)) {}
  void inc(base::Error reason) {
    auto& c = cache_[static_cast<size_t>(reason) % cache_.size()];
    if (!c.enabled() && shard_ != nullptr) c = shard_->counter(family_, {listener_, base::errorName(reason)});
    c.inc();
  }

 private:
  observability::WorkerStats* shard_ = nullptr;
  observability::CounterFamily family_;
  std::string listener_;
  std::array<observability::Counter, 64> cache_{};
};

// Metric handles a connection manager writes (worker-local; merged on scrape).
// Default-constructed handles are disabled (tests, admin).
struct ManagerCounters {
  observability::Counter connections_total;
  observability::Gauge connections_active;
  observability::Counter requests_total;
  observability::Gauge requests_active;
  std::array<observability::Counter, 6> responses_by_class{};  // 1xx..5xx at [1]..[5]
  observability::Counter protocol_errors;
  observability::Counter downstream_resets;
  observability::Counter header_timeouts;
  observability::Counter idle_timeouts;
  LocalReplyCounters local_replies;
};

}  // namespace remora::http::manager
