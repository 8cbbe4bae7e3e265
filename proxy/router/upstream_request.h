// UpstreamRequest: one try of a routed request — the host it went to, the
// pool request or stream it holds, the body it has not been able to send yet
// and its per-try timer. The RouterFilter makes one per try (two at once when
// it hedges) and hears about each through UpstreamRequestOwner.
//
// Worker-local; owned by its RouterFilter.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/http/codec.h"
#include "proxy/net/buffer.h"
#include "proxy/net/dispatcher.h"
#include "proxy/router/retry_state.h"
#include "proxy/upstream/connection_pool.h"

namespace remora::router {

class UpstreamRequest;

class UpstreamRequestOwner {
 public:
  virtual ~UpstreamRequestOwner() = default;
  // The try has a stream: the owner sends headers (and what it buffered).
  virtual void onTryReady(UpstreamRequest& request) = 0;
  // The try ended before response headers: `failure` says how; `error` and
  // `detail` are what the client would be told if nothing else is tried.
  virtual void onTryFailed(UpstreamRequest& request, TryFailure failure, base::Error error, std::string detail) = 0;
  virtual void onTryHeaders(UpstreamRequest& request, http::HeaderMapPtr headers, bool end_stream) = 0;
  virtual void onTryData(UpstreamRequest& request, net::Buffer& data, bool end_stream) = 0;
  virtual void onTryTrailers(UpstreamRequest& request, http::HeaderMapPtr trailers) = 0;
  // A reset after the response headers arrived.
  virtual void onTryResetAfterHeaders(UpstreamRequest& request, http::StreamResetReason reason,
                                      std::string_view detail) = 0;
  virtual void onTryAboveWriteBufferHighWatermark() = 0;
  virtual void onTryBelowWriteBufferLowWatermark() = 0;
};

class UpstreamRequest : public http::StreamCallbacks, public upstream::PoolCallbacks, public net::DeferredDeletable {
 public:
  UpstreamRequest(UpstreamRequestOwner& owner, net::Dispatcher& dispatcher, upstream::Host& host,
                  upstream::ConnectionPool& pool, uint32_t attempt);
  ~UpstreamRequest() override;

  // Asks the pool for a stream; the owner hears onTryReady or onTryFailed
  // (possibly before this returns).
  void start();
  // Resets the stream or cancels the pool request; no callback follows.
  void cancel();

  // Writes to the stream (the owner calls these only once ready).
  void encodeHeaders(const http::HeaderMap& headers, bool end_stream);
  void encodeData(net::Buffer& data, bool end_stream);
  void encodeTrailers(const http::HeaderMap& trailers);
  void readDisable(bool disable);

  // Starts the per-try timer (the owner does once the whole request is sent).
  void startPerTryTimer(std::chrono::milliseconds timeout);

  upstream::Host& host() { return host_; }
  uint32_t attempt() const { return attempt_; }
  bool ready() const { return stream_ != nullptr; }
  // The request may have reached the upstream: it was written to a stream.
  bool reachedUpstream() const { return wrote_; }
  bool gotHeaders() const { return got_headers_; }
  bool complete() const { return complete_; }
  std::chrono::steady_clock::time_point startedAt() const { return started_at_; }
  // Precise clock readings (the loop's cached time is only as fine as a
  // loop iteration) for the attempt histogram and the try's span.
  std::chrono::steady_clock::time_point preciseStart() const { return precise_start_; }
  // The upstream's :status once headers came (0 before).
  uint32_t status() const { return status_; }
  void setStatus(uint32_t status) { status_ = status; }
  // The router notes each try's end once (metrics, span); true the first time.
  bool markEnded() {
    if (ended_) return false;
    ended_ = true;
    return true;
  }

  // PoolCallbacks
  void onPoolReady(http::Stream& stream, upstream::Host& host) override;
  void onPoolFailure(base::Error reason, std::string_view detail) override;
  // StreamCallbacks
  void onHeaders(http::HeaderMapPtr headers, bool end_stream) override;
  void onData(net::Buffer& data, bool end_stream) override;
  void onTrailers(http::HeaderMapPtr trailers) override;
  void onInformational(http::HeaderMapPtr headers) override {}
  void onReset(http::StreamResetReason reason, std::string_view detail) override;
  void onAboveWriteBufferHighWatermark() override { owner_.onTryAboveWriteBufferHighWatermark(); }
  void onBelowWriteBufferLowWatermark() override { owner_.onTryBelowWriteBufferLowWatermark(); }

 private:
  void onPerTryTimeout();

  UpstreamRequestOwner& owner_;
  net::Dispatcher& dispatcher_;
  upstream::Host& host_;
  upstream::ConnectionPool& pool_;
  uint32_t attempt_;
  std::optional<upstream::ConnectionPool::PendingHandle> pending_;
  http::Stream* stream_ = nullptr;
  net::TimerPtr per_try_timer_;
  std::chrono::milliseconds per_try_timeout_{0};
  std::chrono::steady_clock::time_point started_at_;
  std::chrono::steady_clock::time_point precise_start_;
  uint32_t status_ = 0;
  bool ended_ = false;
  bool wrote_ = false;
  bool request_ended_ = false;  // we sent end_stream (or trailers)
  bool got_headers_ = false;
  bool complete_ = false;  // the response ended
  bool counted_ = false;   // host_.requestStarted() was called
};

}  // namespace remora::router
