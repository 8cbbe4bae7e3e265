#include "proxy/http/http1/http1_client_codec.h"

#include <cassert>

#include "proxy/http/http1/http1_encoder.h"
#include "proxy/http/http1/http1_syntax.h"

namespace remora::http::http1 {

using base::Status;
using Event = Http1Parser::Event;

// ---- Http1ClientStream ---------------------------------------------------------

void Http1ClientStream::encodeHeaders(const HeaderMap& headers, bool end_stream) {
  codec_.encodeHeaders(*this, headers, end_stream);
}
void Http1ClientStream::encodeData(net::Buffer& data, bool end_stream) { codec_.encodeData(*this, data, end_stream); }
void Http1ClientStream::encodeTrailers(const HeaderMap& trailers) { codec_.encodeTrailers(*this, trailers); }
void Http1ClientStream::resetStream(StreamResetReason) { codec_.resetStream(*this); }
void Http1ClientStream::readDisable(bool disable) { codec_.readDisable(*this, disable); }

// ---- Http1ClientCodec ------------------------------------------------------------

Http1ClientCodec::Http1ClientCodec(CodecTransport& transport, ClientCodecCallbacks& callbacks,
                                   const CodecLimits& limits)
    : transport_(transport), callbacks_(callbacks), parser_(Http1Parser::Mode::kResponse, limits) {}

Http1ClientCodec::~Http1ClientCodec() = default;

bool Http1ClientCodec::canCreateStream() const {
  return !stream_ && !remote_close_ && !close_now_ && !goaway_ && !eof_ && failure_.has_value();
}

Stream& Http1ClientCodec::newStream(StreamCallbacks& response_callbacks) {
  assert(!stream_ && "HTTP/1 carries one request at a time");
  if (stream_) {
    // Misuse in a release build: the old exchange cannot continue safely.
    close_now_ = true;
    retired_.push_back(std::move(stream_));
  }
  stream_ = std::make_unique<Http1ClientStream>(*this, next_stream_id_++, response_callbacks);
  request_ = RequestState{};
  response_started_ = false;
  return *stream_;
}

Status Http1ClientCodec::dispatch(net::Buffer& data) {
  if (!processing_) retired_.clear();
  if (!failure_) {
    data.clear();
    return failure_;
  }
  if (close_now_ || eof_) {
    data.clear();
    return Status::ok();
  }
  input_.move(data);
  return processInput();
}

Status Http1ClientCodec::onTransportEof() {
  if (!processing_) retired_.clear();
  if (eof_) return Status::ok();
  eof_ = true;
  // Delivered once the bytes buffered before it are consumed.
  return processInput();
}

Status Http1ClientCodec::processInput() {
  if (processing_) return Status::ok();
  processing_ = true;
  Status status;
  bool more = true;
  while (more && !close_now_) {
    if (!stream_ || !request_.started) {
      if (input_.empty()) {
        if (eof_ && !eof_delivered_) deliverEof();
        break;
      }
      if (remote_close_) {
        input_.clear();  // the server said it is done; what follows is noise
        break;
      }
      // A response nobody asked for would be taken as the next request's.
      status = onParseError(base::fail(base::Error::kProtocol, "unsolicited_response"));
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
        if (eof_ && !eof_delivered_) deliverEof();
        more = false;
        break;
      case Event::kHeaders:
        onResponseHead();
        break;
      case Event::kData:
        onResponseData(parser_.dataEndsMessage());
        break;
      case Event::kTrailers:
        onResponseTrailers();
        break;
      case Event::kMessageComplete:
        onResponseData(true);
        break;
    }
  }
  processing_ = false;
  updateReadDisable();
  return status;
}

void Http1ClientCodec::onResponseHead() {
  const Http1Parser::Head& head = parser_.head();
  HeaderMapPtr headers = parser_.takeHeaders();
  removeConnectionNominatedHeaders(*headers, /*keep_upgrade=*/headers->status() == 101);
  if (head.informational) {
    if (StreamCallbacks* cb = streamCallbacks()) cb->onInformational(std::move(headers));
    return;
  }
  response_started_ = true;
  if (!head.keep_alive) remoteClose();
  if (head.framing == Http1Parser::Framing::kNone) {
    StreamCallbacks* cb = finishStream();
    if (cb != nullptr) cb->onHeaders(std::move(headers), true);
    return;
  }
  if (StreamCallbacks* cb = streamCallbacks()) cb->onHeaders(std::move(headers), false);
}

void Http1ClientCodec::onResponseData(bool end_stream) {
  net::Buffer& data = parser_.data();
  StreamCallbacks* cb = end_stream ? finishStream() : streamCallbacks();
  if (cb != nullptr) cb->onData(data, end_stream);
  data.clear();
}

void Http1ClientCodec::onResponseTrailers() {
  HeaderMapPtr trailers = parser_.takeHeaders();
  StreamCallbacks* cb = finishStream();
  if (cb != nullptr) cb->onTrailers(std::move(trailers));
}

Status Http1ClientCodec::onParseError(const base::Failure& failure) {
  failure_ = failure;
  close_now_ = true;
  input_.clear();
  if (stream_) {
    StreamCallbacks* cb = streamCallbacks();
    retired_.push_back(std::move(stream_));
    if (cb != nullptr) cb->onReset(StreamResetReason::kProtocolError, failure.message);
  }
  return failure_;
}

void Http1ClientCodec::deliverEof() {
  eof_delivered_ = true;
  remoteClose();
  if (!stream_) return;
  if (parser_.onEof() == Http1Parser::EofOutcome::kComplete && response_started_) {
    // A close-delimited body, or a tunnel, ends with the connection.
    StreamCallbacks* cb = finishStream();
    net::Buffer empty;
    if (cb != nullptr) cb->onData(empty, true);
    return;
  }
  // No response, or fewer bytes than its framing promised: never complete.
  StreamCallbacks* cb = streamCallbacks();
  retired_.push_back(std::move(stream_));
  if (cb != nullptr) {
    cb->onReset(StreamResetReason::kConnectionTermination,
                response_started_ ? "upstream closed mid-response" : "upstream closed before responding");
  }
}

StreamCallbacks* Http1ClientCodec::finishStream() {
  StreamCallbacks* cb = streamCallbacks();
  // A response that ends before its request was fully sent leaves the
  // connection mid-message: it cannot carry another request.
  if (!request_.complete) remoteClose();
  retired_.push_back(std::move(stream_));
  request_ = RequestState{};
  response_started_ = false;
  stream_read_disabled_ = 0;
  return cb;
}

void Http1ClientCodec::remoteClose() {
  if (remote_close_) return;
  remote_close_ = true;
  callbacks_.onGoAway();
}

void Http1ClientCodec::encodeHeaders(Http1ClientStream& stream, const HeaderMap& headers, bool end_stream) {
  if (!isCurrent(stream) || request_.started) return;
  request_.started = true;
  const std::string_view method = headers.method();
  const bool connect = method == "CONNECT";
  bool websocket = false;
  if (auto upgrade = headers.get("upgrade")) websocket = listHasToken(*upgrade, "websocket");
  parser_.setResponseContext({method == "HEAD", connect, websocket});

  HeadFraming framing;
  std::optional<uint64_t> length;
  if (auto cl = headers.get("content-length")) length = parseContentLength(*cl);
  if (connect || websocket) {
    // After the 101 / 2xx both directions are raw bytes.
    request_.mode = BodyMode::kUntilClose;
    if (websocket) framing.connection = "upgrade";
  } else if (length) {
    request_.mode = BodyMode::kContentLength;
    request_.remaining = *length;
    framing.content_length = length;
  } else if (end_stream) {
    request_.mode = BodyMode::kContentLength;
    // Servers may insist on a length for methods that usually carry a body.
    if (method == "POST" || method == "PUT" || method == "PATCH") framing.content_length = 0;
  } else {
    request_.mode = BodyMode::kChunked;
    framing.chunked = true;
  }
  if (goaway_ && framing.connection.empty()) framing.connection = "close";
  encodeRequestHead(headers, framing, output_);
  transport_.write(output_);
  if (end_stream) request_.complete = true;
}

void Http1ClientCodec::encodeData(Http1ClientStream& stream, net::Buffer& data, bool end_stream) {
  if (!isCurrent(stream) || !request_.started || request_.complete) {
    data.clear();
    return;
  }
  switch (request_.mode) {
    case BodyMode::kContentLength:
      if (data.length() > request_.remaining) {
        // More than announced would be read as the next request.
        output_.move(data, static_cast<size_t>(request_.remaining));
        data.clear();
        request_.remaining = 0;
        close_now_ = true;
      } else {
        request_.remaining -= data.length();
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
  if (end_stream) {
    request_.complete = true;
    if (request_.mode == BodyMode::kContentLength && request_.remaining > 0) close_now_ = true;
  }
}

void Http1ClientCodec::encodeTrailers(Http1ClientStream& stream, const HeaderMap& trailers) {
  if (!isCurrent(stream) || !request_.started || request_.complete) return;
  if (request_.mode == BodyMode::kChunked) {
    encodeLastChunk(&trailers, output_);
    transport_.write(output_);
  } else if (request_.mode == BodyMode::kContentLength && request_.remaining > 0) {
    close_now_ = true;
  }
  request_.complete = true;
}

void Http1ClientCodec::resetStream(Http1ClientStream& stream) {
  if (!isCurrent(stream)) return;
  close_now_ = true;
  retired_.push_back(std::move(stream_));
  input_.clear();
  stream_read_disabled_ = 0;
  updateReadDisable();
}

void Http1ClientCodec::readDisable(Http1ClientStream& stream, bool disable) {
  if (!isCurrent(stream)) return;
  if (disable) {
    ++stream_read_disabled_;
  } else if (stream_read_disabled_ > 0) {
    --stream_read_disabled_;
  }
  if (stream_read_disabled_ == 0 && !processing_) {
    (void)processInput();
    return;
  }
  updateReadDisable();
}

void Http1ClientCodec::updateReadDisable() {
  const bool want = !close_now_ && stream_read_disabled_ > 0;
  if (want == transport_read_disabled_) return;
  transport_read_disabled_ = want;
  transport_.readDisable(want);
}

void Http1ClientCodec::onTransportAboveHighWatermark() {
  if (StreamCallbacks* cb = streamCallbacks()) cb->onAboveWriteBufferHighWatermark();
}

void Http1ClientCodec::onTransportBelowLowWatermark() {
  if (StreamCallbacks* cb = streamCallbacks()) cb->onBelowWriteBufferLowWatermark();
}

}  // namespace remora::http::http1
