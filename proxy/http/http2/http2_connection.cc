#include "proxy/http/http2/http2_connection.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <limits>
#include <string>

namespace remora::http::http2 {

// Defined in http2_session_callbacks.cc: the table of trampolines.
nghttp2_session_callbacks* newSessionCallbacks();

namespace {

// RFC 9113 6.5.2: at most 2^31-1 for INITIAL_WINDOW_SIZE.
constexpr uint32_t kMaxWindow = static_cast<uint32_t>(std::numeric_limits<int32_t>::max());
// More SETTINGS entries than this in one frame is abuse: there are only seven
// standard settings, and each entry costs us a lookup and possibly an ACK.
constexpr size_t kMaxSettingsEntries = 32;
// Our HPACK encoder's dynamic table, whatever the peer advertises: a peer
// cannot make us hold megabytes of compression state per connection.
constexpr size_t kMaxDeflateTableSize = 4096;

uint32_t clampWindow(uint32_t v) { return std::min(std::max<uint32_t>(v, NGHTTP2_INITIAL_WINDOW_SIZE), kMaxWindow); }

}  // namespace

Http2Connection::Http2Connection(bool server, CodecTransport& transport, const CodecLimits& limits,
                                 const Http2Options& options)
    : transport_(transport), limits_(limits), server_(server), flood_guard_(limits, options.clock) {
  nghttp2_session_callbacks* callbacks = newSessionCallbacks();
  nghttp2_option* option = nullptr;
  if (callbacks == nullptr || nghttp2_option_new(&option) != 0) std::abort();  // out of memory at start-up
  // Window updates are ours to send, so a consumer that stops reading
  // (readDisable) stops the peer instead of growing our buffers.
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_outbound_ack(option, limits.max_outbound_control_frames);
  nghttp2_option_set_max_settings(option, kMaxSettingsEntries);
  nghttp2_option_set_max_continuations(option, limits.max_continuation_frames);
  nghttp2_option_set_max_deflate_dynamic_table_size(option, kMaxDeflateTableSize);
  // We keep no priority tree, so closed streams need not be remembered.
  nghttp2_option_set_no_closed_streams(option, 1);
  // nghttp2's own rapid-reset bucket stays as a backstop behind FloodGuard's
  // exact per-second limit, loose enough never to fire first.
  const uint64_t rate = std::max<uint32_t>(limits.max_resets_per_second, 1);
  nghttp2_option_set_stream_reset_rate_limit(option, 2 * rate + 100, rate);
  int rv = server ? nghttp2_session_server_new2(&session_, callbacks, this, option)
                  : nghttp2_session_client_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) std::abort();

  nghttp2_settings_entry settings[4];
  size_t n = 0;
  settings[n++] = {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams};
  settings[n++] = {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, clampWindow(limits.initial_stream_window_size)};
  settings[n++] = {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits.max_request_headers_kb * 1024};
  if (!server) settings[n++] = {NGHTTP2_SETTINGS_ENABLE_PUSH, 0};
  OperationScope scope(*this);
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, n);
  const uint32_t connection_window = clampWindow(limits.initial_connection_window_size);
  if (connection_window > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) {
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, static_cast<int32_t>(connection_window));
  }
}

Http2Connection::~Http2Connection() {
  // Callbacks that fire while the session is torn down must not reach
  // streams or the role object, both half-destroyed by now.
  destroying_ = true;
  nghttp2_session_del(session_);
}

Http2Stream& Http2Connection::createStream(StreamCallbacks* callbacks, int32_t id) {
  live_.push_back(std::make_unique<Http2Stream>(*this, callbacks, id));
  Http2Stream& stream = *live_.back();
  stream.index_ = live_.size() - 1;
  if (transport_above_) {
    // Born into a full transport: it must not see "below" without "above".
    stream.transport_above_ = true;
    stream.above_count_ = 1;
  }
  return stream;
}

void Http2Connection::scheduleDelete(Http2Stream& stream) {
  if (stream.scheduled_) return;
  stream.scheduled_ = true;
  stream.detached_ = true;
  if (stream.id_ > 0 && !stream.closed_) nghttp2_session_set_stream_user_data(session_, stream.id_, nullptr);
  size_t i = stream.index_;
  graveyard_.push_back(std::move(live_[i]));
  if (i + 1 != live_.size()) {
    live_[i] = std::move(live_.back());
    live_[i]->index_ = i;
  }
  live_.pop_back();
}

Http2Stream* Http2Connection::streamFor(int32_t id) const {
  return static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(session_, id));
}

Http2Stream* Http2Connection::findLiveStream(int32_t id) const {
  for (const auto& s : live_) {
    if (s->id_ == id) return s.get();
  }
  return nullptr;
}

void Http2Connection::consume(int32_t stream_id, size_t size) {
  if (size == 0 || failure_ || stream_id <= 0) return;
  nghttp2_session_consume(session_, stream_id, size);
}

