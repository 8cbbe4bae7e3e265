// The nghttp2 callback table: noexcept trampolines from nghttp2's C callbacks
// to Http2Connection and Http2Stream, plus the connection-level half of each
// event (flood checks, stream lookup, GOAWAY bookkeeping). The role-specific
// half (what a header block means on a server or a client) lives in
// Http2ServerCodec / Http2ClientCodec.
#include <string>

#include "proxy/http/http2/http2_connection.h"

namespace remora::http::http2 {

struct SessionCallbacks {
  static Http2Connection& conn(void* user_data) { return *static_cast<Http2Connection*>(user_data); }

  static int onBeginFrame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user_data) noexcept {
    Http2Connection& c = conn(user_data);
    return c.destroying_ ? 0 : c.onBeginFrame(*hd);
  }
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) noexcept {
    Http2Connection& c = conn(user_data);
    return c.destroying_ ? 0 : c.onBeginHeaders(*frame);
  }
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* user_data) noexcept {
    Http2Connection& c = conn(user_data);
    if (c.destroying_) return 0;
    return c.onHeader(*frame, std::string_view(reinterpret_cast<const char*>(name), namelen),
                      std::string_view(reinterpret_cast<const char*>(value), valuelen));
  }
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) noexcept {
    Http2Connection& c = conn(user_data);
    return c.destroying_ ? 0 : c.onFrameRecv(*frame);
  }
  static int onDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                         void* user_data) noexcept {
    Http2Connection& c = conn(user_data);
    return c.destroying_ ? 0 : c.onDataChunk(stream_id, data, len);
  }
  static int onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user_data) noexcept {
    Http2Connection& c = conn(user_data);
    return c.destroying_ ? 0 : c.onStreamClose(stream_id, error_code);
  }
  static int onFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user_data) noexcept {
    Http2Connection& c = conn(user_data);
    return c.destroying_ ? 0 : c.onFrameSend(*frame);
  }
  static int onFrameNotSend(nghttp2_session*, const nghttp2_frame* frame, int error, void* user_data) noexcept {
    Http2Connection& c = conn(user_data);
    return c.destroying_ ? 0 : c.onFrameNotSend(*frame, error);
  }
  static int onSendData(nghttp2_session*, nghttp2_frame* frame, const uint8_t* framehd, size_t length,
                        nghttp2_data_source* source, void* user_data) noexcept {
    Http2Connection& c = conn(user_data);
    if (c.destroying_) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return c.onSendData(*frame, framehd, length, *static_cast<Http2Stream*>(source->ptr));
  }
  // Never reached: mem_send is used, so nghttp2 hands frames back instead.
  static ssize_t onSend(nghttp2_session*, const uint8_t*, size_t, int, void*) noexcept {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
};

nghttp2_session_callbacks* newSessionCallbacks() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return nullptr;
  nghttp2_session_callbacks_set_send_callback(cb, &SessionCallbacks::onSend);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cb, &SessionCallbacks::onBeginFrame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &SessionCallbacks::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cb, &SessionCallbacks::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &SessionCallbacks::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &SessionCallbacks::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &SessionCallbacks::onStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, &SessionCallbacks::onFrameSend);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, &SessionCallbacks::onFrameNotSend);
  nghttp2_session_callbacks_set_send_data_callback(cb, &SessionCallbacks::onSendData);
  return cb;
}

