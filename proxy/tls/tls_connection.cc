#include "proxy/tls/tls_connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cassert>

#include "proxy/net/tcp_connection.h"
#include "proxy/tls/openssl_util.h"
#include "proxy/tls/peer_verifier.h"

namespace remora::tls {

using net::Buffer;
using net::CloseType;
using net::ConnectionEvent;

// The BIO between OpenSSL and our Buffers: reads take ciphertext from
// cipher_in_ (the one copy on the way in), writes append to cipher_out_,
// which the transport then takes by moving slices. It never blocks: an empty
// cipher_in_ is "retry" until the transport saw EOF.
struct TlsBio {
  static BIO_METHOD* method() {
    static BIO_METHOD* const kMethod = make();  // process lifetime; OpenSSL owns nothing of ours in it
    return kMethod;
  }
  static BIO_METHOD* make() {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "remora_buffer");
    BIO_meth_set_write(m, &TlsBio::write);
    BIO_meth_set_read(m, &TlsBio::read);
    BIO_meth_set_ctrl(m, &TlsBio::ctrl);
    return m;
  }
  static TlsConnection* owner(BIO* bio) { return static_cast<TlsConnection*>(BIO_get_data(bio)); }
  static int write(BIO* bio, const char* data, int size) noexcept {
    BIO_clear_retry_flags(bio);
    owner(bio)->cipher_out_.add(data, static_cast<size_t>(size));
    return size;
  }
  static int read(BIO* bio, char* out, int size) noexcept {
    BIO_clear_retry_flags(bio);
    TlsConnection* self = owner(bio);
    if (self->cipher_in_.empty()) {
      if (self->transport_eof_) return 0;
      BIO_set_retry_read(bio);
      return -1;
    }
    size_t n = self->cipher_in_.copyOut(0, static_cast<size_t>(size), out);
    self->cipher_in_.drain(n);
    return static_cast<int>(n);
  }
  static long ctrl(BIO*, int cmd, long, void*) noexcept { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
};

namespace {

// Bytes in the first slice of `buffer`.
size_t frontSliceSize(const Buffer& buffer) {
  size_t size = 0;
  buffer.forEachSlice([&](const char*, size_t n) {
    if (size == 0) size = n;
  });
  return size;
}

// The first error on the queue as a reason (a missing client certificate has
// its own), and the whole queue as words.
// `eof`: the transport ended, so an empty queue or an unexpected-EOF error
// means the peer went away rather than broke the protocol.
HandshakeFailure classifyQueue(bool eof, std::string* detail) {
  unsigned long first = ERR_peek_error();
  bool ssl_error = ERR_GET_LIB(first) == ERR_LIB_SSL;
  HandshakeFailure reason = HandshakeFailure::kProtocol;
  if (ssl_error && ERR_GET_REASON(first) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    reason = HandshakeFailure::kNoPeerCertificate;
  } else if (eof && (first == 0 || (ssl_error && ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING))) {
    reason = HandshakeFailure::kTransportClosed;
  }
  *detail = detail::takeErrors();
  if (reason == HandshakeFailure::kTransportClosed && detail->empty()) {
    *detail = "the peer closed the connection during the handshake";
  }
  return reason;
}

}  // namespace

TlsConnection::TlsConnection(std::shared_ptr<const TlsContext> context, net::ConnectionPtr transport,
                             HandshakeObserver* observer, const PeerValidation& validation,
                             std::chrono::milliseconds handshake_timeout)
    : context_(std::move(context)),
      transport_(std::move(transport)),
      observer_(observer),
      validation_(validation),
      handshake_timeout_(handshake_timeout) {
  link_.validation = &validation_;
  link_.context_tag = context_.get();
}

TlsConnection::~TlsConnection() {
  transport_->dispatcher().cancelIterationEnd(*this);
  // The transport points at us; it goes first, silently.
  transport_.reset();
  // OpenSSL marks the session of a connection freed without close_notify as
  // not resumable; a connection that merely ended (a reset, kNoFlush) has a
  // perfectly good session, so only a protocol failure costs it.
  if (ssl_ != nullptr && phase_ == Phase::kEstablished && !protocol_error_) {
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }
  SSL_free(ssl_);
}

bool TlsConnection::initSsl() {
  ssl_ = SSL_new(context_->sslContext());
  if (ssl_ == nullptr) return false;
  BIO* bio = BIO_new(TlsBio::method());
  if (bio == nullptr) return false;
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);  // one reference, owned by the SSL
  detail::attachLink(ssl_, &link_);
  return true;
}

