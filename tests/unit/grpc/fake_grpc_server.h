// FakeGrpcServer: a gRPC server for GrpcStream loop tests, built from our own
// HTTP/2 server codec on a net::Listener at 127.0.0.1:0, so a test can play
// every server behaviour the reference server never shows (a 404 :status, a
// compressed message, missing trailers, garbage, silence, not reading).
// Each call records its request headers and de-framed messages; the test
// answers through Call's helpers, from a hook or after running the loop.
//
// Test-only, single-threaded (the fixture's loop). Everything it made dies
// with it (connections close silently).
#pragma once

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/grpc/message_decoder.h"
#include "proxy/http/codec.h"
#include "proxy/http/http2/http2_codec.h"
#include "proxy/net/connection.h"
#include "proxy/net/listener.h"

namespace remora::testing {

class FakeGrpcServer : public net::ListenerCallbacks {
 public:
  enum class Mode {
    kHttp2,    // a real HTTP/2 server codec
    kSilent,   // accept, then neither read nor write (a hung peer)
    kGarbage,  // answer the first bytes with `garbage` (not HTTP/2)
  };

  class Session;

  struct Call : http::StreamCallbacks {
    Call(FakeGrpcServer& server, Session& session, http::Stream& stream)
        : server(server), session(session), stream(&stream) {}
    void onHeaders(http::HeaderMapPtr h, bool end_stream) override {
      headers = std::move(h);
      if (server.on_headers) server.on_headers(*this);
      if (end_stream) onEnd();
    }
    void onData(net::Buffer& data, bool end_stream) override {
      auto error = decoder.decode(data, [this](std::string message) {
        messages.push_back(message);
        if (server.on_message) server.on_message(*this, message);
        return true;
      });
      if (error) decode_error = error->message;
      if (end_stream) onEnd();
    }
    void onTrailers(http::HeaderMapPtr) override { onEnd(); }
    void onReset(http::StreamResetReason reason, std::string_view) override {
      reset = reason;
      stream = nullptr;
    }
    void onEnd() {
      client_ended = true;
      if (server.on_end) server.on_end(*this);
    }

    void sendHeaders(uint32_t status = 200, std::string content_type = "application/grpc") {
      if (stream == nullptr) return;
      http::HeaderMap h;
      h.add(":status", std::to_string(status));
      if (!content_type.empty()) h.add("content-type", content_type);
      stream->encodeHeaders(h, false);
    }
    void sendMessage(std::string_view message) {
      net::Buffer framed;
      grpc::encodeMessage(message, framed);
      sendRaw(framed.toString());
    }
    void sendRaw(const std::string& bytes) {
      if (stream == nullptr) return;
      net::Buffer b(bytes);
      stream->encodeData(b, false);
    }
    // Ends the call with trailers (status < 0: no grpc-status at all).
    void sendTrailers(int status, std::string_view encoded_message = "") {
      if (stream == nullptr) return;
      http::HeaderMap t;
      if (status >= 0) t.add("grpc-status", std::to_string(status));
      t.add("x-trailer", "present");  // never an empty block: that would be no trailers at all
      if (!encoded_message.empty()) t.add("grpc-message", encoded_message);
      stream->encodeTrailers(t);
      stream = nullptr;
    }
    // Trailers-only: status in the one header block, with END_STREAM.
    void sendTrailersOnly(int status, std::string_view encoded_message = "") {
      if (stream == nullptr) return;
      http::HeaderMap h;
      h.add(":status", "200");
      h.add("content-type", "application/grpc");
      h.add("grpc-status", std::to_string(status));
      if (!encoded_message.empty()) h.add("grpc-message", encoded_message);
      stream->encodeHeaders(h, true);
      stream = nullptr;
    }
    // A response body that ends with END_STREAM and no trailers.
    void endWithoutTrailers() {
      if (stream == nullptr) return;
      net::Buffer empty;
      stream->encodeData(empty, true);
      stream = nullptr;
    }

    FakeGrpcServer& server;
    Session& session;
    http::Stream* stream;  // null once the response ended or the stream was reset
    http::HeaderMapPtr headers;
    grpc::MessageDecoder decoder{64 * 1024 * 1024};
    std::vector<std::string> messages;
    std::string decode_error;
    bool client_ended = false;
    std::optional<http::StreamResetReason> reset;
  };

  class Session : public net::ConnectionCallbacks, public http::CodecTransport, public http::ServerCodecCallbacks {
   public:
    Session(FakeGrpcServer& server, net::ConnectionPtr connection)
        : server_(server), connection_(std::move(connection)) {
      connection_->setCallbacks(*this);
      if (server_.mode == Mode::kHttp2) {
        codec_ = http::http2::makeHttp2ServerCodec(*this, *this, http::CodecLimits{});
      } else if (server_.mode == Mode::kSilent) {
        connection_->readDisable(true);
      }
    }
    ~Session() override { codec_.reset(); }

    void onData(net::Buffer& data, bool end_stream) override {
      bytes_received_ += data.length();
      if (closed_) {
        data.clear();
        return;
      }
      if (!codec_) {
        data.clear();
        net::Buffer out(server_.garbage);
        connection_->write(out, false);
        return;
      }
      base::Status status = codec_->dispatch(data);
      if (!status || end_stream) close();
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
      server_.calls.push_back(std::make_unique<Call>(server_, *this, stream));
      stream.setCallbacks(*server_.calls.back());
    }
    void close() {
      if (!closed_) connection_->close(net::CloseType::kNoFlush);
    }
    // Stops reading the socket: the client's HTTP/2 window and then its
    // socket buffer fill up.
    void pauseReading(bool pause) {
      if (!closed_) connection_->readDisable(pause);
    }
    bool closed() const { return closed_; }
    size_t bytesReceived() const { return bytes_received_; }

   private:
    FakeGrpcServer& server_;
    net::ConnectionPtr connection_;
    std::unique_ptr<http::ServerCodec> codec_;
    size_t bytes_received_ = 0;
    bool closed_ = false;
  };

  FakeGrpcServer(net::Dispatcher& dispatcher, Mode mode = Mode::kHttp2) : mode(mode) {
    auto address = net::Address::fromIpPort("127.0.0.1", 0);
    REQUIRE(address);
    auto bound = net::Listener::bind(dispatcher, *address, *this, /*reuse_port=*/false);
    REQUIRE(bound);
    listener_ = std::move(*bound);
  }

  void onAccept(net::ConnectionPtr connection) override {
    sessions.push_back(std::make_unique<Session>(*this, std::move(connection)));
  }

  const net::Address& address() const { return listener_->localAddress(); }

  Mode mode;
  std::string garbage = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
  std::function<void(Call&)> on_headers;
  std::function<void(Call&, const std::string&)> on_message;
  std::function<void(Call&)> on_end;
  // calls before sessions: a Session's codec dies first and may still call
  // its streams' callbacks.
  std::vector<std::unique_ptr<Call>> calls;
  std::vector<std::unique_ptr<Session>> sessions;

 private:
  net::ListenerPtr listener_;
};

}  // namespace remora::testing
