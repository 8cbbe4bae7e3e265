#include "proxy/http/http1/http1_server_codec.h"

#include "proxy/http/http1/http1_encoder.h"
#include "proxy/http/http1/http1_syntax.h"

namespace remora::http::http1 {

using base::Status;
using Event = Http1Parser::Event;

// ---- Http1ServerStream: forwards to the codec, which owns the state ----------

void Http1ServerStream::encodeHeaders(const HeaderMap& headers, bool end_stream) {
  codec_.encodeHeaders(*this, headers, end_stream);
}
void Http1ServerStream::encodeData(net::Buffer& data, bool end_stream) { codec_.encodeData(*this, data, end_stream); }
void Http1ServerStream::encodeTrailers(const HeaderMap& trailers) { codec_.encodeTrailers(*this, trailers); }
void Http1ServerStream::encodeInformational(const HeaderMap& headers) { codec_.encodeInformational(*this, headers); }
void Http1ServerStream::resetStream(StreamResetReason) { codec_.resetStream(*this); }
void Http1ServerStream::readDisable(bool disable) { codec_.readDisable(*this, disable); }

// ---- Http1ServerCodec ----------------------------------------------------------

Http1ServerCodec::Http1ServerCodec(CodecTransport& transport, ServerCodecCallbacks& callbacks,
                                   const CodecLimits& limits)
    : transport_(transport), callbacks_(callbacks), parser_(Http1Parser::Mode::kRequest, limits) {}

Http1ServerCodec::~Http1ServerCodec() = default;

bool Http1ServerCodec::wantsClose() const {
  if (close_now_) return true;
  if (stream_) return false;
  return close_after_response_ || goaway_;
}

Status Http1ServerCodec::dispatch(net::Buffer& data) {
  // dispatch() is only called from the connection's read callback, so no
  // retired stream's method can still be on the stack here.
  if (!processing_) retired_.clear();
  if (!failure_) {
    data.clear();
    return failure_;
  }
  if (close_now_ || peer_eof_) {
    data.clear();
    return Status::ok();
  }
  input_.move(data);
  return processInput();
}

Status Http1ServerCodec::onTransportEof() {
  if (!processing_) retired_.clear();
  if (peer_eof_ || close_now_) return Status::ok();
  peer_eof_ = true;
  // The EOF is delivered once the buffered bytes before it are consumed.
  return processInput();
}

Status Http1ServerCodec::processInput() {
  if (processing_) return Status::ok();  // the loop further up the stack continues
  processing_ = true;
  Status status;
  bool more = true;
  while (more && !close_now_) {
    if (stream_ && request_.complete) break;  // request N+1 waits for response N
    if (!stream_ && close_after_response_) {
      input_.clear();  // the connection is closing: no further request is read
      break;
    }
    if (stream_read_disabled_ > 0) break;
    auto event = parser_.next(input_);
    if (!event) {
      status = onParseError(event.error());
      break;
    }
    switch (*event) {
      case Event::kNeedMoreData:
        if (peer_eof_ && !eof_delivered_) deliverEof();
        more = false;
        break;
      case Event::kHeaders:
        onRequestHead();
        break;
      case Event::kData:
        onRequestData(parser_.dataEndsMessage());
        break;
      case Event::kTrailers:
        onRequestTrailers();
        break;
      case Event::kMessageComplete:
        onRequestData(true);
        break;
    }
  }
  processing_ = false;
  updateReadDisable();
  return status;
}

void Http1ServerCodec::onRequestHead() {
  const Http1Parser::Head& head = parser_.head();
  HeaderMapPtr headers = parser_.takeHeaders();
  removeConnectionNominatedHeaders(*headers, /*keep_upgrade=*/head.upgrade);
  request_ = RequestState{};
  request_.version = head.version;
  request_.keep_alive = head.keep_alive;
  request_.head = head.head_method;
  request_.tunnel = head.upgrade;
  request_.connect = head.connect;
  request_.complete = head.framing == Http1Parser::Framing::kNone;
  response_ = ResponseState{};
  protocol_ = head.version;
  const bool end_stream = request_.complete;
  stream_ = std::make_unique<Http1ServerStream>(*this, next_stream_id_++);
  callbacks_.onNewStream(*stream_);
  if (StreamCallbacks* cb = streamCallbacks()) cb->onHeaders(std::move(headers), end_stream);
}

void Http1ServerCodec::onRequestData(bool end_stream) {
  net::Buffer& data = parser_.data();
  if (end_stream) request_.complete = true;
  if (StreamCallbacks* cb = streamCallbacks()) cb->onData(data, end_stream);
  data.clear();
}

void Http1ServerCodec::onRequestTrailers() {
  request_.complete = true;
  HeaderMapPtr trailers = parser_.takeHeaders();
  if (StreamCallbacks* cb = streamCallbacks()) cb->onTrailers(std::move(trailers));
}

Status Http1ServerCodec::onParseError(const base::Failure& failure) {
  failure_ = failure;
  input_.clear();
  const bool can_respond = !response_.started;
  if (stream_) {
    StreamCallbacks* cb = streamCallbacks();
    retired_.push_back(std::move(stream_));
    if (cb != nullptr) cb->onReset(StreamResetReason::kProtocolError, failure.message);
  }
  // When a response is half written nothing more can be said; otherwise the
  // error response is the last thing on this connection (flush, then close).
  if (can_respond) writeErrorResponse(parser_.errorStatus(), failure.message);
  close_now_ = true;
  close_after_response_ = true;
  return failure_;
}

void Http1ServerCodec::deliverEof() {
  eof_delivered_ = true;
  Http1Parser::EofOutcome outcome = parser_.onEof();
  if (!stream_ || request_.complete) {
    close_after_response_ = true;
    return;
  }
  StreamCallbacks* cb = streamCallbacks();
  if (outcome == Http1Parser::EofOutcome::kComplete) {
    // The end of a tunnel's client side.
    request_.complete = true;
    close_after_response_ = true;
    net::Buffer empty;
    if (cb != nullptr) cb->onData(empty, true);
    return;
  }
  // The client went away mid-request; the stream can never complete.
  close_now_ = true;
  retired_.push_back(std::move(stream_));
  if (cb != nullptr) cb->onReset(StreamResetReason::kRemoteReset, "client closed mid-request");
}

void Http1ServerCodec::writeErrorResponse(uint32_t status, std::string_view reason) {
  HeaderMap headers;
  headers.add("x-remora-error", reason);
  HeadFraming framing;
  framing.content_length = 0;
  framing.connection = "close";
  encodeResponseHead(status, headers, framing, output_);
  transport_.write(output_);
  close_after_response_ = true;
}

void Http1ServerCodec::encodeHeaders(Http1ServerStream& stream, const HeaderMap& headers, bool end_stream) {
  if (!isCurrent(stream) || response_.started) return;
  uint32_t status = headers.status();
  if (status == 0) status = 500;  // a caller bug; never send a status line without a code
  if (status < 200 && status != 101) {
    encodeInformational(stream, headers);
    return;
  }
  response_.started = true;
  const bool tunnel_accepted =
      request_.tunnel && ((request_.connect && status / 100 == 2) || (!request_.connect && status == 101));
  bool close = goaway_ || peer_eof_ || !request_.keep_alive;
  // An early response leaves the rest of the request unread, and a refused
  // upgrade leaves raw client bytes in the pipe: neither connection is reusable.
  if (!request_.complete || request_.tunnel) close = true;
  if (auto connection = headers.get("connection"); connection && listHasToken(*connection, "close")) close = true;

  HeadFraming framing;
  if (tunnel_accepted) {
    response_.mode = BodyMode::kUntilClose;
    if (status == 101) framing.connection = "upgrade";
  } else {
    const bool no_body = request_.head || status == 204 || status == 304 || status == 101;
    std::optional<uint64_t> length;
    if (auto cl = headers.get("content-length")) length = parseContentLength(*cl);
    if (no_body) {
      response_.mode = BodyMode::kNone;
      // HEAD and 304 may announce the length a GET would have had.
      if (status != 204 && status != 101) framing.content_length = length;
    } else if (length) {
      response_.mode = BodyMode::kContentLength;
      response_.remaining = *length;
      framing.content_length = length;
    } else if (end_stream) {
      response_.mode = BodyMode::kContentLength;
      framing.content_length = 0;
    } else if (request_.version == Protocol::kHttp11) {
      response_.mode = BodyMode::kChunked;
      framing.chunked = true;
    } else {
      // An HTTP/1.0 client understands no chunking: the close ends the body.
      response_.mode = BodyMode::kUntilClose;
      close = true;
    }
    framing.connection = close ? "close" : (request_.version == Protocol::kHttp10 ? "keep-alive" : "");
  }
  close_after_response_ = close_after_response_ || close;
  encodeResponseHead(status, headers, framing, output_);
  transport_.write(output_);
  if (end_stream) endResponse();
}

void Http1ServerCodec::encodeData(Http1ServerStream& stream, net::Buffer& data, bool end_stream) {
  if (!isCurrent(stream) || !response_.started || response_.complete) {
    data.clear();
    return;
  }
  switch (response_.mode) {
    case BodyMode::kNone:
      data.clear();
      break;
    case BodyMode::kContentLength:
      if (data.length() > response_.remaining) {
        // Bytes past the announced length would read as the next response.
        output_.move(data, static_cast<size_t>(response_.remaining));
        data.clear();
        response_.remaining = 0;
        close_now_ = true;
      } else {
        response_.remaining -= data.length();
        output_.move(data);
      }
      break;
    case BodyMode::kChunked:
      if (!data.empty()) {
        encodeChunkHeader(data.length(), output_);
        output_.move(data);
        output_.add("\r\n");
      }
      if (end_stream) encodeLastChunk(nullptr, output_);
      break;
    case BodyMode::kUntilClose:
      output_.move(data);
      break;
  }
  if (!output_.empty()) transport_.write(output_);
  if (end_stream) endResponse();
}

void Http1ServerCodec::encodeTrailers(Http1ServerStream& stream, const HeaderMap& trailers) {
  if (!isCurrent(stream) || !response_.started || response_.complete) return;
  // Only chunked framing can carry trailers; otherwise they are dropped.
  if (response_.mode == BodyMode::kChunked) {
    encodeLastChunk(&trailers, output_);
    transport_.write(output_);
  }
  endResponse();
}

void Http1ServerCodec::encodeInformational(Http1ServerStream& stream, const HeaderMap& headers) {
  if (!isCurrent(stream) || response_.started) return;
  // HTTP/1.0 clients do not expect interim responses.
  if (request_.version != Protocol::kHttp11) return;
  uint32_t status = headers.status();
  if (status < 100 || status >= 200 || status == 101) status = 100;
  encodeResponseHead(status, headers, HeadFraming{}, output_);
  transport_.write(output_);
}

void Http1ServerCodec::resetStream(Http1ServerStream& stream) {
  if (!isCurrent(stream)) return;
  // HTTP/1 cannot abort one message: the connection goes.
  close_now_ = true;
  retired_.push_back(std::move(stream_));
  input_.clear();
  stream_read_disabled_ = 0;
  updateReadDisable();
}

void Http1ServerCodec::readDisable(Http1ServerStream& stream, bool disable) {
  if (!isCurrent(stream)) return;
  if (disable) {
    ++stream_read_disabled_;
  } else if (stream_read_disabled_ > 0) {
    --stream_read_disabled_;
  }
  if (stream_read_disabled_ == 0 && !processing_) {
    // Body bytes may have stayed buffered while we were disabled.
    (void)processInput();
    return;
  }
  updateReadDisable();
}

void Http1ServerCodec::endResponse() {
  response_.complete = true;
  // A response shorter than its Content-Length: the client would wait forever
  // or read the next response as body.
  if (response_.mode == BodyMode::kContentLength && response_.remaining > 0) close_now_ = true;
  if (!request_.complete) close_after_response_ = true;
  finishStream();
}

void Http1ServerCodec::finishStream() {
  retired_.push_back(std::move(stream_));
  stream_read_disabled_ = 0;
  request_ = RequestState{};
  response_ = ResponseState{};
  // Inside processInput() the loop picks up the next pipelined request;
  // otherwise resume here (errors are encoded and show in wantsClose()).
  if (!processing_) (void)processInput();
}

void Http1ServerCodec::updateReadDisable() {
  const bool want = !close_now_ && (stream_read_disabled_ > 0 || (stream_ && request_.complete && !input_.empty()));
  if (want == transport_read_disabled_) return;
  transport_read_disabled_ = want;
  transport_.readDisable(want);
}

void Http1ServerCodec::onTransportAboveHighWatermark() {
  if (StreamCallbacks* cb = streamCallbacks()) cb->onAboveWriteBufferHighWatermark();
}

void Http1ServerCodec::onTransportBelowLowWatermark() {
  if (StreamCallbacks* cb = streamCallbacks()) cb->onBelowWriteBufferLowWatermark();
}

}  // namespace remora::http::http1