std::unique_ptr<TlsConnection> TlsConnection::client(std::shared_ptr<const TlsContext> context,
                                                     net::ConnectionPtr transport, ClientOptions options,
                                                     HandshakeObserver* observer) {
  std::unique_ptr<TlsConnection> conn(new TlsConnection(std::move(context), std::move(transport), observer,
                                                        options.validation, options.handshake_timeout));
  bool ok = conn->initSsl();
  if (ok) {
    SSL_set_connect_state(conn->ssl_);
    if (!options.sni.empty()) ok = SSL_set_tlsext_host_name(conn->ssl_, options.sni.c_str()) == 1;
    if (options.sessions != nullptr && !options.session_key.empty()) {
      conn->link_.sessions = options.sessions;
      conn->link_.session_key = std::move(options.session_key);
      if (SSL_SESSION* session = options.sessions->find(conn->link_.session_key, conn->link_.context_tag)) {
        SSL_set_session(conn->ssl_, session);
      }
    }
  }
  if (!ok) conn->link_.fail(HandshakeFailure::kProtocol, "setting up the TLS session failed: " + detail::takeErrors());
  conn->transport_->setCallbacks(*conn);
  conn->armHandshakeTimer();
  // A connecting transport starts us with kConnected; an open (or failed) one on the next iteration.
  if (conn->transport_->state() != State::kConnecting || !ok) conn->scheduleSoon();
  return conn;
}

std::unique_ptr<TlsConnection> TlsConnection::server(std::shared_ptr<const TlsContext> context,
                                                     net::ConnectionPtr transport, Buffer& initial,
                                                     ServerOptions options, HandshakeObserver* observer) {
  std::unique_ptr<TlsConnection> conn(new TlsConnection(std::move(context), std::move(transport), observer,
                                                        options.validation, options.handshake_timeout));
  if (conn->initSsl()) {
    SSL_set_accept_state(conn->ssl_);
  } else {
    conn->link_.fail(HandshakeFailure::kProtocol, "setting up the TLS session failed: " + detail::takeErrors());
  }
  conn->cipher_in_.move(initial);
  conn->state_ = State::kConnecting;
  conn->transport_->setCallbacks(*conn);
  conn->armHandshakeTimer();
  // Never on the caller's stack: it has not set callbacks yet.
  conn->scheduleSoon();
  return conn;
}

void TlsConnection::armHandshakeTimer() {
  handshake_timer_ = dispatcher().createTimer([this] {
    failHandshake(HandshakeFailure::kTimeout, "no handshake within " + std::to_string(handshake_timeout_.count()) + " ms");
  });
  handshake_timer_->enable(handshake_timeout_);
}

void TlsConnection::setCallbacks(net::ConnectionCallbacks& callbacks) {
  callbacks_ = &callbacks;
  // Plaintext that arrived before (the listener deciding what to start) is presented to the new callee.
  if (phase_ == Phase::kEstablished && !input_.empty()) scheduleSoon();
}

void TlsConnection::startHandshake() {
  if (phase_ != Phase::kWaitingForTransport) return;
  phase_ = Phase::kHandshaking;
  doHandshake();
}

void TlsConnection::doHandshake() {
  if (link_.failure != HandshakeFailure::kNone) {  // set-up failed
    failHandshake(link_.failure, link_.detail);
    return;
  }
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    handshakeDone();
    return;
  }
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ && !transport_eof_) {
    sendCiphertext(false);
    return;
  }
  std::string detail;
  HandshakeFailure reason = classifyQueue(transport_eof_ && cipher_in_.empty(), &detail);
  if (link_.failure != HandshakeFailure::kNone) {
    reason = link_.failure;  // our verification's own words
    detail = link_.detail;
  }
  if (detail.empty()) detail = "handshake failed (" + std::to_string(err) + ")";
  failHandshake(reason, std::move(detail));
}

