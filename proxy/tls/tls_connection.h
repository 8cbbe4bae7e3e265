// TlsConnection: net::Connection inside TLS, wrapping a plain transport
// connection (a TcpConnection). Made by the connection pool (client(), to a
// peer sidecar) and by the inbound listener (server(), after sniffing a
// ClientHello); codecs and TCP proxies see only net::Connection.
//
// Worker-local: created, used and destroyed on the transport's dispatcher.
// Owns the transport; destroying the TlsConnection destroys it silently.
//
// Events: kConnected is delivered on both sides once the handshake AND our
// peer verification succeeded (a server's owner checks RBAC there and then
// calls setCallbacks() with the session; plaintext that arrived meanwhile is
// presented to the new callbacks on a later loop iteration). A failed
// handshake is kRemoteClose with failureReason() "tls: <reason>: <detail>";
// the HandshakeObserver hears the outcome once either way.
//
// Semantics otherwise follow TcpConnection: write(end_stream) sends
// close_notify then half-closes the transport; close(kFlushWrite) sends what is
// queued, close_notify and a FIN, then reads and discards until the peer
// closes too (at most TcpConnection::kDelayedCloseTimeout) and reports
// kLocalClose;
// readDisable nests; watermarks count plaintext not yet encrypted plus the
// transport's buffered ciphertext.
//
// Data path: ciphertext moves from the transport's buffer into ours without a
// copy; OpenSSL reads it through a BIO over that buffer (the one copy) and
// decrypts straight into the input Buffer's tail. Writes of one loop iteration
// are encrypted together at its end, in records of up to 16 KiB, into a Buffer
// the transport takes by moving slices.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "proxy/net/connection.h"
#include "proxy/tls/client_session_cache.h"
#include "proxy/tls/handshake_observer.h"
#include "proxy/tls/connection_link.h"
#include "proxy/tls/tls_context.h"

struct ssl_st;