int Http2Connection::onBeginFrame(const nghttp2_frame_hd& hd) {
  if (!flood_guard_.onFrameHeader(hd.type, hd.length)) {
    recordFailure(base::fail(base::Error::kFlood, std::string(flood_guard_.reason())), NGHTTP2_ENHANCE_YOUR_CALM);
    // Stop parsing now: the rest of this input is more of the same.
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int Http2Connection::onHeader(const nghttp2_frame& frame, std::string_view name, std::string_view value) {
  if (frame.hd.type != NGHTTP2_HEADERS) return 0;  // PUSH_PROMISE: push is disabled
  if (Http2Stream* s = streamFor(frame.hd.stream_id)) s->onHeaderField(name, value);
  return 0;
}

int Http2Connection::onFrameRecv(const nghttp2_frame& frame) {
  switch (frame.hd.type) {
    case NGHTTP2_DATA:
      if (Http2Stream* s = streamFor(frame.hd.stream_id)) s->onDataFrameEnd(frame.hd.flags & NGHTTP2_FLAG_END_STREAM);
      break;
    case NGHTTP2_HEADERS:
      if (Http2Stream* s = streamFor(frame.hd.stream_id)) onHeadersComplete(*s, frame);
      break;
    case NGHTTP2_RST_STREAM:
      if (server_ && !flood_guard_.onPeerReset()) {
        recordFailure(base::fail(base::Error::kFlood, std::string(flood_guard_.reason())), NGHTTP2_ENHANCE_YOUR_CALM);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      if (Http2Stream* s = streamFor(frame.hd.stream_id)) {
        s->rst_received_ = true;
        s->rst_received_code_ = frame.rst_stream.error_code;
      }
      break;
    case NGHTTP2_GOAWAY:
      goaway_received_ = true;
      onGoAwayFrame(frame.goaway);
      break;
    case NGHTTP2_SETTINGS:
      if (!(frame.hd.flags & NGHTTP2_FLAG_ACK)) onSettingsFrame();
      break;
    case NGHTTP2_PING:
      if (frame.hd.flags & NGHTTP2_FLAG_ACK) onPingAckFrame();
      break;
    default:
      break;
  }
  return 0;
}

int Http2Connection::onDataChunk(int32_t stream_id, const uint8_t* data, size_t length) {
  if (Http2Stream* s = streamFor(stream_id)) {
    s->onDataChunk(data, length);
  } else {
    // A stream we already let go of: the bytes still count against the
    // connection window and must be given back.
    consume(stream_id, length);
  }
  return 0;
}

int Http2Connection::onStreamClose(int32_t stream_id, uint32_t error_code) {
  if (Http2Stream* s = streamFor(stream_id)) s->onClosed(error_code);
  return 0;
}

int Http2Connection::onFrameSend(const nghttp2_frame& frame) {
  switch (frame.hd.type) {
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
      if (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) {
        if (Http2Stream* s = streamFor(frame.hd.stream_id)) s->onLocalEndSent();
      }
      break;
    case NGHTTP2_RST_STREAM:
      if (Http2Stream* s = streamFor(frame.hd.stream_id); s != nullptr && !s->local_reset_) {
        s->rst_sent_by_library_ = true;
      }
      break;
    case NGHTTP2_GOAWAY:
      // nghttp2 found a connection error itself (bad frame, window overflow,
      // its own flood limits): that is a dispatch failure too.
      if (frame.goaway.error_code != NGHTTP2_NO_ERROR && !failure_) {
        base::Error kind =
            frame.goaway.error_code == NGHTTP2_ENHANCE_YOUR_CALM ? base::Error::kFlood : base::Error::kProtocol;
        failure_ = base::fail(kind, std::string("HTTP/2 GOAWAY sent: ") +
                                        nghttp2_http2_strerror(frame.goaway.error_code));
      }
      break;
    default:
      break;
  }
  return 0;
}

int Http2Connection::onFrameNotSend(const nghttp2_frame& frame, int error) {
  if (failure_ || frame.hd.type != NGHTTP2_HEADERS) return 0;
  // The stream may not exist in nghttp2 (a request it never opened), so look
  // it up on our side.
  Http2Stream* s = findLiveStream(frame.hd.stream_id);
  if (s == nullptr) return 0;
  const std::string detail = std::string("HEADERS not sent: ") + nghttp2_strerror(error);
  if (frame.headers.cat == NGHTTP2_HCAT_REQUEST) {
    // Nothing reached the server: safe to retry elsewhere.
    s->notifyReset(StreamResetReason::kRefusedStream, detail);
    if (nghttp2_session_find_stream(session_, s->id_) == nullptr) scheduleDelete(*s);
    return 0;
  }
  s->notifyReset(StreamResetReason::kLocalReset, detail);
  s->local_reset_ = true;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id_, NGHTTP2_INTERNAL_ERROR);
  return 0;
}

int Http2Connection::onSendData(nghttp2_frame& frame, const uint8_t* framehd, size_t length, Http2Stream& stream) {
  out_.add(framehd, 9);
  // We never ask for padding, but a frame that carries some must still be
  // well formed.
  const size_t padlen = frame.data.padlen;
  if (padlen > 0) {
    const uint8_t pad_length = static_cast<uint8_t>(padlen - 1);
    out_.add(&pad_length, 1);
  }
  out_.move(stream.pending_send_, length);
  if (padlen > 1) {
    static constexpr uint8_t kZeros[256] = {};
    out_.add(kZeros, padlen - 1);
  }
  stream.onDataSent(length);
  return 0;
}

}  // namespace remora::http::http2
