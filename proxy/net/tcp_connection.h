// TcpConnection: net::Connection over one libuv TCP socket. Made by
// connectTcp() (outgoing) and by the Listener on accept (incoming); everyone
// else sees only net::Connection.
//
// Worker-local: created, used and destroyed on its dispatcher's thread.
//
// Lifetime: the uv_tcp_t is heap-allocated and freed in its close callback, so
// libuv may finish with it after this object is gone; every libuv callback
// reaches the connection through handle->data, which is nulled on close, so no
// callback runs after close or destruction. The in-flight write request owns
// its bytes for the same reason.
//
// Data path costs: reads land in the dispatcher's shared scratch and are copied
// once into the input Buffer; writes are first tried inline (uv_try_write),
// and only the remainder goes into the single reusable write request.
#pragma once

#include <chrono>

#include <cstdint>
#include <memory>
#include <string>

#include "proxy/net/connection.h"

struct uv_tcp_s;
struct uv_stream_s;

namespace remora::net {

class TcpConnection final : public Connection, private IterationEndTask {
 public:
  // How long close(kFlushWrite) waits for a peer to take our output.
  static constexpr std::chrono::milliseconds kDelayedCloseTimeout{1000};
  // Starts connecting to `address`. A synchronous failure (bad address, no
  // route) is reported like an asynchronous one, through onEvent on a later
  // iteration, so the caller always gets to call setCallbacks() first.
  static std::unique_ptr<TcpConnection> connect(Dispatcher& dispatcher, const Address& address);
  // Takes the connection pending on `server` (a listening libuv TCP handle,
  // from its connection callback). nullptr if uv_accept failed.
  static std::unique_ptr<TcpConnection> accept(Dispatcher& dispatcher, uv_stream_s* server);

  // An open connection is closed silently: no callbacks.
  ~TcpConnection() override;
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // Reading starts once callbacks are set (and the connection is open).
  void setCallbacks(ConnectionCallbacks& callbacks) override;
  void write(Buffer& data, bool end_stream) override;
  void readDisable(bool disable) override;
  bool readEnabled() const override { return read_disable_count_ == 0; }
  void close(CloseType type) override;
  State state() const override { return state_; }
  size_t bufferedBytes() const override;
  void setBufferLimits(uint32_t high_watermark) override;
  const Address& remoteAddress() const override { return remote_; }
  const Address& localAddress() const override { return local_; }
  std::optional<Address> originalDestination() const override;
  void restoreLocalAddress(const Address& address) override {
    local_ = address;
    local_restored_ = true;
  }
  bool localAddressRestored() const override { return local_restored_; }
  uint64_t id() const override { return id_; }
  std::string_view failureReason() const override { return failure_reason_; }
  Dispatcher& dispatcher() override { return dispatcher_; }

  static constexpr uint32_t kDefaultHighWatermark = 1024 * 1024;

 private:
  friend struct TcpTrampolines;
  struct WriteRequest;

  explicit TcpConnection(Dispatcher& dispatcher);

  uv_stream_s* stream();
  void fillAddresses();
  void onConnect(int status);
  void onRead(long nread, const char* data);
  void onWriteDone(int status);
  void onShutdownDone(int status);
  void onSoon();

  // Starts or stops uv_read_start to match what the state asks for.
  void updateReading();
  // Sends output_: inline first, then one uv_write for what the kernel refused.
  void flush();
  // IterationEndTask: the coalesced flush of everything written this iteration.
  void onIterationEnd() override;
  void startWrite();
  void afterFlush();
  void updateWatermarks();
  // Reports a libuv error from a call made on the caller's stack on a later
  // iteration, so write() or connect() never re-enter the caller with a close.
  void scheduleError(int uv_error);
  void scheduleSoon();
  // Closes the socket and reports `event` once (unless silent, for the destructor).
  void closeSocket(ConnectionEvent event, bool reset);
  void releaseHandle(bool reset);

  Dispatcher& dispatcher_;
  uv_tcp_s* handle_ = nullptr;  // nullptr once closed; the memory is freed by libuv's close callback
  ConnectionCallbacks* callbacks_ = nullptr;
  State state_ = State::kConnecting;
  const uint64_t id_;

  Buffer input_;   // read and not yet consumed by onData's callee
  Buffer output_;  // written by the owner and not yet handed to the kernel or the write request
  WriteRequest* write_req_ = nullptr;  // reused; while in flight, libuv owns it until its callback
  bool write_in_flight_ = false;

  uint32_t read_disable_count_ = 0;
  bool reading_ = false;            // uv_read_start is active
  bool eof_ = false;                // the peer half-closed
  bool end_stream_queued_ = false;  // write(..., true) seen: shut down after the last byte
  bool shutdown_sent_ = false;
  bool shutdown_done_ = false;
  bool close_after_flush_ = false;  // close(kFlushWrite) waits for output to drain
  bool above_high_watermark_ = false;
  uint32_t high_watermark_ = kDefaultHighWatermark;
  int pending_error_ = 0;           // a libuv error to report from onSoon()

  Address remote_;
  Address local_;
  bool local_restored_ = false;
  std::string failure_reason_;
  // Work that must not run on the caller's stack (deferred errors, handing
  // leftover input back after readDisable(false)). Created on first use.
  TimerPtr soon_timer_;
  // Bounds close(kFlushWrite): a peer that stops reading must not keep a
  // connection we decided to close (and its buffered output) forever.
  TimerPtr delayed_close_timer_;
};

}  // namespace remora::net
