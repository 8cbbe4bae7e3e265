// TlsContext: one TLS configuration (our certificate and key, the roots we
// trust, client or server, ALPN, versions) built into an OpenSSL SSL_CTX.
// Built on the main thread when a listener, cluster or secret changes;
// immutable afterwards and shared by every worker (shared_ptr<const>), each
// TlsConnection holding the context it started with.
//
// ContextSlot: the current context of one configuration. The main thread
// swaps it on certificate rotation; workers read it for each new connection.
//
// Policy: TLS 1.2/1.3 only, forward-secret AEAD suites (ECDHE with AES-GCM or
// ChaCha20-Poly1305 for 1.2, the 1.3 defaults), no compression, no
// renegotiation. Servers issue session tickets; clients resume through a
// ClientSessionCache. Peer verification is strict (see peer_verifier.h).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "xds/base/status.h"
#include "xds/resources/model.h"

struct ssl_ctx_st;

namespace remora::tls {

struct ContextMaterial {          // PEM text, in memory
  std::string certificate_chain;  // leaf first; may be empty for a client without a certificate
  std::string private_key;
  std::string trusted_roots;      // one or more concatenated root certificates; empty: peer not verified
};

struct ContextOptions {
  bool server = false;
  // Server: refuse a client without a certificate (needs trusted_roots).
  // Client: a server certificate is always required when roots are set.
  bool require_peer_certificate = false;
  std::vector<std::string> alpn;  // client: offered; server: accepted in preference order
  xds::resources::TlsVersion min_version = xds::resources::TlsVersion::kTls12;
  xds::resources::TlsVersion max_version = xds::resources::TlsVersion::kTls13;
};

class TlsContext {
 public:
  // kInvalidArgument naming what is wrong: unparsable PEM, a key that does not
  // match the certificate, a server without a certificate, require without roots.
  static base::Result<std::shared_ptr<const TlsContext>> create(const ContextMaterial& material,
                                                                const ContextOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Our own certificate's SPIFFE ID (its single URI SAN), or "".
  const std::string& identity() const { return identity_; }
  // Our certificate's expiry (the epoch when we have none).
  std::chrono::system_clock::time_point notAfter() const { return not_after_; }
  bool server() const { return options_.server; }
  bool verifiesPeer() const { return verifies_peer_; }
  const ContextOptions& options() const { return options_; }

  // For TlsConnection (this folder) only.
  ssl_ctx_st* sslContext() const { return ctx_; }

 private:
  TlsContext() = default;
  friend struct ContextCallbacks;
  ssl_ctx_st* ctx_ = nullptr;
  ContextOptions options_;
  std::string alpn_wire_;  // options_.alpn as length-prefixed strings
  bool verifies_peer_ = false;
  std::string identity_;
  std::chrono::system_clock::time_point not_after_{};
};

// Thread-safe holder of the current TlsContext of one configuration. Existing
// connections keep the context they started with; set() affects new ones only.
class ContextSlot {
 public:
  ContextSlot() = default;
  explicit ContextSlot(std::shared_ptr<const TlsContext> context) : context_(std::move(context)) {}
  // Any thread. nullptr until the first set().
  std::shared_ptr<const TlsContext> current() const;
  // Any thread (the main thread on rotation).
  void set(std::shared_ptr<const TlsContext> context);

 private:
  // A mutex rather than std::atomic<shared_ptr>: libstdc++ 12's atomic
  // shared_ptr is itself lock-based, and this is read once per new connection.
  mutable std::mutex mutex_;
  std::shared_ptr<const TlsContext> context_;
};

}  // namespace remora::tls