void TlsConnection::handshakeDone() {
  handshake_timer_->disable();
  session_reused_ = SSL_session_reused(ssl_) == 1;
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
  next_protocol_.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  if (context_->verifiesPeer()) {
    X509* peer = SSL_get0_peer_certificate(ssl_);
    if (peer != nullptr && (session_reused_ || link_.identity.empty())) {
      // A resumed session skipped the verify callback: the session carries the
      // peer's certificate and the verdict of the handshake that made it.
      if (SSL_get_verify_result(ssl_) != X509_V_OK) {
        failHandshake(HandshakeFailure::kUntrustedIssuer, "the resumed session's peer was not verified");
        return;
      }
      std::string detail;
      HandshakeFailure failure = detail::checkLeaf(peer, &validation_, &link_.identity, &detail);
      if (failure != HandshakeFailure::kNone) {
        failHandshake(failure, std::move(detail));
        return;
      }
    } else if (peer == nullptr && !context_->server()) {
      failHandshake(HandshakeFailure::kNoPeerCertificate, "the server sent no certificate");
      return;
    }
  }
  phase_ = Phase::kEstablished;
  state_ = State::kOpen;
  sendCiphertext(false);  // the handshake's last flight
  if (state_ != State::kOpen) return;
  if (observer_ != nullptr) observer_->onHandshakeDone(link_.identity, session_reused_);
  updateTransportReading();
  if (callbacks_ != nullptr) callbacks_->onEvent(ConnectionEvent::kConnected);
  if (state_ != State::kOpen) return;  // closed inside onEvent
  if (!output_.empty() || end_stream_queued_) dispatcher().scheduleIterationEnd(*this);
  // Application data may have come with the handshake's last flight.
  readAndDeliver(false);
}

void TlsConnection::failHandshake(HandshakeFailure reason, std::string detail) {
  if (state_ == State::kClosed || phase_ == Phase::kFailed) return;
  phase_ = Phase::kFailed;
  link_.failure = reason;
  link_.detail = detail;
  link_.identity.clear();
  failure_reason_ = "tls: " + std::string(handshakeFailureName(reason)) + ": " + detail;
  if (observer_ != nullptr) observer_->onHandshakeFailed(reason, detail);
  // The alert OpenSSL wrote (if any) goes out before the transport closes; a
  // timeout has nothing worth waiting for.
  if (reason != HandshakeFailure::kTimeout) sendCiphertext(false);
  finish(ConnectionEvent::kRemoteClose, reason == HandshakeFailure::kTimeout ? CloseType::kNoFlush
                                                                              : CloseType::kFlushWrite);
}

void TlsConnection::onData(Buffer& data, bool end_stream) {
  if (end_stream) transport_eof_ = true;
  if (close_after_flush_) {
    data.clear();  // lingering: the owner wants no more input
    return;
  }
  cipher_in_.move(data);
  switch (phase_) {
    case Phase::kWaitingForTransport:
      break;  // the server's first step runs from scheduleSoon()
    case Phase::kHandshaking:
      doHandshake();
      break;
    case Phase::kEstablished:
      readAndDeliver(false);
      break;
    case Phase::kFailed:
      cipher_in_.clear();
      break;
  }
}

void TlsConnection::readAndDeliver(bool present_buffered) {
  if (state_ != State::kOpen || phase_ != Phase::kEstablished) return;
  // Disabled or closing: ciphertext waits (bounded: the transport stops reading too).
  if (read_disable_count_ > 0 || close_after_flush_) return;
  bool got = false;
  bool newly_eof = false;
  while (!eof_) {
    std::span<char> room = input_.reserve(kMinReadRoom);
    ERR_clear_error();
    int n = SSL_read(ssl_, room.data(), static_cast<int>(room.size()));
    if (n > 0) {
      input_.commit(static_cast<size_t>(n));
      got = true;
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ) break;
    if (err == SSL_ERROR_ZERO_RETURN) {  // close_notify, or a FIN without one
      eof_ = true;
      newly_eof = true;
      break;
    }
    std::string errors = detail::takeErrors();
    protocol_error_ = true;
    failure_reason_ = "tls: protocol: " + (errors.empty() ? "SSL_read error " + std::to_string(err) : errors);
    sendCiphertext(false);
    finish(ConnectionEvent::kRemoteClose, CloseType::kFlushWrite);
    return;
  }
  // Post-handshake messages (a KeyUpdate) may need an answer.
  if (!cipher_out_.empty()) sendCiphertext(false);
  if (state_ != State::kOpen || callbacks_ == nullptr) return;
  if (got || newly_eof || (present_buffered && !input_.empty())) callbacks_->onData(input_, eof_);
}

