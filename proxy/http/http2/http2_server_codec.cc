#include "proxy/http/http2/http2_server_codec.h"

#include <string_view>

namespace remora::http::http2 {

Http2ServerCodec::Http2ServerCodec(CodecTransport& transport, ServerCodecCallbacks& callbacks,
                                   const CodecLimits& limits, const Http2Options& options)
    : Http2Connection(/*server=*/true, transport, limits, options), callbacks_(callbacks) {}

int Http2ServerCodec::onBeginHeaders(const nghttp2_frame& frame) {
  const int32_t id = frame.hd.stream_id;
  if (frame.headers.cat == NGHTTP2_HCAT_REQUEST) {
    // The stream object exists from the first header on, so the block has
    // somewhere to accumulate; the router hears of it only when it is whole.
    Http2Stream& stream = createStream(nullptr, id);
    nghttp2_session_set_stream_user_data(session(), id, &stream);
    stream.beginHeaders();
  } else if (Http2Stream* stream = streamFor(id)) {
    stream->beginHeaders();  // trailers
  }
  return 0;
}

void Http2ServerCodec::onHeadersComplete(Http2Stream& stream, const nghttp2_frame& frame) {
  const bool end_stream = frame.hd.flags & NGHTTP2_FLAG_END_STREAM;
  HeaderMapPtr headers = std::move(stream.decoding_headers_);
  if (!stream.final_headers_received_) {
    stream.final_headers_received_ = true;
    if (stream.headers_overflow_ || !headers) {
      rejectRequest(stream, end_stream);
      return;
    }
    callbacks_.onNewStream(stream);
    if (stream.callbacks_ == nullptr) {
      // The connection manager broke its contract; refuse rather than crash.
      stream.detached_ = true;
      stream.abort(StreamResetReason::kLocalReset, "no stream callbacks", NGHTTP2_REFUSED_STREAM);
      return;
    }
    stream.onHeadersDecoded(std::move(headers), end_stream);
    return;
  }
  if (stream.headers_overflow_ || !headers) {
    stream.abort(StreamResetReason::kOverflow, "request trailers over the header limits", NGHTTP2_INTERNAL_ERROR);
    return;
  }
  stream.onTrailersDecoded(std::move(headers));
}

void Http2ServerCodec::rejectRequest(Http2Stream& stream, bool end_stream) {
  // Never exposed: no callbacks, and DATA that follows is dropped (and its
  // flow-control credit returned) by the detached stream.
  stream.detached_ = true;
  stream.local_reset_ = true;
  stream.headers_submitted_ = true;
  static constexpr std::string_view kStatus = ":status";
  static constexpr std::string_view k431 = "431";
  static constexpr std::string_view kErrorHeader = "x-remora-error";
  const std::string_view reason = base::errorName(base::Error::kHeadersTooLarge);
  constexpr uint8_t kNoCopy = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
  auto bytes = [](std::string_view s) { return const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(s.data())); };
  const nghttp2_nv nva[] = {
      {bytes(kStatus), bytes(k431), kStatus.size(), k431.size(), kNoCopy},
      {bytes(kErrorHeader), bytes(reason), kErrorHeader.size(), reason.size(), kNoCopy},
  };
  nghttp2_submit_response(session(), stream.id_, nva, 2, nullptr);
  // Submitting RST_STREAM now would mark the stream closing and cancel the
  // response, so it follows once the response is out (onLocalEndSent).
  stream.rst_after_response_ = !end_stream;
}

}  // namespace remora::http::http2
