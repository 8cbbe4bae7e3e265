#include "proxy/router/upstream_request.h"

#include <string>

namespace remora::router {

UpstreamRequest::UpstreamRequest(UpstreamRequestOwner& owner, net::Dispatcher& dispatcher, upstream::Host& host,
                                 upstream::ConnectionPool& pool, uint32_t attempt)
    : owner_(owner), dispatcher_(dispatcher), host_(host), pool_(pool), attempt_(attempt),
      started_at_(dispatcher.now()), precise_start_(std::chrono::steady_clock::now()) {
  host_.requestStarted();
  counted_ = true;
}

UpstreamRequest::~UpstreamRequest() {
  cancel();
  if (counted_) host_.requestFinished();
}

void UpstreamRequest::start() {
  upstream::ConnectionPool::PendingHandle handle;
  if (pool_.newStream(*this, *this, handle)) pending_ = handle;
}

void UpstreamRequest::cancel() {
  if (per_try_timer_) per_try_timer_->disable();
  if (pending_) {
    pool_.cancel(*pending_);
    pending_.reset();
  }
  if (stream_ != nullptr) {
    http::Stream* s = stream_;
    stream_ = nullptr;
    // A finished exchange goes back to the pool; anything else is reset.
    if (!complete_ || !request_ended_) s->resetStream(http::StreamResetReason::kLocalReset);
  }
}

void UpstreamRequest::encodeHeaders(const http::HeaderMap& headers, bool end_stream) {
  if (stream_ == nullptr) return;
  wrote_ = true;
  if (end_stream) request_ended_ = true;
  stream_->encodeHeaders(headers, end_stream);
}

void UpstreamRequest::encodeData(net::Buffer& data, bool end_stream) {
  if (stream_ == nullptr) return;
  if (end_stream) request_ended_ = true;
  stream_->encodeData(data, end_stream);
}

void UpstreamRequest::encodeTrailers(const http::HeaderMap& trailers) {
  if (stream_ == nullptr) return;
  request_ended_ = true;
  stream_->encodeTrailers(trailers);
}

void UpstreamRequest::readDisable(bool disable) {
  if (stream_ != nullptr) stream_->readDisable(disable);
}

void UpstreamRequest::startPerTryTimer(std::chrono::milliseconds timeout) {
  if (timeout.count() == 0 || per_try_timer_ || got_headers_) return;
  per_try_timeout_ = timeout;
  per_try_timer_ = dispatcher_.createTimer([this] { onPerTryTimeout(); });
  per_try_timer_->enable(timeout);
}

void UpstreamRequest::onPerTryTimeout() {
  // The try is left running: the owner cancels it, or keeps it when hedging.
  owner_.onTryFailed(*this, TryFailure::kPerTryTimeout, base::Error::kPerTryTimeout,
                     "upstream " + host_.name() + " did not answer within the per-try timeout of " +
                         std::to_string(per_try_timeout_.count()) + " ms");
}

void UpstreamRequest::onPoolReady(http::Stream& stream, upstream::Host&) {
  pending_.reset();
  stream_ = &stream;
  owner_.onTryReady(*this);
}

void UpstreamRequest::onPoolFailure(base::Error reason, std::string_view detail) {
  pending_.reset();
  owner_.onTryFailed(*this, TryFailure::kConnectFailure, reason, std::string(detail));
}

void UpstreamRequest::onHeaders(http::HeaderMapPtr headers, bool end_stream) {
  got_headers_ = true;
  if (per_try_timer_) per_try_timer_->disable();
  if (end_stream) complete_ = true;
  owner_.onTryHeaders(*this, std::move(headers), end_stream);
}

void UpstreamRequest::onData(net::Buffer& data, bool end_stream) {
  if (end_stream) complete_ = true;
  owner_.onTryData(*this, data, end_stream);
}

void UpstreamRequest::onTrailers(http::HeaderMapPtr trailers) {
  complete_ = true;
  owner_.onTryTrailers(*this, std::move(trailers));
}

void UpstreamRequest::onReset(http::StreamResetReason reason, std::string_view detail) {
  stream_ = nullptr;
  if (per_try_timer_) per_try_timer_->disable();
  std::string why = "upstream " + host_.name() + " " + std::string(http::resetReasonName(reason));
  if (!detail.empty()) why += ": " + std::string(detail);
  if (got_headers_) {
    owner_.onTryResetAfterHeaders(*this, reason, why);
    return;
  }
  TryFailure failure = TryFailure::kReset;
  if (reason == http::StreamResetReason::kRefusedStream) failure = TryFailure::kRefusedStream;
  if (reason == http::StreamResetReason::kConnectionFailure) failure = TryFailure::kConnectFailure;
  const base::Error error = reason == http::StreamResetReason::kProtocolError ? base::Error::kUpstreamProtocol
                                                                              : base::Error::kUpstreamReset;
  owner_.onTryFailed(*this, failure, error, std::move(why));
}

}  // namespace remora::router