namespace remora::tls {

class TlsConnection final : public net::Connection,
                            private net::ConnectionCallbacks,
                            private net::IterationEndTask {
 public:
  struct ClientOptions {
    std::string sni;  // server name sent (empty: none)
    PeerValidation validation;
    ClientSessionCache* sessions = nullptr;  // worker-local, outlives the connection; nullptr: no resumption
    std::string session_key;
    std::chrono::milliseconds handshake_timeout{10000};
  };
  struct ServerOptions {
    PeerValidation validation;
    std::chrono::milliseconds handshake_timeout{10000};
  };

  // `transport` is a plain connection, connecting or open, whose callbacks we
  // take over. `observer` (may be nullptr) must outlive the handshake.
  static std::unique_ptr<TlsConnection> client(std::shared_ptr<const TlsContext> context, net::ConnectionPtr transport,
                                               ClientOptions options, HandshakeObserver* observer);
  // `initial`: bytes already read from `transport` (the sniffer's), drained
  // from the argument. The handshake starts at once.
  static std::unique_ptr<TlsConnection> server(std::shared_ptr<const TlsContext> context, net::ConnectionPtr transport,
                                               net::Buffer& initial, ServerOptions options, HandshakeObserver* observer);

  ~TlsConnection() override;
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // net::Connection
  void setCallbacks(net::ConnectionCallbacks& callbacks) override;
  void write(net::Buffer& data, bool end_stream) override;
  void readDisable(bool disable) override;
  bool readEnabled() const override { return read_disable_count_ == 0; }
  void close(net::CloseType type) override;
  State state() const override { return state_; }
  size_t bufferedBytes() const override;
  void setBufferLimits(uint32_t high_watermark) override;
  const net::Address& remoteAddress() const override { return transport_->remoteAddress(); }
  const net::Address& localAddress() const override { return transport_->localAddress(); }
  // The listener restores the original destination on the TCP transport before TLS wraps it.
  bool localAddressRestored() const override { return transport_->localAddressRestored(); }
  uint64_t id() const override { return transport_->id(); }
  std::string_view nextProtocol() const override { return next_protocol_; }
  std::string_view peerIdentity() const override { return link_.identity; }
  bool secure() const override { return true; }
  std::string_view failureReason() const override;
  net::Dispatcher& dispatcher() override { return transport_->dispatcher(); }

  bool sessionReused() const { return session_reused_; }
  HandshakeFailure handshakeFailure() const { return link_.failure; }
  const TlsContext& context() const { return *context_; }

  static constexpr uint32_t kDefaultHighWatermark = 1024 * 1024;
  // Largest TLS record payload: writes are encrypted in records this big.
  static constexpr size_t kMaxRecord = 16 * 1024;
  // Smallest tail room SSL_read is given before the input Buffer grows a slice.
  static constexpr size_t kMinReadRoom = 2048;

 private:
  friend struct TlsBio;

  TlsConnection(std::shared_ptr<const TlsContext> context, net::ConnectionPtr transport, HandshakeObserver* observer,
                const PeerValidation& validation, std::chrono::milliseconds handshake_timeout);
  bool initSsl();
  void armHandshakeTimer();

  // net::ConnectionCallbacks, from the transport.
  void onData(net::Buffer& data, bool end_stream) override;
  void onEvent(net::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;
  // net::IterationEndTask: encrypt this iteration's writes.
  void onIterationEnd() override;

  void startHandshake();
  void doHandshake();
  void handshakeDone();
  void failHandshake(HandshakeFailure reason, std::string detail);
  // Decrypts what the transport brought and hands it to the callbacks.
  // present_buffered: also hand over plaintext already buffered (new callbacks, re-enabled reading).
  void readAndDeliver(bool present_buffered);
  void encryptAndSend();
  void sendCiphertext(bool end_stream);
  void updateTransportReading();
  void updateWatermarks();
  void scheduleSoon();
  void onSoon();
  // Marks us closed, stops timers, closes the transport (if not already) and reports `event`.
  void finish(net::ConnectionEvent event, net::CloseType transport_close);

  enum class Phase { kWaitingForTransport, kHandshaking, kEstablished, kFailed };

  std::shared_ptr<const TlsContext> context_;
  net::ConnectionPtr transport_;
  HandshakeObserver* observer_;
  PeerValidation validation_;
  std::chrono::milliseconds handshake_timeout_;
  detail::ConnectionLink link_;
  ssl_st* ssl_ = nullptr;  // owns the BIO too
  net::ConnectionCallbacks* callbacks_ = nullptr;
  State state_ = State::kConnecting;
  Phase phase_ = Phase::kWaitingForTransport;

  net::Buffer cipher_in_;   // from the transport, not yet consumed by OpenSSL (read by the BIO)
  net::Buffer cipher_out_;  // written by OpenSSL (the BIO), handed to the transport
  net::Buffer input_;       // decrypted, not yet taken by the callbacks
  net::Buffer output_;      // written by the owner, not yet encrypted
  bool transport_eof_ = false;   // the transport saw the peer's FIN
  bool eof_ = false;             // end of stream reported to (or pending for) the callbacks
  bool end_stream_queued_ = false;
  bool close_notify_sent_ = false;
  bool close_after_flush_ = false;
  bool transport_read_disabled_ = false;
  bool session_reused_ = false;
  bool protocol_error_ = false;  // a record failed after the handshake: the session is not kept
  bool above_high_watermark_ = false;
  uint32_t read_disable_count_ = 0;
  uint32_t high_watermark_ = kDefaultHighWatermark;
  std::string next_protocol_;
  std::string failure_reason_;
  net::TimerPtr handshake_timer_;
  // Work that must not run on the caller's stack: starting the handshake,
  // handing buffered plaintext to new callbacks or after readDisable(false).
  net::TimerPtr soon_timer_;
  // Bounds the lingering of close(kFlushWrite) (TcpConnection::kDelayedCloseTimeout).
  net::TimerPtr linger_timer_;
};

}  // namespace remora::tls