void TlsConnection::write(Buffer& data, bool end_stream) {
  // After close() or end_stream nothing more may be sent; the bytes are dropped.
  if (state_ == State::kClosed || close_after_flush_ || end_stream_queued_) {
    data.clear();
    return;
  }
  output_.move(data);
  if (end_stream) end_stream_queued_ = true;
  // Everything written this iteration becomes as few records as possible, once.
  if (phase_ == Phase::kEstablished) dispatcher().scheduleIterationEnd(*this);
  updateWatermarks();
}

void TlsConnection::onIterationEnd() {
  if (state_ != State::kOpen || phase_ != Phase::kEstablished) return;
  encryptAndSend();
  if (state_ == State::kOpen) updateWatermarks();
}

void TlsConnection::encryptAndSend() {
  char* scratch = dispatcher().readScratch();
  while (!output_.empty()) {
    size_t record = std::min(output_.length(), kMaxRecord);
    const char* data = nullptr;
    if (frontSliceSize(output_) >= record) {
      data = output_.linearize(record);  // already contiguous: no copy
    } else {
      // Small slices are gathered into one full record rather than sent as
      // many small ones. The read scratch is free: nothing reads mid-callback.
      output_.copyOut(0, record, scratch);
      data = scratch;
    }
    ERR_clear_error();
    int n = SSL_write(ssl_, data, static_cast<int>(record));
    if (n <= 0) {
      protocol_error_ = true;
      failure_reason_ = "tls: protocol: " + detail::takeErrors();
      finish(ConnectionEvent::kRemoteClose, CloseType::kNoFlush);
      return;
    }
    output_.drain(static_cast<size_t>(n));
  }
  bool half_close = end_stream_queued_ && !close_notify_sent_;
  if (half_close) {
    SSL_shutdown(ssl_);
    close_notify_sent_ = true;
  }
  sendCiphertext(half_close);
}

void TlsConnection::sendCiphertext(bool end_stream) {
  if (transport_->state() == State::kClosed) {
    cipher_out_.clear();
    return;
  }
  if (!cipher_out_.empty() || end_stream) transport_->write(cipher_out_, end_stream);
}

void TlsConnection::onEvent(ConnectionEvent event) {
  if (state_ == State::kClosed) return;  // we closed the transport ourselves
  switch (event) {
    case ConnectionEvent::kConnected:
      startHandshake();
      return;
    case ConnectionEvent::kRemoteClose:
    case ConnectionEvent::kLocalClose:
      if (close_after_flush_) {
        // Our FIN and the peer's have both gone by (or the peer reset): the close we asked for.
        finish(ConnectionEvent::kLocalClose, CloseType::kNoFlush);
        return;
      }
      if (phase_ != Phase::kEstablished) {
        std::string why(transport_->failureReason());
        failHandshake(HandshakeFailure::kTransportClosed,
                      why.empty() ? "the connection closed during the handshake" : why);
        return;
      }
      finish(event, CloseType::kNoFlush);
      return;
  }
}

void TlsConnection::onAboveWriteBufferHighWatermark() { updateWatermarks(); }
void TlsConnection::onBelowWriteBufferLowWatermark() { updateWatermarks(); }

void TlsConnection::readDisable(bool disable) {
  if (disable) {
    ++read_disable_count_;
  } else {
    assert(read_disable_count_ > 0 && "readDisable(false) without a matching readDisable(true)");
    if (read_disable_count_ == 0) return;
    --read_disable_count_;
  }
  updateTransportReading();
  // Plaintext left behind, or ciphertext not yet decrypted, would otherwise
  // wait for the peer to send more, which it may never do.
  if (!disable && read_disable_count_ == 0 && phase_ == Phase::kEstablished &&
      (!input_.empty() || !cipher_in_.empty())) {
    scheduleSoon();
  }
}

