#include "proxy/net/tcp_connection.h"

#include <uv.h>

#include <atomic>
#include <cassert>

#include "proxy/net/original_destination.h"

namespace remora::net {
namespace {

// Slices handed to one writev. Enough for 1 MiB of default 16 KiB slices;
// anything beyond goes in the next write.
constexpr unsigned kMaxIov = 64;

std::atomic<uint64_t> next_connection_id{1};

uv_handle_t* asHandle(uv_tcp_t* h) { return reinterpret_cast<uv_handle_t*>(h); }

// Fills `bufs` with up to kMaxIov slices of `buffer`; returns how many.
unsigned fillIov(const Buffer& buffer, uv_buf_t* bufs, size_t* bytes) {
  unsigned n = 0;
  size_t total = 0;
  buffer.forEachSlice([&](const char* data, size_t size) {
    if (n == kMaxIov) return;
    bufs[n++] = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(size));
    total += size;
  });
  if (bytes != nullptr) *bytes = total;
  return n;
}

}  // namespace

// The one uv_write in flight. It owns the bytes it carries: if the connection
// closes mid-write, the request outlives it and libuv's cancel callback frees both.
struct TcpConnection::WriteRequest {
  uv_write_t req;
  Buffer data;
};

// C callbacks. Each finds its connection through handle->data, which is
// nullptr once the connection closed or died.
struct TcpTrampolines {
  static TcpConnection* owner(void* handle) {
    return static_cast<TcpConnection*>(static_cast<uv_handle_t*>(handle)->data);
  }
  static void onClosed(uv_handle_t* handle) noexcept { delete reinterpret_cast<uv_tcp_t*>(handle); }
  static void onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
    TcpConnection* self = owner(handle);
    if (self == nullptr) {
      *buf = uv_buf_init(nullptr, 0);
      return;
    }
    // Shared by every connection of the thread: libuv calls alloc and read
    // back to back, so the scratch is consumed before anyone else reads.
    *buf = uv_buf_init(self->dispatcher_.readScratch(), Dispatcher::kReadScratchSize);
  }
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
    TcpConnection* self = owner(stream);
    if (self != nullptr) self->onRead(nread, buf->base);
  }
  static void onConnect(uv_connect_t* req, int status) noexcept {
    TcpConnection* self = owner(req->handle);
    delete req;
    if (self != nullptr) self->onConnect(status);
  }
  static void onWrite(uv_write_t* req, int status) noexcept {
    TcpConnection* self = owner(req->handle);
    if (self == nullptr) {
      delete static_cast<TcpConnection::WriteRequest*>(req->data);
      return;
    }
    self->onWriteDone(status);
  }
  static void onShutdown(uv_shutdown_t* req, int status) noexcept {
    TcpConnection* self = owner(req->handle);
    delete req;
    if (self != nullptr) self->onShutdownDone(status);
  }
};

ConnectionPtr connectTcp(Dispatcher& dispatcher, const Address& address) {
  return TcpConnection::connect(dispatcher, address);
}

TcpConnection::TcpConnection(Dispatcher& dispatcher)
    : dispatcher_(dispatcher), handle_(new uv_tcp_t), id_(next_connection_id.fetch_add(1, std::memory_order_relaxed)) {
  uv_tcp_init(dispatcher_.uvLoop(), handle_);
  handle_->data = this;
}

TcpConnection::~TcpConnection() {
  dispatcher_.cancelIterationEnd(*this);
  releaseHandle(false);
  delete write_req_;
}

std::unique_ptr<TcpConnection> TcpConnection::connect(Dispatcher& dispatcher, const Address& address) {
  std::unique_ptr<TcpConnection> conn(new TcpConnection(dispatcher));
  conn->remote_ = address;
  // Small requests and responses must not wait for Nagle; libuv applies the
  // flag when the connect creates the socket.
  uv_tcp_nodelay(conn->handle_, 1);
  auto* req = new uv_connect_t;
  int rc = uv_tcp_connect(req, conn->handle_, address.sockaddr(), &TcpTrampolines::onConnect);
  if (rc < 0) {
    delete req;
    conn->scheduleError(rc);
  }
  return conn;
}