void Http2Connection::recordFailure(base::Failure failure, uint32_t h2_error) {
  if (!failure_) failure_ = std::move(failure);
  nghttp2_session_terminate_session(session_, h2_error);
}

base::Status Http2Connection::dispatchBytes(net::Buffer& data) {
  if (failure_) {
    data.clear();
    return *failure_;
  }
  {
    OperationScope scope(*this);
    ssize_t error = 0;
    // nghttp2 consumes every byte it is given unless it fails, so each slice
    // goes in as it is: no linearizing of the input.
    data.forEachSlice([&](const char* p, size_t n) {
      if (error < 0) return;
      ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(p), n);
      if (rv < 0) error = rv;
    });
    data.clear();
    if (error < 0) {
      const char* what = nghttp2_strerror(static_cast<int>(error));
      switch (error) {
        case NGHTTP2_ERR_FLOODED:
        case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
        case NGHTTP2_ERR_TOO_MANY_SETTINGS:
          recordFailure(base::fail(base::Error::kFlood, std::string("HTTP/2 flood: ") + what),
                        NGHTTP2_ENHANCE_YOUR_CALM);
          break;
        case NGHTTP2_ERR_HEADER_COMP:
          recordFailure(base::fail(base::Error::kProtocol, std::string("HTTP/2: ") + what),
                        NGHTTP2_COMPRESSION_ERROR);
          break;
        default:
          // Callback failures carry the reason we recorded before failing.
          recordFailure(base::fail(base::Error::kProtocol, std::string("HTTP/2: ") + what), NGHTTP2_PROTOCOL_ERROR);
          break;
      }
    }
  }
  if (failure_) {
    OperationScope scope(*this);
    failStreams();
    return *failure_;
  }
  return {};
}

void Http2Connection::failStreams() {
  std::vector<Http2Stream*> streams;
  streams.reserve(live_.size());
  for (const auto& s : live_) streams.push_back(s.get());
  for (Http2Stream* s : streams) {
    if (s->scheduled_) continue;  // a callback already reset it
    s->notifyReset(StreamResetReason::kConnectionTermination, failure_->message);
    scheduleDelete(*s);
  }
}

void Http2Connection::submitGoAway() {
  if (goaway_submitted_ || failure_) return;
  OperationScope scope(*this);
  goaway_submitted_ = true;
  int32_t last = server_ ? nghttp2_session_get_last_proc_stream_id(session_) : 0;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last, NGHTTP2_NO_ERROR, nullptr, 0);
}

bool Http2Connection::submitPing() {
  if (failure_) return false;
  OperationScope scope(*this);
  // No opaque data: only one keepalive PING is outstanding at a time, so any
  // ACK answers it.
  return nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr) == 0;
}

bool Http2Connection::wantsCloseNow() const {
  if (failure_) return true;
  if ((goaway_submitted_ || goaway_received_) && live_.empty()) return true;
  return nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0;
}

void Http2Connection::relayTransportAbove() {
  if (transport_above_) return;
  OperationScope scope(*this);
  transport_above_ = true;
  std::vector<Http2Stream*> streams;
  for (const auto& s : live_) streams.push_back(s.get());
  for (Http2Stream* s : streams) {
    s->transport_above_ = true;
    s->raiseAboveWatermark();
  }
}

void Http2Connection::relayTransportBelow() {
  if (!transport_above_) return;
  // The scope's flush sends what queued up while the transport was full.
  OperationScope scope(*this);
  transport_above_ = false;
  std::vector<Http2Stream*> streams;
  for (const auto& s : live_) streams.push_back(s.get());
  for (Http2Stream* s : streams) {
    if (!s->transport_above_) continue;
    s->transport_above_ = false;
    s->lowerBelowWatermark();
  }
}

void Http2Connection::flush() {
  if (flushing_) return;
  // While the transport is above its watermark we leave frames queued in
  // nghttp2: its outbound-ACK limit then turns a peer that floods PINGs or
  // SETTINGS without reading into a FLOODED error instead of unbounded
  // output. A failing connection still gets its GOAWAY out.
  if (transport_above_ && !failure_) return;
  flushing_ = true;
  for (;;) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      // Only fatal errors (out of memory, callback failure) come back here.
      if (!failure_) failure_ = base::fail(base::Error::kInternal, nghttp2_strerror(static_cast<int>(n)));
      break;
    }
    if (n == 0) break;
    out_.add(data, static_cast<size_t>(n));
  }
  flushing_ = false;
}

void Http2Connection::finishOperation() {
  // Callbacks run while flushing (below-watermark relays) may encode more;
  // loop so the one write at the end carries all of it.
  for (;;) {
    flush();
    if (below_watermark_.empty()) break;
    std::vector<Http2Stream*> pending;
    pending.swap(below_watermark_);
    for (Http2Stream* s : pending) s->lowerBelowWatermark();
  }
  if (!out_.empty()) transport_.write(out_);
  // No callback frame is on the stack any more: closed streams can go.
  graveyard_.clear();
}

}  // namespace remora::http::http2
