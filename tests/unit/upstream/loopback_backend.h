// LoopbackBackend: an upstream server for loop tests of the pools and the
// router. It listens on 127.0.0.1:0 with a net::Listener on the test's
// dispatcher and serves HTTP/1.1 or HTTP/2 through the real server codecs,
// answering each complete request with a canned response, or holding it, or
// closing the connection, as the test says. Everything it made is destroyed
// with it (connections close silently), so a LoopFixture test ends with every
// handle closed once the backend goes out of scope.
//
// Test-only, single-threaded (the fixture's loop).
#pragma once

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/http/codec.h"
#include "proxy/http/http1/http1_codec.h"
#include "proxy/http/http2/http2_codec.h"
#include "proxy/net/connection.h"
#include "proxy/net/listener.h"

namespace remora::testing {

class LoopbackBackend : public net::ListenerCallbacks {
 public:
  enum class Mode {
    kRespond,          // answer at once: 200, x-backend-session, `response_body`
    kHold,             // keep the request until respondAll()
    kCloseOnRequest,   // close the connection (no response) once the request is in
  };

  class Session;

  // One request the backend received.
  struct Exchange : http::StreamCallbacks {
    Exchange(LoopbackBackend& backend, Session& session, http::Stream& stream)
        : backend(backend), session(session), stream(&stream) {}
    void onHeaders(http::HeaderMapPtr h, bool end_stream) override {
      headers = std::move(h);
      if (end_stream) requestDone();
    }
    void onData(net::Buffer& data, bool end_stream) override {
      body += data.toString();
      data.clear();
      if (end_stream) requestDone();
    }
    void onTrailers(http::HeaderMapPtr) override { requestDone(); }
    void onReset(http::StreamResetReason reason, std::string_view) override {
      reset = true;
      stream = nullptr;
    }
    void requestDone() {
      complete = true;
      backend.onRequestComplete(*this);
    }
    void respond(uint32_t status, const std::string& body_text);

    LoopbackBackend& backend;
    Session& session;
    http::Stream* stream;  // null once answered or reset
    http::HeaderMapPtr headers;
    std::string body;
    bool complete = false;
    bool reset = false;
  };

  class Session : public net::ConnectionCallbacks, public http::CodecTransport, public http::ServerCodecCallbacks {
   public:
    Session(LoopbackBackend& backend, net::ConnectionPtr connection, size_t index)
        : backend_(backend), connection_(std::move(connection)), index_(index) {
      connection_->setCallbacks(*this);
      if (backend_.protocol_ == http::Protocol::kHttp2) {
        codec_ = http::http2::makeHttp2ServerCodec(*this, *this, backend_.limits_);
      } else {
        codec_ = http::http1::makeHttp1ServerCodec(*this, *this, backend_.limits_);
      }
    }
    ~Session() override {
      // The codec may still call its streams' callbacks while it dies.
      codec_.reset();
    }
    void onData(net::Buffer& data, bool end_stream) override {
      if (closed_) {
        data.clear();
        return;
      }
      base::Status status = codec_->dispatch(data);
      if (status && end_stream) status = codec_->onTransportEof();
      if (!status || codec_->closeNow() || end_stream) close(net::CloseType::kFlushWrite);
    }
    void onEvent(net::ConnectionEvent event) override {
      if (event != net::ConnectionEvent::kConnected) closed_ = true;
    }
    void write(net::Buffer& data) override {
      if (!closed_) connection_->write(data, false);
    }
    void readDisable(bool disable) override {
      if (!closed_) connection_->readDisable(disable);
    }
    void onNewStream(http::Stream& stream) override {
      exchanges_.push_back(std::make_unique<Exchange>(backend_, *this, stream));
      stream.setCallbacks(*exchanges_.back());
      ++backend_.streams_;
    }
    void close(net::CloseType type) {
      if (!closed_) connection_->close(type);
    }
    void afterResponse() {
      if (!closed_ && codec_->wantsClose()) close(net::CloseType::kFlushWrite);
    }
    bool closed() const { return closed_; }
    size_t index() const { return index_; }
    size_t exchangeCount() const { return exchanges_.size(); }
    size_t activeStreams() const { return codec_->activeStreams(); }

   private:
    LoopbackBackend& backend_;
    std::vector<std::unique_ptr<Exchange>> exchanges_;  // declared before codec_: outlives it
    net::ConnectionPtr connection_;
    std::unique_ptr<http::ServerCodec> codec_;
    size_t index_;
    bool closed_ = false;
  };

  LoopbackBackend(net::Dispatcher& dispatcher, http::Protocol protocol, http::CodecLimits limits = {})
      : protocol_(protocol), limits_(limits) {
    auto address = net::Address::fromIpPort("127.0.0.1", 0);
    REQUIRE(address);
    auto bound = net::Listener::bind(dispatcher, *address, *this, /*reuse_port=*/false);
    REQUIRE(bound);
    listener_ = std::move(*bound);
  }

  void onAccept(net::ConnectionPtr connection) override {
    sessions_.push_back(std::make_unique<Session>(*this, std::move(connection), sessions_.size()));
  }

  void onRequestComplete(Exchange& exchange) {
    ++requests_;
    if (on_request) on_request(exchange);
    switch (mode) {
      case Mode::kRespond:
        exchange.respond(200, response_body);
        break;
      case Mode::kHold:
        held_.push_back(&exchange);
        break;
      case Mode::kCloseOnRequest:
        exchange.session.close(net::CloseType::kNoFlush);
        break;
    }
  }

  // Answers every held request whose connection is still open.
  void respondAll() {
    std::vector<Exchange*> held;
    held.swap(held_);
    for (Exchange* e : held) {
      if (!e->session.closed() && e->stream != nullptr) e->respond(200, response_body);
    }
  }

  const net::Address& address() const { return listener_->localAddress(); }
  size_t accepted() const { return sessions_.size(); }
  size_t openSessions() const {
    size_t n = 0;
    for (const auto& s : sessions_) n += s->closed() ? 0 : 1;
    return n;
  }
  const Session& session(size_t i) const { return *sessions_.at(i); }
  size_t requests() const { return requests_; }
  size_t held() const { return held_.size(); }
  const std::vector<Exchange*>& heldExchanges() const { return held_; }

  Mode mode = Mode::kRespond;
  std::string response_body = "ok";
  // Called for every complete request before the mode acts on it.
  std::function<void(Exchange&)> on_request;

 private:
  friend class Session;
  http::Protocol protocol_;
  http::CodecLimits limits_;
  net::ListenerPtr listener_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<Exchange*> held_;
  size_t requests_ = 0;
  size_t streams_ = 0;
};

inline void LoopbackBackend::Exchange::respond(uint32_t status, const std::string& body_text) {
  if (stream == nullptr) return;
  http::Stream* s = stream;
  stream = nullptr;  // the codec forgets the stream once the exchange is over
  http::HeaderMap h;
  h.add(":status", std::to_string(status));
  h.add("x-backend-session", std::to_string(session.index()));
  h.add("content-length", std::to_string(body_text.size()));
  s->encodeHeaders(h, body_text.empty());
  if (!body_text.empty()) {
    net::Buffer b(body_text);
    s->encodeData(b, true);
  }
  session.afterResponse();
}

}  // namespace remora::testing