std::unique_ptr<TcpConnection> TcpConnection::accept(Dispatcher& dispatcher, uv_stream_s* server) {
  std::unique_ptr<TcpConnection> conn(new TcpConnection(dispatcher));
  if (uv_accept(server, conn->stream()) != 0) return nullptr;
  conn->state_ = State::kOpen;
  uv_tcp_nodelay(conn->handle_, 1);
  conn->fillAddresses();
  return conn;
}

uv_stream_s* TcpConnection::stream() { return reinterpret_cast<uv_stream_t*>(handle_); }

void TcpConnection::fillAddresses() {
  sockaddr_storage ss{};
  int len = sizeof(ss);
  if (uv_tcp_getsockname(handle_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    local_ = Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss));
  }
  len = sizeof(ss);
  if (uv_tcp_getpeername(handle_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    remote_ = Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss));
  }
}

std::optional<Address> TcpConnection::originalDestination() const {
  uv_os_fd_t fd = -1;
  if (handle_ == nullptr || uv_fileno(reinterpret_cast<const uv_handle_t*>(handle_), &fd) != 0) return std::nullopt;
  return readOriginalDestination(fd, local_.family());
}

void TcpConnection::setCallbacks(ConnectionCallbacks& callbacks) {
  callbacks_ = &callbacks;
  updateReading();
}

void TcpConnection::onConnect(int status) {
  if (status < 0) {
    failure_reason_ = uv_strerror(status);
    closeSocket(ConnectionEvent::kRemoteClose, false);
    return;
  }
  state_ = State::kOpen;
  fillAddresses();
  if (callbacks_ != nullptr) callbacks_->onEvent(ConnectionEvent::kConnected);
  if (state_ != State::kOpen) return;  // closed inside onEvent
  updateReading();
  // Bytes written while connecting go out now.
  if (!output_.empty() || end_stream_queued_) flush();
}

void TcpConnection::updateReading() {
  bool want = state_ == State::kOpen && callbacks_ != nullptr && read_disable_count_ == 0 && !eof_ &&
              !close_after_flush_;
  if (want && !reading_) {
    int rc = uv_read_start(stream(), &TcpTrampolines::onAlloc, &TcpTrampolines::onRead);
    if (rc < 0) {
      scheduleError(rc);
      return;
    }
    reading_ = true;
  } else if (!want && reading_) {
    uv_read_stop(stream());
    reading_ = false;
  }
}

void TcpConnection::onRead(long nread, const char* data) {
  if (nread > 0) {
    input_.add(data, static_cast<size_t>(nread));
    if (callbacks_ != nullptr) callbacks_->onData(input_, false);
    return;
  }
  if (nread == 0) return;  // EAGAIN: nothing this time
  if (nread == UV_EOF) {
    // libuv has stopped reading. Our write side stays open (half-close).
    eof_ = true;
    reading_ = false;
    if (callbacks_ != nullptr) callbacks_->onData(input_, true);
    // Both directions are finished once our own FIN went out too.
    if (state_ == State::kOpen && shutdown_done_) closeSocket(ConnectionEvent::kRemoteClose, false);
    return;
  }
  failure_reason_ = uv_strerror(static_cast<int>(nread));
  closeSocket(ConnectionEvent::kRemoteClose, false);
}

void TcpConnection::readDisable(bool disable) {
  if (disable) {
    ++read_disable_count_;
  } else {
    assert(read_disable_count_ > 0 && "readDisable(false) without a matching readDisable(true)");
    if (read_disable_count_ == 0) return;
    --read_disable_count_;
  }
  updateReading();
  // Bytes the callee left behind before disabling would otherwise wait for
  // the peer to send more, which it may never do (a pipelined request).
  if (!disable && read_disable_count_ == 0 && state_ == State::kOpen && !input_.empty()) scheduleSoon();
}

