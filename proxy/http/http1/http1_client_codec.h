// Http1ClientCodec: the upstream side of HTTP/1.1. Encodes one request at a
// time onto a connection to a host and decodes its response. Created by the
// connection pool (through makeHttp1ClientCodec) per upstream connection;
// worker-local, single-threaded, sans-I/O.
//
// One request in flight: canCreateStream() is false from newStream() until
// the response has ended (or the stream was reset), and stays false once the
// server said Connection: close, answered before the request was fully sent,
// or closed the connection.
//
// The response ends the stream: its final event (end_stream or trailers) is
// delivered after the codec has already forgotten the stream, so the callee
// may start the next request from inside it. A response whose framing says
// bytes are missing when the connection closes is reported as
// onReset(kConnectionTermination), never as a complete message.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/http/codec.h"
#include "proxy/http/http1/http1_parser.h"

namespace remora::http::http1 {

class Http1ClientCodec;

// The request half of the exchange; a thin handle whose state lives in the codec.
class Http1ClientStream final : public Stream {
 public:
  Http1ClientStream(Http1ClientCodec& codec, uint32_t id, StreamCallbacks& callbacks)
      : codec_(codec), id_(id), callbacks_(&callbacks) {}
  void setCallbacks(StreamCallbacks& callbacks) override { callbacks_ = &callbacks; }
  void encodeHeaders(const HeaderMap& headers, bool end_stream) override;
  void encodeData(net::Buffer& data, bool end_stream) override;
  void encodeTrailers(const HeaderMap& trailers) override;
  // Requests carry no interim responses: ignored.
  void encodeInformational(const HeaderMap&) override {}
  void resetStream(StreamResetReason reason) override;
  void readDisable(bool disable) override;
  uint32_t streamId() const override { return id_; }

  StreamCallbacks* callbacks() const { return callbacks_; }

 private:
  Http1ClientCodec& codec_;
  const uint32_t id_;
  StreamCallbacks* callbacks_;
};

class Http1ClientCodec final : public ClientCodec {
 public:
  Http1ClientCodec(CodecTransport& transport, ClientCodecCallbacks& callbacks, const CodecLimits& limits);
  ~Http1ClientCodec() override;

  // Precondition: canCreateStream().
  Stream& newStream(StreamCallbacks& response_callbacks) override;
  base::Status dispatch(net::Buffer& data) override;
  base::Status onTransportEof() override;
  void goAway() override { goaway_ = true; }
  size_t activeStreams() const override { return stream_ ? 1 : 0; }
  bool canCreateStream() const override;
  Protocol protocol() const override { return Protocol::kHttp11; }
  void onTransportAboveHighWatermark() override;
  void onTransportBelowLowWatermark() override;
  // The connection must close now: a stream was reset mid-message or the
  // server broke the protocol.
  bool closeNow() const { return close_now_; }

 private:
  friend class Http1ClientStream;

  enum class BodyMode { kContentLength, kChunked, kUntilClose };

  struct RequestState {
    bool started = false;
    bool complete = false;
    BodyMode mode = BodyMode::kContentLength;
    uint64_t remaining = 0;
  };

  void encodeHeaders(Http1ClientStream& stream, const HeaderMap& headers, bool end_stream);
  void encodeData(Http1ClientStream& stream, net::Buffer& data, bool end_stream);
  void encodeTrailers(Http1ClientStream& stream, const HeaderMap& trailers);
  void resetStream(Http1ClientStream& stream);
  void readDisable(Http1ClientStream& stream, bool disable);

  base::Status processInput();
  void onResponseHead();
  void onResponseData(bool end_stream);
  void onResponseTrailers();
  base::Status onParseError(const base::Failure& failure);
  void deliverEof();
  // Forgets the stream at the end of its response; returns its callbacks so
  // the final event can still be delivered.
  StreamCallbacks* finishStream();
  void remoteClose();
  void updateReadDisable();
  bool isCurrent(const Http1ClientStream& stream) const { return stream_.get() == &stream; }
  StreamCallbacks* streamCallbacks() const { return stream_ ? stream_->callbacks() : nullptr; }

  CodecTransport& transport_;
  ClientCodecCallbacks& callbacks_;
  Http1Parser parser_;
  net::Buffer input_;
  net::Buffer output_;

  std::unique_ptr<Http1ClientStream> stream_;
  // Finished streams whose methods may still be on the stack; freed at the
  // next dispatch().
  std::vector<std::unique_ptr<Http1ClientStream>> retired_;
  uint32_t next_stream_id_ = 1;
  RequestState request_;
  bool response_started_ = false;

  base::Status failure_;
  bool processing_ = false;
  bool remote_close_ = false;  // the server will not take another request here
  bool close_now_ = false;
  bool goaway_ = false;
  bool eof_ = false;
  bool eof_delivered_ = false;
  bool transport_read_disabled_ = false;
  uint32_t stream_read_disabled_ = 0;
};

}  // namespace remora::http::http1
