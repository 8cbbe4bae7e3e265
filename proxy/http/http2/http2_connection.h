// Http2Connection: the session plumbing shared by Http2ServerCodec and
// Http2ClientCodec. It owns the nghttp2_session, its options and SETTINGS,
// the streams, and the rule that every public operation ends with exactly one
// transport write of everything nghttp2 queued (frames batched per operation).
//
// Worker-local. Re-entrancy: callbacks run inside an operation; the codec may
// be called back from them (encode, reset, readDisable) and such nested calls
// neither write nor delete anything: the outermost operation does both when
// it ends. Destroying the codec from inside one of its callbacks is not
// supported.
#pragma once

#include <nghttp2/nghttp2.h>

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "proxy/http/codec.h"
#include "proxy/http/http2/flood_guard.h"
#include "proxy/http/http2/http2_codec.h"
#include "proxy/http/http2/http2_headers.h"
#include "proxy/http/http2/http2_stream.h"

namespace remora::http::http2 {

class Http2Connection {
 public:
  Http2Connection(const Http2Connection&) = delete;
  Http2Connection& operator=(const Http2Connection&) = delete;
  virtual ~Http2Connection();

  // RAII for one public operation; the outermost one flushes and deletes.
  class OperationScope {
   public:
    explicit OperationScope(Http2Connection& c) : c_(c) { ++c_.depth_; }
    ~OperationScope() {
      if (c_.depth_ == 1) c_.finishOperation();
      --c_.depth_;
    }
    OperationScope(const OperationScope&) = delete;
    OperationScope& operator=(const OperationScope&) = delete;

   private:
    Http2Connection& c_;
  };

  // --- for Http2Stream ---
  nghttp2_session* session() const { return session_; }
  bool isServer() const { return server_; }
  bool failed() const { return failure_.has_value(); }
  const CodecLimits& limits() const { return limits_; }
  NvBuilder& nvScratch() { return nv_scratch_; }
  // Whether a HEADERS frame submitted now is serialized before the caller's
  // HeaderMap can go away, so nghttp2 may point into it instead of copying:
  // a server response (never queued for concurrency) in an outermost
  // operation whose flush the transport is not holding back.
  bool canBorrowHeaders() const { return server_ && depth_ == 1 && !flushing_ && !transport_above_; }
  bool transportAbove() const { return transport_above_; }
  // Flow-control credit for `size` bytes the application has taken.
  void consume(int32_t stream_id, size_t size);
  void scheduleDelete(Http2Stream& stream);
  void queueBelowWatermark(Http2Stream& stream) { below_watermark_.push_back(&stream); }
  void appendOutput(const uint8_t* data, size_t size) { out_.add(data, size); }
  void moveOutput(net::Buffer& from, size_t size) { out_.move(from, size); }

 protected:
  Http2Connection(bool server, CodecTransport& transport, const CodecLimits& limits, const Http2Options& options);

  base::Status dispatchBytes(net::Buffer& data);
  void submitGoAway();
  // Queues a PING and flushes it; false once the connection has failed.
  bool submitPing();
  bool wantsCloseNow() const;
  size_t liveStreams() const { return live_.size(); }
  Http2Stream& createStream(StreamCallbacks* callbacks, int32_t id);
  void relayTransportAbove();
  void relayTransportBelow();
  bool goAwayReceived() const { return goaway_received_; }
  bool goAwaySubmitted() const { return goaway_submitted_; }
  // The stream nghttp2 knows under `id`, or null once we let go of it.
  Http2Stream* streamFor(int32_t id) const;

  // Role hooks, called from nghttp2 callbacks inside an operation.
  // A request (server) or response/trailers (client) header block begins.
  virtual int onBeginHeaders(const nghttp2_frame& frame) = 0;
  // A whole header block has been decoded into stream.decoding_headers_.
  virtual void onHeadersComplete(Http2Stream& stream, const nghttp2_frame& frame) = 0;
  virtual void onGoAwayFrame(const nghttp2_goaway& goaway) {}
  virtual void onSettingsFrame() {}
  // The ACK of a PING we sent (the library answers the peer's PINGs itself).
  virtual void onPingAckFrame() {}

  // Fails the connection: GOAWAY with `h2_error` goes out with this
  // operation's flush, dispatch() returns `failure`.
  void recordFailure(base::Failure failure, uint32_t h2_error);

  CodecTransport& transport_;
  const CodecLimits limits_;

 private:
  friend struct SessionCallbacks;

  void finishOperation();
  void flush();
  void failStreams();
  Http2Stream* findLiveStream(int32_t id) const;

  // nghttp2 callbacks, reached through SessionCallbacks' trampolines.
  int onBeginFrame(const nghttp2_frame_hd& hd);
  int onHeader(const nghttp2_frame& frame, std::string_view name, std::string_view value);
  int onFrameRecv(const nghttp2_frame& frame);
  int onDataChunk(int32_t stream_id, const uint8_t* data, size_t length);
  int onStreamClose(int32_t stream_id, uint32_t error_code);
  int onFrameSend(const nghttp2_frame& frame);
  int onFrameNotSend(const nghttp2_frame& frame, int error);
  int onSendData(nghttp2_frame& frame, const uint8_t* framehd, size_t length, Http2Stream& stream);

  const bool server_;
  nghttp2_session* session_ = nullptr;
  FloodGuard flood_guard_;
  NvBuilder nv_scratch_;
  net::Buffer out_;
  std::vector<std::unique_ptr<Http2Stream>> live_;
  std::vector<std::unique_ptr<Http2Stream>> graveyard_;
  std::vector<Http2Stream*> below_watermark_;
  std::optional<base::Failure> failure_;
  int depth_ = 0;
  bool flushing_ = false;
  bool transport_above_ = false;
  bool goaway_submitted_ = false;
  bool goaway_received_ = false;
  bool destroying_ = false;
};

}  // namespace remora::http::http2
