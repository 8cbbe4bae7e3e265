#include "proxy/observability/tracing/http_post.h"

#include <utility>

#include "proxy/http/http1/http1_codec.h"

#ifndef REMORA_VERSION
#define REMORA_VERSION "dev"
#endif

namespace remora::tracing {

std::unique_ptr<HttpPost> HttpPost::start(net::Dispatcher& dispatcher, const net::Address& address,
                                          HttpPostRequest request, std::chrono::milliseconds timeout, DoneFn done) {
  std::unique_ptr<HttpPost> post(new HttpPost(dispatcher, std::move(request), std::move(done)));
  // connectTcp reports even an immediate failure on a later iteration, so
  // `done` never runs before the caller holds the object.
  post->connection_ = net::connectTcp(dispatcher, address);
  post->connection_->setCallbacks(*post);
  HttpPost* raw = post.get();
  post->timeout_timer_ = dispatcher.createTimer([raw, timeout] {
    raw->finish({false, 0, "timed out after " + std::to_string(timeout.count()) + " ms"});
  });
  post->timeout_timer_->enable(timeout);
  return post;
}

HttpPost::HttpPost(net::Dispatcher& dispatcher, HttpPostRequest request, DoneFn done)
    : dispatcher_(dispatcher), request_(std::move(request)), done_(std::move(done)) {}

HttpPost::~HttpPost() {
  codec_.reset();
  // Silent: a connection destroyed open reports nothing.
  connection_.reset();
}

void HttpPost::cancel() {
  done_ = nullptr;
  if (timeout_timer_) timeout_timer_->disable();
  closeConnection();
}

void HttpPost::onEvent(net::ConnectionEvent event) {
  if (event == net::ConnectionEvent::kConnected) {
    connected_ = true;
    onConnected();
    return;
  }
  if (!connected_) {
    const std::string_view reason = connection_->failureReason();
    finish({false, 0, "connect failed: " + std::string(reason.empty() ? "connection closed" : reason)});
  } else {
    finish({false, 0, "connection closed before the response"});
  }
}

void HttpPost::onConnected() {
  if (!done_) return;
  codec_ = http::http1::makeHttp1ClientCodec(*this, *this, http::CodecLimits{});
  http::HeaderMap headers;
  headers.add(":method", "POST");
  headers.add(":scheme", "http");
  headers.add(":authority", request_.authority);
  headers.add(":path", request_.path);
  headers.add("content-type", request_.content_type);
  headers.add("content-length", std::to_string(request_.body.size()));
  headers.add("user-agent", "remora-proxy/" REMORA_VERSION);
  http::Stream& stream = codec_->newStream(response_);
  const bool empty = request_.body.empty();
  stream.encodeHeaders(headers, /*end_stream=*/empty);
  if (!empty && done_) {
    net::Buffer body(request_.body);
    stream.encodeData(body, /*end_stream=*/true);
  }
  // Sent: the body is not needed any more.
  request_.body = std::string();
}

void HttpPost::onData(net::Buffer& data, bool end_stream) {
  if (!done_ || !codec_) {
    data.clear();
    return;
  }
  base::Status status = codec_->dispatch(data);
  if (status && end_stream && done_) status = codec_->onTransportEof();
  if (!status) {
    finish({false, 0, "bad response: " + status.message()});
  } else if (end_stream) {
    finish({false, 0, "connection closed before the response"});
  }
}

void HttpPost::write(net::Buffer& data) {
  if (connection_ && connection_->state() == net::Connection::State::kOpen) {
    connection_->write(data, false);
  } else {
    data.clear();
  }
}

void HttpPost::readDisable(bool disable) {
  if (connection_ && connection_->state() == net::Connection::State::kOpen) connection_->readDisable(disable);
}

void HttpPost::Response::onHeaders(http::HeaderMapPtr headers, bool) {
  const uint32_t status = headers->status();
  if (status >= 200 && status < 300) {
    post.finish({true, status, {}});
  } else {
    post.finish({false, status, "HTTP " + std::to_string(status)});
  }
}

void HttpPost::Response::onReset(http::StreamResetReason reason, std::string_view detail) {
  std::string error = "stream reset (" + std::string(http::resetReasonName(reason)) + ")";
  if (!detail.empty()) error += ": " + std::string(detail);
  post.finish({false, 0, std::move(error)});
}

void HttpPost::finish(HttpPostResult result) {
  if (!done_) return;
  DoneFn done = std::move(done_);
  done_ = nullptr;
  timeout_timer_->disable();
  closeConnection();
  done(std::move(result));
}

void HttpPost::closeConnection() {
  // The request is sent (or never will be) and the answer is in: nothing
  // left to flush either way.
  if (connection_ && connection_->state() != net::Connection::State::kClosed) {
    connection_->close(net::CloseType::kNoFlush);
  }
}

}  // namespace remora::tracing