void TlsConnection::updateTransportReading() {
  // During the handshake we always read: the owner's readDisable is about plaintext.
  // Lingering after close(kFlushWrite) must read, to see the peer's FIN.
  bool want_disabled = phase_ == Phase::kEstablished && read_disable_count_ > 0 && !close_after_flush_;
  if (want_disabled == transport_read_disabled_ || transport_->state() == State::kClosed) return;
  transport_read_disabled_ = want_disabled;
  transport_->readDisable(want_disabled);
}

void TlsConnection::scheduleSoon() {
  if (!soon_timer_) soon_timer_ = dispatcher().createTimer([this] { onSoon(); });
  if (!soon_timer_->enabled()) soon_timer_->enable(std::chrono::milliseconds(0));
}

void TlsConnection::onSoon() {
  if (state_ == State::kClosed) return;
  switch (phase_) {
    case Phase::kWaitingForTransport:
      if (link_.failure != HandshakeFailure::kNone) {  // set-up failed
        failHandshake(link_.failure, link_.detail);
      } else if (transport_->state() == State::kOpen) {
        startHandshake();
      } else if (transport_->state() == State::kClosed) {
        onEvent(ConnectionEvent::kRemoteClose);
      }
      return;
    case Phase::kHandshaking:
      return;
    case Phase::kEstablished:
      readAndDeliver(true);
      return;
    case Phase::kFailed:
      return;
  }
}

void TlsConnection::close(CloseType type) {
  if (state_ == State::kClosed) return;
  if (type == CloseType::kNoFlush || phase_ != Phase::kEstablished) {
    finish(ConnectionEvent::kLocalClose, CloseType::kNoFlush);
    return;
  }
  if (close_after_flush_) return;
  close_after_flush_ = true;
  dispatcher().cancelIterationEnd(*this);
  // What is queued, then close_notify and our FIN. Then we linger, reading
  // and discarding, until the peer closes too: closing a socket with unread
  // input makes the kernel reset it, and a reset destroys our bytes still in
  // flight (a TLS 1.3 server sends session tickets unprompted).
  end_stream_queued_ = true;
  encryptAndSend();
  if (state_ != State::kOpen) return;
  updateTransportReading();
  if (!linger_timer_) {
    linger_timer_ = dispatcher().createTimer([this] { finish(ConnectionEvent::kLocalClose, CloseType::kNoFlush); });
  }
  linger_timer_->enable(net::TcpConnection::kDelayedCloseTimeout);
}

void TlsConnection::finish(ConnectionEvent event, CloseType transport_close) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  dispatcher().cancelIterationEnd(*this);
  if (handshake_timer_) handshake_timer_->disable();
  if (soon_timer_) soon_timer_->disable();
  if (linger_timer_) linger_timer_->disable();
  output_.clear();
  if (transport_->state() != State::kClosed) transport_->close(transport_close);
  // Last thing we do: the callee may hand us to deferredDelete().
  if (callbacks_ != nullptr) callbacks_->onEvent(event);
}

size_t TlsConnection::bufferedBytes() const { return output_.length() + transport_->bufferedBytes(); }

void TlsConnection::setBufferLimits(uint32_t high_watermark) {
  high_watermark_ = high_watermark;
  // The transport's own events only tell us when to look again at the sum.
  transport_->setBufferLimits(high_watermark);
  if (above_high_watermark_ && high_watermark_ == 0) {
    above_high_watermark_ = false;
    if (callbacks_ != nullptr) callbacks_->onBelowWriteBufferLowWatermark();
    return;
  }
  if (state_ != State::kClosed) updateWatermarks();
}

void TlsConnection::updateWatermarks() {
  if (high_watermark_ == 0 || callbacks_ == nullptr || state_ == State::kClosed) return;
  size_t buffered = bufferedBytes();
  if (!above_high_watermark_ && buffered > high_watermark_) {
    above_high_watermark_ = true;
    callbacks_->onAboveWriteBufferHighWatermark();
  } else if (above_high_watermark_ && buffered <= high_watermark_ / 2) {
    above_high_watermark_ = false;
    callbacks_->onBelowWriteBufferLowWatermark();
  }
}

std::string_view TlsConnection::failureReason() const {
  if (!failure_reason_.empty()) return failure_reason_;
  return transport_->failureReason();
}

}  // namespace remora::tls
