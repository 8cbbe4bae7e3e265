#include "proxy/upstream/active_client.h"

#include <string>

#include "proxy/http/http1/http1_codec.h"
#include "proxy/http/http2/http2_codec.h"

namespace remora::upstream {

// ---- PoolStream ---------------------------------------------------------------

void PoolStream::encodeHeaders(const http::HeaderMap& headers, bool end_stream) {
  inner_->encodeHeaders(headers, end_stream);
  if (end_stream) requestEnded();
}

void PoolStream::encodeData(net::Buffer& data, bool end_stream) {
  inner_->encodeData(data, end_stream);
  if (end_stream) requestEnded();
}

void PoolStream::encodeTrailers(const http::HeaderMap& trailers) {
  inner_->encodeTrailers(trailers);
  requestEnded();
}

void PoolStream::readDisable(bool disable) {
  if (!finished_ && inner_ != nullptr) inner_->readDisable(disable);
}

void PoolStream::resetStream(http::StreamResetReason reason) {
  if (finished_) return;
  finished_ = true;
  http::Stream* inner = inner_;
  inner_ = nullptr;
  if (inner != nullptr) inner->resetStream(reason);
  // HTTP/1 has no way to abort one message: the connection must go.
  client_.onStreamFinished(*this, /*reusable=*/false);
}

void PoolStream::onHeaders(http::HeaderMapPtr headers, bool end_stream) {
  target_->onHeaders(std::move(headers), end_stream);
  if (end_stream) responseEnded();
}

void PoolStream::onData(net::Buffer& data, bool end_stream) {
  target_->onData(data, end_stream);
  if (end_stream) responseEnded();
}

void PoolStream::onTrailers(http::HeaderMapPtr trailers) {
  target_->onTrailers(std::move(trailers));
  responseEnded();
}

void PoolStream::onReset(http::StreamResetReason reason, std::string_view detail) {
  if (finished_) return;
  finished_ = true;
  inner_ = nullptr;
  client_.onStreamFinished(*this, /*reusable=*/false);
  target_->onReset(reason, detail);
}

void PoolStream::connectionClosed(std::string_view reason) {
  if (finished_) return;
  finished_ = true;
  inner_ = nullptr;
  target_->onReset(http::StreamResetReason::kConnectionTermination, reason);
}

void PoolStream::requestEnded() {
  request_done_ = true;
  if (response_done_ && !finished_) {
    finished_ = true;
    client_.onStreamFinished(*this, /*reusable=*/true);
  }
}

void PoolStream::responseEnded() {
  response_done_ = true;
  if (finished_) return;
  finished_ = true;
  // A response that ends before its request finished sending (an early 413,
  // say) leaves the HTTP/1 connection mid-message: it cannot be reused.
  client_.onStreamFinished(*this, /*reusable=*/request_done_);
}

// ---- ActiveClient -------------------------------------------------------------

ActiveClient::ActiveClient(ConnectionPool& pool) : pool_(pool) {
  net::Dispatcher& d = pool_.dispatcher();
  connection_ = pool_.connect(pool_.host().address());
  connection_->setCallbacks(*this);
  connection_->setBufferLimits(pool_.settings().connection_buffer_limit);
  const auto& s = pool_.settings();
  if (s.protocol == http::Protocol::kHttp2) {
    codec_ = http::http2::makeHttp2ClientCodec(*this, *this, s.codec_limits);
  } else {
    codec_ = http::http1::makeHttp1ClientCodec(*this, *this, s.codec_limits);
  }
  connect_timer_ = d.createTimer([this] {
    connect_timed_out_ = true;
    pool_.counters().connect_timeouts.inc();
    close();
  });
  connect_timer_->enable(s.connect_timeout);
}

ActiveClient::~ActiveClient() {
  // Destroyed by deferred deletion after the close, or by the pool's
  // destructor; destroying the connection closes it without callbacks.
  for (PoolStream* s : streams_) delete s;
}

bool ActiveClient::canCreateStream() const {
  if (draining_ || must_close_ || state_ != State::kReady) return false;
  // The cluster's cap applies even when the peer would allow more: the pool
  // opens connections on that assumption.
  if (streams_.size() >= pool_.streamsPerConnection()) return false;
  return codec_->canCreateStream();
}

void ActiveClient::attach(ConnectionPool::Pending pending) {
  if (idle_timer_) idle_timer_->disable();
  auto* stream = new PoolStream(*this, *pending.response);
  streams_.push_back(stream);
  http::Stream& inner = codec_->newStream(*stream);
  stream->attach(inner);
  ++requests_served_;
  const uint32_t max = pool_.settings().max_requests_per_connection;
  if (max != 0 && requests_served_ >= max) draining_ = true;
  pending.callbacks->onPoolReady(*stream, pool_.host());
}

void ActiveClient::onStreamFinished(PoolStream& stream, bool reusable) {
  streams_.remove(&stream);
  // The router may still be inside a call on this stream: free it later.
  pool_.dispatcher().deferredDelete(std::unique_ptr<net::DeferredDeletable>(&stream));
  if (!reusable && pool_.settings().protocol != http::Protocol::kHttp2) must_close_ = true;
  if (!in_dispatch_) afterDispatch();
}

void ActiveClient::afterDispatch() {
  if (state_ == State::kClosed) return;
  if (must_close_ || (draining_ && streams_.empty())) {
    close();
    return;
  }
  if (streams_.empty()) onIdle();
  pool_.processPending();
}

void ActiveClient::onIdle() {
  // A connection kept for the queue of a draining pool closes once it is done.
  if (pool_.draining()) {
    close();
    return;
  }
  if (!idle_timer_) idle_timer_ = pool_.dispatcher().createTimer([this] { close(); });
  idle_timer_->enable(pool_.settings().idle_timeout);
}

void ActiveClient::close() {
  if (state_ == State::kClosed) return;
  connection_->close(net::CloseType::kNoFlush);
}

void ActiveClient::drain() {
  draining_ = true;
  if (streams_.empty()) close();
}

void ActiveClient::onConnected() {
  connect_timer_->disable();
  state_ = State::kReady;
  --pool_.connecting_;
  pool_.processPending();
  if (streams_.empty() && state_ == State::kReady) onIdle();
}

void ActiveClient::onData(net::Buffer& data, bool end_stream) {
  in_dispatch_ = true;
  base::Status status = codec_->dispatch(data);
  if (status && end_stream) status = codec_->onTransportEof();
  in_dispatch_ = false;
  if (!status || end_stream) {
    if (!status) {
      // Bytes that break HTTP from the upstream: every stream on the
      // connection fails with the codec's reason.
      std::string reason = "upstream protocol error: " + status.message();
      for (PoolStream* s : std::list<PoolStream*>(streams_)) s->connectionClosed(reason);
    }
    close();
    return;
  }
  afterDispatch();
}

void ActiveClient::onEvent(net::ConnectionEvent event) {
  switch (event) {
    case net::ConnectionEvent::kConnected:
      onConnected();
      return;
    case net::ConnectionEvent::kRemoteClose:
    case net::ConnectionEvent::kLocalClose: {
      const State previous = state_;
      state_ = State::kClosed;
      connect_timer_->disable();
      if (idle_timer_) idle_timer_->disable();
      if (previous == State::kConnecting) {
        --pool_.connecting_;
        std::string reason;
        base::Error code = base::Error::kConnectFailed;
        if (connect_timed_out_) {
          code = base::Error::kConnectTimeout;
          reason = "connect to " + pool_.host().name() + " timed out";
        } else {
          pool_.counters().connect_failures.inc();
          reason = "connect to " + pool_.host().name() + " failed: " + std::string(connection_->failureReason());
        }
        pool_.failPending(code, reason);
      }
      std::string why = connection_->failureReason().empty()
                            ? std::string("upstream connection closed")
                            : "upstream connection closed: " + std::string(connection_->failureReason());
      for (PoolStream* s : std::list<PoolStream*>(streams_)) {
        s->connectionClosed(why);
        pool_.dispatcher().deferredDelete(std::unique_ptr<net::DeferredDeletable>(s));
      }
      streams_.clear();
      pool_.onClientClosed(*this);
      return;
    }
  }
}

void ActiveClient::onAboveWriteBufferHighWatermark() { codec_->onTransportAboveHighWatermark(); }
void ActiveClient::onBelowWriteBufferLowWatermark() { codec_->onTransportBelowLowWatermark(); }

void ActiveClient::write(net::Buffer& data) {
  if (state_ != State::kClosed) connection_->write(data, false);
}

void ActiveClient::readDisable(bool disable) {
  if (state_ != State::kClosed) connection_->readDisable(disable);
}

}  // namespace remora::upstream
