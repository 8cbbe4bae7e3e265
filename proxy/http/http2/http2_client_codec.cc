#include "proxy/http/http2/http2_client_codec.h"

namespace remora::http::http2 {

Http2ClientCodec::Http2ClientCodec(CodecTransport& transport, ClientCodecCallbacks& callbacks,
                                   const CodecLimits& limits, const Http2Options& options)
    : Http2Connection(/*server=*/false, transport, limits, options), callbacks_(callbacks) {
  peer_max_streams_ = nghttp2_session_get_remote_settings(session(), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

Stream& Http2ClientCodec::newStream(StreamCallbacks& response_callbacks) {
  return createStream(&response_callbacks, 0);
}

bool Http2ClientCodec::canCreateStream() const {
  if (failed() || goAwayReceived() || goAwaySubmitted()) return false;
  if (nghttp2_session_check_request_allowed(session()) == 0) return false;
  return liveStreams() < peer_max_streams_;
}

int Http2ClientCodec::onBeginHeaders(const nghttp2_frame& frame) {
  if (Http2Stream* stream = streamFor(frame.hd.stream_id)) stream->beginHeaders();
  return 0;
}

void Http2ClientCodec::onHeadersComplete(Http2Stream& stream, const nghttp2_frame& frame) {
  const bool end_stream = frame.hd.flags & NGHTTP2_FLAG_END_STREAM;
  HeaderMapPtr headers = std::move(stream.decoding_headers_);
  if (stream.detached_) return;
  if (stream.headers_overflow_ || !headers) {
    stream.abort(StreamResetReason::kOverflow, "response headers over the header limits", NGHTTP2_CANCEL);
    return;
  }
  if (!stream.final_headers_received_) {
    const uint32_t status = headers->status();
    if (status >= 100 && status < 200 && status != 101) {
      stream.callbacks_->onInformational(std::move(headers));
      return;
    }
    stream.final_headers_received_ = true;
    stream.onHeadersDecoded(std::move(headers), end_stream);
    return;
  }
  stream.onTrailersDecoded(std::move(headers));
}

void Http2ClientCodec::onGoAwayFrame(const nghttp2_goaway&) {
  // nghttp2 closes the streams above last_stream_id itself, with
  // REFUSED_STREAM, which each stream reports as kRefusedStream.
  callbacks_.onGoAway();
}

void Http2ClientCodec::onSettingsFrame() {
  const uint32_t max = nghttp2_session_get_remote_settings(session(), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  if (max == peer_max_streams_) return;
  peer_max_streams_ = max;
  callbacks_.onMaxConcurrentStreams(max);
}

}  // namespace remora::http::http2