void TcpConnection::write(Buffer& data, bool end_stream) {
  // After close() or end_stream nothing more may be sent; the bytes are dropped.
  if (state_ == State::kClosed || close_after_flush_ || end_stream_queued_) {
    data.clear();
    return;
  }
  output_.move(data);
  if (end_stream) end_stream_queued_ = true;
  // One syscall for everything this iteration writes (a response's headers
  // and body arrive as separate writes): flush when the iteration ends.
  if (state_ == State::kOpen && !write_in_flight_) dispatcher_.scheduleIterationEnd(*this);
  // Judged now, so a producer hears "above" at once; the deferred flush
  // judges again once the kernel has taken what it can.
  if (state_ != State::kClosed) updateWatermarks();
}

void TcpConnection::onIterationEnd() {
  if (state_ != State::kOpen || write_in_flight_) return;
  flush();
  // write() judged the watermark before these bytes went out; judge again now,
  // or a producer paused at the high mark would never hear "below".
  if (state_ == State::kOpen) updateWatermarks();
}

void TcpConnection::flush() {
  if (!output_.empty()) {
    uv_buf_t bufs[kMaxIov];
    unsigned n = fillIov(output_, bufs, nullptr);
    int written = uv_try_write(stream(), bufs, n);
    // A hard error (EPIPE, ECONNRESET) is not handled here: uv_write below
    // meets it too and reports it through its callback, off the caller's stack.
    if (written > 0) output_.drain(static_cast<size_t>(written));
    if (!output_.empty()) {
      startWrite();
      return;
    }
  }
  afterFlush();
}

void TcpConnection::startWrite() {
  if (write_req_ == nullptr) {
    write_req_ = new WriteRequest;
    write_req_->req.data = write_req_;
  }
  // Move exactly the slices one writev can carry into the request.
  uv_buf_t bufs[kMaxIov];
  size_t bytes = 0;
  fillIov(output_, bufs, &bytes);
  write_req_->data.move(output_, bytes);
  unsigned n = fillIov(write_req_->data, bufs, nullptr);
  int rc = uv_write(&write_req_->req, stream(), bufs, n, &TcpTrampolines::onWrite);
  if (rc < 0) {
    write_req_->data.clear();
    scheduleError(rc);
    return;
  }
  write_in_flight_ = true;
}

void TcpConnection::afterFlush() {
  // Called when output_ is empty; a write may still be in flight.
  if (end_stream_queued_ && !shutdown_sent_) {
    // uv_shutdown waits for the in-flight write, so the FIN follows the last byte.
    auto* req = new uv_shutdown_t;
    int rc = uv_shutdown(req, stream(), &TcpTrampolines::onShutdown);
    if (rc < 0) {
      delete req;
      scheduleError(rc);
      return;
    }
    shutdown_sent_ = true;
  }
  if (close_after_flush_ && !write_in_flight_) closeSocket(ConnectionEvent::kLocalClose, false);
}

void TcpConnection::onWriteDone(int status) {
  write_in_flight_ = false;
  write_req_->data.clear();
  if (status < 0) {
    failure_reason_ = uv_strerror(status);
    closeSocket(ConnectionEvent::kRemoteClose, false);
    return;
  }
  flush();
  if (state_ == State::kOpen) updateWatermarks();
}

void TcpConnection::onShutdownDone(int status) {
  if (status < 0) {
    failure_reason_ = uv_strerror(status);
    closeSocket(ConnectionEvent::kRemoteClose, false);
    return;
  }
  shutdown_done_ = true;
  if (eof_ && state_ == State::kOpen) closeSocket(ConnectionEvent::kLocalClose, false);
}

size_t TcpConnection::bufferedBytes() const {
  return output_.length() + (write_in_flight_ ? write_req_->data.length() : 0);
}

