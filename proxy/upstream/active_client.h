// ActiveClient and PoolStream: one upstream connection of a ConnectionPool with
// its client codec, and the pool's wrapper around each stream on it. The
// wrapper lets the pool see when a stream ends (to reuse or close the
// connection) without the router knowing about pools.
//
// Worker-local; internal to proxy/upstream.
#pragma once

#include <list>
#include <memory>

#include "proxy/http/codec.h"
#include "proxy/net/connection.h"
#include "proxy/upstream/connection_pool.h"

namespace remora::upstream {

class PoolStream : public http::Stream, public http::StreamCallbacks, public net::DeferredDeletable {
 public:
  PoolStream(ActiveClient& client, http::StreamCallbacks& target) : client_(client), target_(&target) {}
  void attach(http::Stream& inner) { inner_ = &inner; }

  // http::Stream: the router encodes the request through the pool.
  void setCallbacks(http::StreamCallbacks& callbacks) override { target_ = &callbacks; }
  void encodeHeaders(const http::HeaderMap& headers, bool end_stream) override;
  void encodeData(net::Buffer& data, bool end_stream) override;
  void encodeTrailers(const http::HeaderMap& trailers) override;
  void encodeInformational(const http::HeaderMap&) override {}
  void resetStream(http::StreamResetReason reason) override;
  void readDisable(bool disable) override;
  uint32_t streamId() const override { return inner_ ? inner_->streamId() : 0; }

  // http::StreamCallbacks: the codec decodes the response into the pool.
  void onHeaders(http::HeaderMapPtr headers, bool end_stream) override;
  void onData(net::Buffer& data, bool end_stream) override;
  void onTrailers(http::HeaderMapPtr trailers) override;
  void onInformational(http::HeaderMapPtr headers) override { target_->onInformational(std::move(headers)); }
  void onReset(http::StreamResetReason reason, std::string_view detail) override;
  void onAboveWriteBufferHighWatermark() override { target_->onAboveWriteBufferHighWatermark(); }
  void onBelowWriteBufferLowWatermark() override { target_->onBelowWriteBufferLowWatermark(); }

  bool finished() const { return finished_; }
  // The connection closed under the stream: tell the router once.
  void connectionClosed(std::string_view reason);

 private:
  void requestEnded();
  void responseEnded();

  ActiveClient& client_;
  http::StreamCallbacks* target_;
  http::Stream* inner_ = nullptr;
  bool request_done_ = false;
  bool response_done_ = false;
  bool finished_ = false;
};

class ActiveClient : public net::ConnectionCallbacks,
                     public http::CodecTransport,
                     public http::ClientCodecCallbacks,
                     public net::DeferredDeletable {
 public:
  explicit ActiveClient(ConnectionPool& pool);
  ~ActiveClient() override;

  enum class State { kConnecting, kReady, kClosed };
  State state() const { return state_; }
  bool canCreateStream() const;
  size_t activeStreams() const { return streams_.size(); }
  // Opens a stream for a pool request; onPoolReady follows synchronously.
  void attach(ConnectionPool::Pending pending);
  void close();
  // The pool stops reusing this connection; it closes when its streams end.
  void drain();

  // net::ConnectionCallbacks
  void onData(net::Buffer& data, bool end_stream) override;
  void onEvent(net::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;
  // http::CodecTransport
  void write(net::Buffer& data) override;
  void readDisable(bool disable) override;
  // http::ClientCodecCallbacks
  void onGoAway() override { drain(); }

  // PoolStream reports its end here.
  void onStreamFinished(PoolStream& stream, bool reusable);

 private:
  void onConnected();
  void onIdle();
  void afterDispatch();

  ConnectionPool& pool_;
  net::ConnectionPtr connection_;
  std::unique_ptr<http::ClientCodec> codec_;
  net::TimerPtr connect_timer_;
  net::TimerPtr idle_timer_;
  std::list<PoolStream*> streams_;
  State state_ = State::kConnecting;
  uint32_t requests_served_ = 0;
  bool draining_ = false;
  bool must_close_ = false;
  bool in_dispatch_ = false;
  bool connect_timed_out_ = false;
};

}  // namespace remora::upstream
