#include "proxy/http/http2/http2_stream.h"

#include <algorithm>
#include <utility>

#include "proxy/http/http2/http2_connection.h"

namespace remora::http::http2 {
namespace {

ssize_t readCallback(nghttp2_session*, int32_t, uint8_t*, size_t length, uint32_t* data_flags,
                     nghttp2_data_source* source, void*) noexcept {
  return static_cast<Http2Stream*>(source->ptr)->readOutboundTrampoline(length, data_flags);
}

uint32_t resetCode(StreamResetReason reason) {
  switch (reason) {
    case StreamResetReason::kRefusedStream: return NGHTTP2_REFUSED_STREAM;
    case StreamResetReason::kLocalReset:
    case StreamResetReason::kRemoteReset:
    case StreamResetReason::kConnectionTermination: return NGHTTP2_CANCEL;
    default: return NGHTTP2_INTERNAL_ERROR;
  }
}

}  // namespace

Http2Stream::Http2Stream(Http2Connection& connection, StreamCallbacks* callbacks, int32_t id)
    : connection_(connection), callbacks_(callbacks), id_(id) {}

bool Http2Stream::inactive() const { return detached_ || local_reset_ || connection_.failed(); }

// --- encoding ---

void Http2Stream::encodeHeaders(const HeaderMap& headers, bool end_stream) {
  if (inactive() || headers_submitted_) return;
  Http2Connection::OperationScope scope(connection_);
  headers_submitted_ = true;
  local_end_pending_ = end_stream;
  NvBuilder& nv = connection_.nvScratch();
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = &readCallback;
  const nghttp2_data_provider* body = end_stream ? nullptr : &provider;
  nghttp2_session* session = connection_.session();
  if (connection_.isServer()) {
    nv.build(headers, NvBuilder::Kind::kResponse, connection_.canBorrowHeaders());
    nghttp2_submit_response(session, id_, nv.data(), nv.size(), body);
    return;
  }
  nv.build(headers, NvBuilder::Kind::kRequest, false);
  int32_t id = nghttp2_submit_request(session, nullptr, nv.data(), nv.size(), body, this);
  if (id < 0) {
    // Stream ids ran out or the session is going away: nothing was sent.
    notifyReset(StreamResetReason::kRefusedStream, nghttp2_strerror(id));
    connection_.scheduleDelete(*this);
    return;
  }
  id_ = id;
}

void Http2Stream::encodeInformational(const HeaderMap& headers) {
  if (inactive() || headers_submitted_ || !connection_.isServer()) return;
  Http2Connection::OperationScope scope(connection_);
  NvBuilder& nv = connection_.nvScratch();
  nv.build(headers, NvBuilder::Kind::kResponse, connection_.canBorrowHeaders());
  nghttp2_submit_headers(connection_.session(), NGHTTP2_FLAG_NONE, id_, nullptr, nv.data(), nv.size(), nullptr);
}

void Http2Stream::encodeData(net::Buffer& data, bool end_stream) {
  if (inactive() || !headers_submitted_ || local_end_pending_) {
    data.clear();
    return;
  }
  Http2Connection::OperationScope scope(connection_);
  pending_send_.move(data);
  local_end_pending_ = end_stream;
  if (!over_buffer_limit_ && pending_send_.length() > connection_.limits().stream_buffer_limit) {
    over_buffer_limit_ = true;
    raiseAboveWatermark();
  }
  resume();
}

void Http2Stream::encodeTrailers(const HeaderMap& trailers) {
  if (inactive() || !headers_submitted_ || local_end_pending_) return;
  Http2Connection::OperationScope scope(connection_);
  // Kept until the stream dies: nghttp2 reads these strings (no copy) when
  // the data provider reaches the end and submits the trailers.
  pending_trailers_ = trailers;
  has_trailers_ = !pending_trailers_.empty();
  local_end_pending_ = true;
  resume();
}

void Http2Stream::resume() {
  if (data_deferred_ && id_ > 0) {
    data_deferred_ = false;
    nghttp2_session_resume_data(connection_.session(), id_);
  }
}

ssize_t Http2Stream::readOutboundTrampoline(size_t length, uint32_t* data_flags) {
  const size_t available = pending_send_.length();
  if (available == 0 && !local_end_pending_) {
    data_deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  const size_t n = std::min(length, available);
  // The bytes go out in the send_data callback, moved slice by slice from
  // pending_send_ into the connection's output: never copied into nghttp2.
  *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (n == available && local_end_pending_) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    if (has_trailers_) {
      *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      NvBuilder& nv = connection_.nvScratch();
      nv.build(pending_trailers_, NvBuilder::Kind::kTrailers, true);
      nghttp2_submit_trailer(connection_.session(), id_, nv.data(), nv.size());
    }
  }
  return static_cast<ssize_t>(n);
}

void Http2Stream::onDataSent(size_t) {
  if (over_buffer_limit_ && pending_send_.length() < connection_.limits().stream_buffer_limit / 2) {
    over_buffer_limit_ = false;
    // Not from inside nghttp2's send loop: the connection relays it once
    // mem_send has returned, so the callee may encode or reset freely.
    connection_.queueBelowWatermark(*this);
  }
}

void Http2Stream::resetStream(StreamResetReason reason) {
  if (local_reset_ || scheduled_) return;
  Http2Connection::OperationScope scope(connection_);
  local_reset_ = true;
  detached_ = true;  // a local reset fires no callbacks
  releaseReceived();
  pending_send_.clear();
  if (connection_.failed()) return;
  if (id_ > 0 && !closed_) {
    nghttp2_submit_rst_stream(connection_.session(), NGHTTP2_FLAG_NONE, id_, resetCode(reason));
  } else {
    connection_.scheduleDelete(*this);  // never sent, or nghttp2 is done with it
  }
}

void Http2Stream::readDisable(bool disable) {
  if (disable) {
    ++read_disable_count_;
    return;
  }
  if (read_disable_count_ == 0 || --read_disable_count_ > 0) return;
  if (inactive()) return;
  Http2Connection::OperationScope scope(connection_);
  // The credit withheld while disabled goes back now; this is what lets the
  // peer send again (WINDOW_UPDATE goes out with this operation's flush).
  const size_t credit = unconsumed_;
  unconsumed_ = 0;
  connection_.consume(id_, credit);
  deliverPending();
}

// --- decoding ---

void Http2Stream::beginHeaders() {
  decoding_headers_ = std::make_unique<HeaderMap>();
  decoding_bytes_ = 0;
  headers_overflow_ = false;
}

void Http2Stream::onHeaderField(std::string_view name, std::string_view value) {
  if (headers_overflow_ || !decoding_headers_) return;
  decoding_bytes_ += name.size() + value.size();
  const CodecLimits& limits = connection_.limits();
  if (decoding_headers_->size() >= limits.max_headers_count ||
      decoding_bytes_ > static_cast<size_t>(limits.max_request_headers_kb) * 1024) {
    // Drop what we have and ignore the rest of the block: the HPACK decoder
    // still runs (its state must stay in step) but nothing accumulates.
    headers_overflow_ = true;
    decoding_headers_.reset();
    return;
  }
  addDecodedHeader(*decoding_headers_, name, value);
}

void Http2Stream::onDataChunk(const uint8_t* data, size_t length) {
  if (detached_ || callbacks_ == nullptr) {
    connection_.consume(id_, length);
    return;
  }
  received_.add(data, length);
}

void Http2Stream::onDataFrameEnd(bool end_stream) {
  if (detached_) return;
  if (end_stream) remote_end_ = true;
  deliverPending();
}

void Http2Stream::onTrailersDecoded(HeaderMapPtr trailers) {
  if (detached_) return;
  remote_end_ = true;
  held_trailers_ = std::move(trailers);
  deliverPending();
}

void Http2Stream::onHeadersDecoded(HeaderMapPtr headers, bool end_stream) {
  if (detached_) return;
  if (end_stream) remote_end_ = remote_end_delivered_ = true;
  callbacks_->onHeaders(std::move(headers), end_stream);
  maybeComplete();
}

void Http2Stream::deliverPending() {
  if (delivering_) return;  // re-entered from our own onData: the loop below continues
  delivering_ = true;
  while (!detached_ && callbacks_ != nullptr && read_disable_count_ == 0) {
    const bool end_in_data = remote_end_ && !held_trailers_;
    if (!received_.empty() || (end_in_data && !remote_end_delivered_)) {
      const size_t n = received_.length();
      if (end_in_data) remote_end_delivered_ = true;
      callbacks_->onData(received_, end_in_data);
      received_.clear();
      // Credit goes back only for bytes a consumer took while reading: one
      // that disabled reading inside onData holds the peer at the window.
      if (read_disable_count_ > 0 || detached_) {
        unconsumed_ += n;
      } else {
        connection_.consume(id_, n);
      }
      if (end_in_data) break;
      continue;
    }
    if (held_trailers_ && !remote_end_delivered_) {
      remote_end_delivered_ = true;
      HeaderMapPtr trailers = std::move(held_trailers_);
      callbacks_->onTrailers(std::move(trailers));
    }
    break;
  }
  delivering_ = false;
  if (detached_) releaseReceived();
  maybeComplete();
}

void Http2Stream::releaseReceived() {
  const size_t size = received_.length() + unconsumed_;
  received_.clear();
  held_trailers_.reset();
  unconsumed_ = 0;
  connection_.consume(id_, size);
}

void Http2Stream::onLocalEndSent() {
  local_end_sent_ = true;
  if (rst_after_response_ && !remote_end_ && !closed_) {
    // RFC 9113 8.1: a complete response, then NO_ERROR asks the client to
    // stop sending the request body.
    rst_after_response_ = false;
    nghttp2_submit_rst_stream(connection_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_NO_ERROR);
  }
  maybeComplete();
}

void Http2Stream::maybeComplete() {
  // Both directions done: the caller forgets the stream after its final
  // event, so nothing may call back any more.
  if (!detached_ && remote_end_delivered_ && local_end_sent_) detached_ = true;
  if (closed_ && detached_) connection_.scheduleDelete(*this);
}

void Http2Stream::onClosed(uint32_t error_code) {
  closed_ = true;
  const bool complete = remote_end_ && local_end_sent_ && error_code == NGHTTP2_NO_ERROR && !rst_received_;
  if (!detached_ && !complete) {
    StreamResetReason reason = StreamResetReason::kConnectionTermination;
    if (rst_received_) {
      reason = rst_received_code_ == NGHTTP2_REFUSED_STREAM ? StreamResetReason::kRefusedStream
                                                            : StreamResetReason::kRemoteReset;
    } else if (rst_sent_by_library_) {
      reason = StreamResetReason::kProtocolError;
    } else if (error_code == NGHTTP2_REFUSED_STREAM) {
      reason = StreamResetReason::kRefusedStream;  // above a GOAWAY's last stream id
    }
    notifyReset(reason, nghttp2_http2_strerror(error_code));
  }
  // A complete stream whose last DATA is held by readDisable stays until the
  // consumer takes it (deliverPending then completes it).
  maybeComplete();
}

void Http2Stream::notifyReset(StreamResetReason reason, std::string_view detail) {
  if (detached_) return;
  detached_ = true;
  releaseReceived();
  pending_send_.clear();
  if (callbacks_ != nullptr) callbacks_->onReset(reason, detail);
}

void Http2Stream::abort(StreamResetReason reason, std::string_view detail, uint32_t h2_error) {
  notifyReset(reason, detail);
  local_reset_ = true;
  if (!closed_) nghttp2_submit_rst_stream(connection_.session(), NGHTTP2_FLAG_NONE, id_, h2_error);
  maybeComplete();
}

void Http2Stream::raiseAboveWatermark() {
  if (above_count_++ == 0 && !detached_ && callbacks_ != nullptr) callbacks_->onAboveWriteBufferHighWatermark();
}

void Http2Stream::lowerBelowWatermark() {
  if (above_count_ == 0) return;
  if (--above_count_ == 0 && !detached_ && callbacks_ != nullptr) callbacks_->onBelowWriteBufferLowWatermark();
}

}  // namespace remora::http::http2