void TcpConnection::setBufferLimits(uint32_t high_watermark) {
  high_watermark_ = high_watermark;
  if (above_high_watermark_ && high_watermark_ == 0) {
    // Whoever stopped producing on our account must hear it may resume.
    above_high_watermark_ = false;
    if (callbacks_ != nullptr) callbacks_->onBelowWriteBufferLowWatermark();
    return;
  }
  if (state_ == State::kOpen) updateWatermarks();
}

void TcpConnection::updateWatermarks() {
  if (high_watermark_ == 0 || callbacks_ == nullptr) return;
  size_t buffered = bufferedBytes();
  if (!above_high_watermark_ && buffered > high_watermark_) {
    above_high_watermark_ = true;
    callbacks_->onAboveWriteBufferHighWatermark();
  } else if (above_high_watermark_ && buffered <= high_watermark_ / 2) {
    above_high_watermark_ = false;
    callbacks_->onBelowWriteBufferLowWatermark();
  }
}

void TcpConnection::close(CloseType type) {
  if (state_ == State::kClosed) return;
  bool unsent = !output_.empty() || write_in_flight_;
  if (type == CloseType::kNoFlush || state_ == State::kConnecting || !unsent) {
    // Dropping unsent bytes resets the connection, so the peer cannot take a
    // truncated response for a complete one.
    closeSocket(ConnectionEvent::kLocalClose, unsent);
    return;
  }
  close_after_flush_ = true;
  updateReading();  // the owner asked to close: no more onData
  // The flush gets kDelayedCloseTimeout; then the connection is reset with
  // whatever is still unsent (Envoy's delayed_close_timeout, 1 s by default).
  if (!delayed_close_timer_) {
    delayed_close_timer_ = dispatcher_.createTimer([this] {
      if (state_ != State::kClosed) closeSocket(ConnectionEvent::kLocalClose, /*reset=*/true);
    });
  }
  delayed_close_timer_->enable(kDelayedCloseTimeout);
}

void TcpConnection::scheduleError(int uv_error) {
  if (pending_error_ == 0) pending_error_ = uv_error;
  scheduleSoon();
}

void TcpConnection::scheduleSoon() {
  if (!soon_timer_) soon_timer_ = dispatcher_.createTimer([this] { onSoon(); });
  if (!soon_timer_->enabled()) soon_timer_->enable(std::chrono::milliseconds(0));
}

void TcpConnection::onSoon() {
  if (state_ == State::kClosed) return;
  if (pending_error_ != 0) {
    failure_reason_ = uv_strerror(pending_error_);
    pending_error_ = 0;
    closeSocket(ConnectionEvent::kRemoteClose, false);
    return;
  }
  if (state_ == State::kOpen && read_disable_count_ == 0 && !input_.empty() && callbacks_ != nullptr) {
    callbacks_->onData(input_, eof_);
  }
}

void TcpConnection::closeSocket(ConnectionEvent event, bool reset) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  dispatcher_.cancelIterationEnd(*this);
  if (delayed_close_timer_) delayed_close_timer_->disable();
  releaseHandle(reset);
  output_.clear();
  if (soon_timer_) soon_timer_->disable();
  // Last thing we do: the callee may hand us to deferredDelete().
  if (callbacks_ != nullptr) callbacks_->onEvent(event);
}

void TcpConnection::releaseHandle(bool reset) {
  if (handle_ == nullptr) return;
  handle_->data = nullptr;
  if (write_in_flight_) {
    // libuv cancels it during the close and its callback frees it.
    write_req_ = nullptr;
    write_in_flight_ = false;
  }
  reading_ = false;
  // uv_tcp_close_reset refuses a handle with a shutdown pending; a plain close
  // then still ends the connection.
  if (!reset || shutdown_sent_ || uv_tcp_close_reset(handle_, &TcpTrampolines::onClosed) != 0) {
    uv_close(asHandle(handle_), &TcpTrampolines::onClosed);
  }
  handle_ = nullptr;
}

}  // namespace remora::net
