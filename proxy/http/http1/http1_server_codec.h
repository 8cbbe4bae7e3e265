// Http1ServerCodec: the downstream side of HTTP/1.x. Decodes requests from a
// client connection into streams, one at a time, and encodes their responses.
// Created by the connection manager (through makeHttp1ServerCodec) for each
// HTTP/1 connection; worker-local, single-threaded, sans-I/O.
//
// Pipelining: while response N is incomplete the bytes of request N+1 stay in
// the codec (and the transport is read-disabled); the codec resumes parsing by
// itself when response N ends, from inside that encode call. A guard keeps
// that resumption (and callbacks that encode from inside onHeaders) iterative,
// never recursive.
//
// Closing, for the connection manager:
// - wantsClose(): close once the output is flushed (a response carried
//   Connection: close, HTTP/1.0 without keep-alive, a close-delimited or
//   tunnelled response ended, goAway() while idle, or a protocol error).
// - closeNow(): close at once; the current message cannot be completed (a
//   local resetStream, a response shorter than its Content-Length, a protocol
//   error). Anything already written is an error response worth flushing.
// - onTransportEof(): the client closed its side; ends a tunnel's request
//   side, or resets a request whose body is incomplete.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/http/codec.h"
#include "proxy/http/http1/http1_parser.h"

namespace remora::http::http1 {

class Http1ServerCodec;

// The response half of one request; a thin handle whose state lives in the codec.
class Http1ServerStream final : public Stream {
 public:
  Http1ServerStream(Http1ServerCodec& codec, uint32_t id) : codec_(codec), id_(id) {}
  void setCallbacks(StreamCallbacks& callbacks) override { callbacks_ = &callbacks; }
  void encodeHeaders(const HeaderMap& headers, bool end_stream) override;
  void encodeData(net::Buffer& data, bool end_stream) override;
  void encodeTrailers(const HeaderMap& trailers) override;
  void encodeInformational(const HeaderMap& headers) override;
  void resetStream(StreamResetReason reason) override;
  void readDisable(bool disable) override;
  uint32_t streamId() const override { return id_; }

  StreamCallbacks* callbacks() const { return callbacks_; }

 private:
  Http1ServerCodec& codec_;
  const uint32_t id_;
  StreamCallbacks* callbacks_ = nullptr;
};

class Http1ServerCodec final : public ServerCodec {
 public:
  Http1ServerCodec(CodecTransport& transport, ServerCodecCallbacks& callbacks, const CodecLimits& limits);
  ~Http1ServerCodec() override;

  base::Status dispatch(net::Buffer& data) override;
  bool closeNow() const override { return close_now_; }
  void goAway() override { goaway_ = true; }
  bool wantsClose() const override;
  size_t activeStreams() const override { return stream_ ? 1 : 0; }
  Protocol protocol() const override { return protocol_; }
  void onTransportAboveHighWatermark() override;
  void onTransportBelowLowWatermark() override;
  base::Status onTransportEof() override;

 private:
  friend class Http1ServerStream;

  // How the current response's body is delimited on the wire.
  enum class BodyMode { kNone, kContentLength, kChunked, kUntilClose };

  struct RequestState {
    Protocol version = Protocol::kHttp11;
    bool keep_alive = true;
    bool head = false;
    bool tunnel = false;  // websocket upgrade or CONNECT
    bool connect = false;
    bool complete = false;
  };
  struct ResponseState {
    bool started = false;
    bool complete = false;
    BodyMode mode = BodyMode::kNone;
    uint64_t remaining = 0;
  };

  // Stream entry points (the stream is checked to be the current one).
  void encodeHeaders(Http1ServerStream& stream, const HeaderMap& headers, bool end_stream);
  void encodeData(Http1ServerStream& stream, net::Buffer& data, bool end_stream);
  void encodeTrailers(Http1ServerStream& stream, const HeaderMap& trailers);
  void encodeInformational(Http1ServerStream& stream, const HeaderMap& headers);
  void resetStream(Http1ServerStream& stream);
  void readDisable(Http1ServerStream& stream, bool disable);

  // Runs the parser over buffered input until it needs bytes or must wait.
  base::Status processInput();
  void onRequestHead();
  void onRequestData(bool end_stream);
  void onRequestTrailers();
  base::Status onParseError(const base::Failure& failure);
  void deliverEof();
  void endResponse();
  void finishStream();
  void writeErrorResponse(uint32_t status, std::string_view reason);
  void updateReadDisable();
  bool isCurrent(const Http1ServerStream& stream) const { return stream_.get() == &stream; }
  StreamCallbacks* streamCallbacks() const { return stream_ ? stream_->callbacks() : nullptr; }

  CodecTransport& transport_;
  ServerCodecCallbacks& callbacks_;
  Http1Parser parser_;
  net::Buffer input_;
  net::Buffer output_;

  std::unique_ptr<Http1ServerStream> stream_;
  // Finished streams whose methods may still be on the stack; freed at the
  // next dispatch() (a stream never frees itself from inside its own call).
  std::vector<std::unique_ptr<Http1ServerStream>> retired_;
  uint32_t next_stream_id_ = 1;
  RequestState request_;
  ResponseState response_;
  Protocol protocol_ = Protocol::kHttp11;

  base::Status failure_;        // sticky protocol error
  bool processing_ = false;     // inside processInput(): re-entrant calls return at once
  bool close_after_response_ = false;
  bool close_now_ = false;
  bool goaway_ = false;
  bool peer_eof_ = false;
  bool eof_delivered_ = false;
  bool transport_read_disabled_ = false;
  uint32_t stream_read_disabled_ = 0;
};

}  // namespace remora::http::http1
