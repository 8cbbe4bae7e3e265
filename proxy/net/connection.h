// Connection: a byte stream to a peer with back-pressure. TcpConnection is the
// plain-socket implementation; the TLS transport (proxy/tls) wraps one and
// looks the same to codecs.
//
// Worker-local: a connection lives and dies on the dispatcher that made it and
// never moves between threads. Owned by exactly one owner through
// ConnectionPtr; after close(), the owner hands it to
// Dispatcher::deferredDelete() (it may be inside one of its own callbacks).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/net/address.h"
#include "proxy/net/buffer.h"
#include "proxy/net/dispatcher.h"

namespace remora::net {

enum class ConnectionEvent {
  kConnected,      // an outgoing connect() succeeded
  kRemoteClose,    // the peer closed or reset, or the connect failed (see failureReason())
  kLocalClose,     // close() was called and the socket is now closed
};

enum class CloseType {
  kFlushWrite,  // send what is buffered, then close
  kNoFlush,     // close now, dropping buffered output (RST if the peer still sends)
};

// Events of one connection. Called on the connection's thread; a callback may
// call close() on the connection, but must not destroy it (use deferred deletion).
class ConnectionCallbacks {
 public:
  virtual ~ConnectionCallbacks() = default;
  // Bytes arrived. The callee takes what it wants with drain()/move(); bytes
  // left behind stay buffered and are presented again with the next read.
  // end_stream: the peer half-closed (EOF); no more data will arrive.
  virtual void onData(Buffer& data, bool end_stream) = 0;
  // Delivered once for kConnected (client connections), and exactly once for
  // the close (kRemoteClose or kLocalClose).
  virtual void onEvent(ConnectionEvent event) = 0;
  // Buffered output went above the high watermark: stop producing for this
  // connection (typically readDisable(true) on the connection feeding it).
  virtual void onAboveWriteBufferHighWatermark() {}
  // Buffered output drained below the low watermark (half the high one).
  virtual void onBelowWriteBufferLowWatermark() {}
};

class Connection : public DeferredDeletable {
 public:
  enum class State { kConnecting, kOpen, kClosed };

  ~Connection() override = default;

  virtual void setCallbacks(ConnectionCallbacks& callbacks) = 0;
  // Queues `data` (drained from the argument) for sending. end_stream: after
  // it is sent, shut down our write side (half-close) but keep reading.
  virtual void write(Buffer& data, bool end_stream) = 0;
  // Stops (true) or resumes (false) reading from the socket. Calls nest:
  // reading resumes when every disable has been matched by an enable.
  virtual void readDisable(bool disable) = 0;
  virtual bool readEnabled() const = 0;
  virtual void close(CloseType type) = 0;
  virtual State state() const = 0;

  // Bytes queued for sending and not yet accepted by the kernel.
  virtual size_t bufferedBytes() const = 0;
  // High watermark for buffered output; the low watermark is half of it.
  // 0 disables watermark callbacks. Default 1 MiB.
  virtual void setBufferLimits(uint32_t high_watermark) = 0;

  virtual const Address& remoteAddress() const = 0;
  virtual const Address& localAddress() const = 0;
  // Where an accepted connection was headed before an iptables REDIRECT, or
  // nullopt when it was not redirected or the transport cannot tell (see
  // net::restoreOriginalDestination, which reads and applies it).
  virtual std::optional<Address> originalDestination() const { return std::nullopt; }
  // Makes localAddress() return `address` from now on (the original
  // destination): filter chain matching, authorization and ORIGINAL_DST
  // clusters then see where the client meant to go.
  virtual void restoreLocalAddress(const Address& /*address*/) {}
  // True once restoreLocalAddress() changed the local address: the
  // connection came through a redirect.
  virtual bool localAddressRestored() const { return false; }
  // Process-unique id, for logs.
  virtual uint64_t id() const = 0;
  // Negotiated ALPN protocol ("h2", "http/1.1"), or "" without TLS.
  virtual std::string_view nextProtocol() const { return {}; }
  // The peer's verified identity (its certificate's URI SAN, a SPIFFE ID),
  // or "" without TLS or without a verified client certificate.
  virtual std::string_view peerIdentity() const { return {}; }
  // True when the bytes travel inside TLS.
  virtual bool secure() const { return false; }
  // Why the connection failed or closed, in words ("connection refused"), or "".
  virtual std::string_view failureReason() const = 0;
  virtual Dispatcher& dispatcher() = 0;
};
using ConnectionPtr = std::unique_ptr<Connection>;

// Starts a TCP connection to `address`. kConnected or kRemoteClose (with
// failureReason()) follows on the dispatcher; the connect timeout is the
// caller's timer.
ConnectionPtr connectTcp(Dispatcher& dispatcher, const Address& address);

}  // namespace remora::net

namespace remora::net {

// Whoever owns the sessions built on accepted connections (a worker's
// listener): an HTTP connection manager or a TCP proxy session calls
// release() when its connection has closed, and the owner destroys it once
// the current callbacks unwind (deferred deletion).
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  virtual void release(DeferredDeletable& session) = 0;
};

}  // namespace remora::net
