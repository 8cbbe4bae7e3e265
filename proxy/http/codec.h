// The codec seam: HTTP/1.1 and HTTP/2 codecs, server and client side, behind
// one set of interfaces, so the connection manager and router never know which
// version they serve.
//
// Codecs are sans-I/O: bytes go in through dispatch(), decoded events come out
// through StreamCallbacks, encoded bytes go out through CodecTransport::write().
// Everything is worker-local and single-threaded. Callbacks may re-enter the
// codec (encode a response from inside onHeaders, reset a stream from inside
// onData); codecs must allow it.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "proxy/http/header_map.h"
#include "proxy/net/buffer.h"
#include "xds/base/status.h"

namespace remora::http {

enum class Protocol { kHttp10, kHttp11, kHttp2 };
std::string_view protocolName(Protocol protocol);

enum class StreamResetReason {
  kLocalReset,             // we reset it (router decision, timeout)
  kRemoteReset,            // the peer sent RST_STREAM (or closed mid-message on HTTP/1)
  kConnectionTermination,  // the connection closed under the stream
  kConnectionFailure,      // the upstream connection never came up
  kRefusedStream,          // HTTP/2 REFUSED_STREAM: the peer never processed it (safe to retry)
  kProtocolError,          // the peer broke the protocol on this stream
  kOverflow,               // a stream or buffer limit was hit
};
std::string_view resetReasonName(StreamResetReason reason);

// Decoded events of one stream, in order: onInformational* (responses only),
// onHeaders, onData*, onTrailers?; end_stream (or trailers) marks the end of
// the message. onReset may come at any point and is the last event.
class StreamCallbacks {
 public:
  virtual ~StreamCallbacks() = default;
  virtual void onHeaders(HeaderMapPtr headers, bool end_stream) = 0;
  virtual void onData(net::Buffer& data, bool end_stream) = 0;
  virtual void onTrailers(HeaderMapPtr trailers) = 0;
  // 1xx responses other than 101 (100 Continue); client side only.
  virtual void onInformational(HeaderMapPtr headers) {}
  virtual void onReset(StreamResetReason reason, std::string_view detail) = 0;
  // What we encode into this stream is backing up (HTTP/2 peer window closed or
  // the connection's output buffer full): stop feeding it until "below".
  virtual void onAboveWriteBufferHighWatermark() {}
  virtual void onBelowWriteBufferLowWatermark() {}
};

// The encoding half of one stream. Owned by its codec: valid from its creation
// until the stream ends (both directions complete) or is reset; the codec then
// forgets it after onReset / the final event, so callers drop their pointer.
class Stream {
 public:
  virtual ~Stream() = default;
  // Where decoded events of this stream go. Server side: set inside
  // ServerCodecCallbacks::onNewStream (the codec asks for it).
  virtual void setCallbacks(StreamCallbacks& callbacks) = 0;
  virtual void encodeHeaders(const HeaderMap& headers, bool end_stream) = 0;
  // Drains `data`.
  virtual void encodeData(net::Buffer& data, bool end_stream) = 0;
  // Ends the message with trailers.
  virtual void encodeTrailers(const HeaderMap& trailers) = 0;
  // 100 Continue (server side).
  virtual void encodeInformational(const HeaderMap& headers) = 0;
  // Aborts the stream: RST_STREAM on HTTP/2; on HTTP/1 the connection is closed
  // (there is no other way to abort a message). No callbacks fire for a local reset.
  virtual void resetStream(StreamResetReason reason) = 0;
  // Stops (true) or resumes (false) delivering onData for this stream; on
  // HTTP/2 this withholds WINDOW_UPDATEs so the peer stops sending, on HTTP/1
  // it stops reading the connection. Calls nest.
  virtual void readDisable(bool disable) = 0;
  virtual uint32_t streamId() const = 0;
};

// Where a codec sends its bytes and how it asks for input to pause. Implemented
// by the connection that carries the codec (and by fakes in tests).
class CodecTransport {
 public:
  virtual ~CodecTransport() = default;
  virtual void write(net::Buffer& data) = 0;
  virtual void readDisable(bool disable) = 0;
};

// Limits shared by both HTTP versions; safe defaults (Envoy's where it has one).
struct CodecLimits {
  uint32_t max_request_headers_kb = 60;   // total header block size -> 431
  uint32_t max_headers_count = 100;       // number of fields -> 431
  // HTTP/2
  uint32_t max_concurrent_streams = 100;
  uint32_t initial_stream_window_size = 256 * 1024;
  uint32_t initial_connection_window_size = 1024 * 1024;
  // Per-stream buffered output before onAboveWriteBufferHighWatermark.
  uint32_t stream_buffer_limit = 1024 * 1024;
  // Flood defences (HTTP/2): frames a peer may make us queue, and streams it
  // may reset per second before we GOAWAY it.
  uint32_t max_outbound_control_frames = 1000;
  uint32_t max_resets_per_second = 200;
  uint32_t max_continuation_frames = 16;
};

class ServerCodecCallbacks {
 public:
  virtual ~ServerCodecCallbacks() = default;
  // A new request stream began; `stream` is where the response is encoded. The
  // callee must call stream.setCallbacks() before returning.
  virtual void onNewStream(Stream& stream) = 0;
};

class ServerCodec {
 public:
  virtual ~ServerCodec() = default;
  // Feeds bytes from the client. Consumes what it can (HTTP/1 may leave
  // pipelined requests in `data` while a response is pending and disables
  // reading on the transport). A failure means the connection must be closed
  // after flushing: the codec has already encoded whatever error response the
  // protocol allows (HTTP/1 400/431 with x-remora-error; HTTP/2 GOAWAY).
  virtual base::Status dispatch(net::Buffer& data) = 0;
  // True when the codec must close the connection now, without waiting for
  // streams: HTTP/1 after a local reset of a stream (there is no way to abort
  // one message otherwise) or after a protocol error.
  virtual bool closeNow() const { return false; }
  // The client closed its write side. HTTP/1 ends a tunnel's request side
  // (end_stream) or resets a request whose body is incomplete; a request
  // already complete still gets its response. HTTP/2 ignores it.
  virtual base::Status onTransportEof() { return {}; }
  // Start draining: HTTP/2 sends GOAWAY; HTTP/1 adds Connection: close to the
  // next response.
  virtual void goAway() = 0;
  // True when the connection should close once its output is flushed: HTTP/1
  // after a response that carried Connection: close; HTTP/2 after GOAWAY with
  // no active streams.
  virtual bool wantsClose() const = 0;
  virtual size_t activeStreams() const = 0;
  virtual Protocol protocol() const = 0;
  // The transport's output went above/below its watermark: relay to streams.
  virtual void onTransportAboveHighWatermark() = 0;
  virtual void onTransportBelowLowWatermark() = 0;
};

class ClientCodecCallbacks {
 public:
  virtual ~ClientCodecCallbacks() = default;
  // The server sent GOAWAY / Connection: close: make no new streams here.
  virtual void onGoAway() {}
  // HTTP/2 SETTINGS changed the number of streams we may open.
  virtual void onMaxConcurrentStreams(uint32_t max_streams) {}
  // The peer acknowledged a PING sent by ClientCodec::sendPing() (HTTP/2
  // only). Keepalive logic (the proxy's gRPC client) counts it as proof the
  // peer still reads; called inside dispatch().
  virtual void onPingAck() {}
};

class ClientCodec {
 public:
  virtual ~ClientCodec() = default;
  // Opens a request stream whose response events go to `response_callbacks`.
  virtual Stream& newStream(StreamCallbacks& response_callbacks) = 0;
  virtual base::Status dispatch(net::Buffer& data) = 0;
  // The upstream closed its write side. HTTP/1 ends a close-delimited body
  // here, or resets a stream whose framing says bytes are missing (a
  // truncated body must never look complete). HTTP/2 ignores it.
  virtual base::Status onTransportEof() { return {}; }
  virtual void goAway() = 0;
  virtual size_t activeStreams() const = 0;
  // False once the peer said GOAWAY/close, or (HTTP/1) while a request is in
  // flight, or (HTTP/2) at the peer's max concurrent streams.
  virtual bool canCreateStream() const = 0;
  virtual Protocol protocol() const = 0;
  virtual void onTransportAboveHighWatermark() = 0;
  virtual void onTransportBelowLowWatermark() = 0;
  // Queues an HTTP/2 PING (sent with this call's write); its ACK comes back
  // as ClientCodecCallbacks::onPingAck(). False when the protocol has no
  // PING (HTTP/1) or the connection has failed: the caller treats the peer
  // as unreachable or skips keepalive.
  virtual bool sendPing() { return false; }
};

}  // namespace remora::http
