#include "proxy/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "proxy/tls/client_session_cache.h"
#include "proxy/tls/openssl_util.h"
#include "proxy/tls/peer_verifier.h"

namespace remora::tls {
namespace {

using base::Error;
using base::fail;
using xds::resources::TlsVersion;

// ECDHE only (forward secrecy), AEAD only. TLS 1.3 suites are all AEAD and
// forward-secret; OpenSSL's defaults are kept for them.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
constexpr const char* kGroups = "X25519:P-256:P-384";
// Names the server's sessions, so a ticket is only resumed by the
// configuration that issued it (OpenSSL refuses to resume a session with a
// verified client certificate without one).
constexpr unsigned char kSessionIdContext[] = "remora";

int protocolVersion(TlsVersion v) { return v == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION; }

base::Failure invalid(std::string what) {
  std::string errors = detail::takeErrors();
  if (!errors.empty()) what += ": " + errors;
  return fail(Error::kInvalidArgument, std::move(what));
}

}  // namespace

// OpenSSL callbacks that need TlsContext's private members.
struct ContextCallbacks {
  static int selectAlpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                        unsigned int in_len, void* arg) noexcept {
    const auto* self = static_cast<const TlsContext*>(arg);
    unsigned char* selected = nullptr;
    unsigned char selected_len = 0;
    // Walks our list in order: the server's preference wins.
    int rc = SSL_select_next_proto(&selected, &selected_len,
                                   reinterpret_cast<const unsigned char*>(self->alpn_wire_.data()),
                                   static_cast<unsigned int>(self->alpn_wire_.size()), in, in_len);
    if (rc != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;  // no overlap: carry on without ALPN
    *out = selected;
    *out_len = selected_len;
    return SSL_TLSEXT_ERR_OK;
  }
  static int storeNewSession(SSL* ssl, SSL_SESSION* session) noexcept {
    detail::ConnectionLink* link = detail::linkOf(ssl);
    if (link == nullptr || link->sessions == nullptr || link->session_key.empty()) return 0;
    link->sessions->store(link->session_key, link->context_tag, session);
    return 1;  // the cache keeps OpenSSL's reference
  }
};

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

base::Result<std::shared_ptr<const TlsContext>> TlsContext::create(const ContextMaterial& material,
                                                                   const ContextOptions& options) {
  ERR_clear_error();
  std::shared_ptr<TlsContext> context(new TlsContext());
  context->options_ = options;
  SSL_CTX* ctx = SSL_CTX_new(options.server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return invalid("SSL_CTX_new failed");
  context->ctx_ = ctx;

  if (options.min_version > options.max_version) return invalid("min_version is above max_version");
  SSL_CTX_set_min_proto_version(ctx, protocolVersion(options.min_version));
  SSL_CTX_set_max_proto_version(ctx, protocolVersion(options.max_version));
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) return invalid("setting the TLS 1.2 ciphers");
  if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1) return invalid("setting the key exchange groups");
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               // A peer closing TCP without close_notify is an end of stream
                               // (HTTP framing detects truncation), as in Envoy and HAProxy.
                               SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Idle connections give their 34 KiB of record buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

  // Our certificate chain and key.
  if (!material.certificate_chain.empty()) {
    std::string error;
    std::vector<detail::X509Ptr> chain = detail::parseCertificates(material.certificate_chain, &error);
    if (chain.empty()) return invalid("certificate_chain: no valid PEM certificate " + error);
    if (SSL_CTX_use_certificate(ctx, chain[0].get()) != 1) return invalid("certificate_chain: leaf refused");
    for (size_t i = 1; i < chain.size(); ++i) {
      if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) return invalid("certificate_chain: intermediate refused");
    }
    detail::EvpPkeyPtr key = detail::parsePrivateKey(material.private_key);
    if (!key) return invalid("private_key: no valid PEM private key");
    if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
      return invalid("private_key: does not match the certificate");
    }
    detail::UriSans sans = detail::uriSans(chain[0].get());
    if (sans.uris.size() == 1) context->identity_ = sans.uris.front();
    context->not_after_ = detail::toTimePoint(X509_get0_notAfter(chain[0].get()));
  } else if (options.server) {
    return invalid("certificate_chain: a server needs a certificate");
  }

  // Roots and verification.
  if (!material.trusted_roots.empty()) {
    std::string error;
    std::vector<detail::X509Ptr> roots = detail::parseCertificates(material.trusted_roots, &error);
    if (roots.empty()) return invalid("trusted_roots: no valid PEM certificate " + error);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    for (auto& root : roots) {
      if (X509_STORE_add_cert(store, root.get()) != 1) return invalid("trusted_roots: certificate refused");
    }
    int mode = SSL_VERIFY_PEER;
    // Without FAIL_IF_NO_PEER_CERT a server "verifies" a client that sends
    // nothing by accepting it.
    if (options.server && options.require_peer_certificate) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx, &detail::verifyPeerChain, nullptr);
    context->verifies_peer_ = true;
  } else if (options.server && options.require_peer_certificate) {
    return invalid("trusted_roots: requiring a client certificate needs roots to verify it");
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }

  // ALPN.
  for (const std::string& proto : options.alpn) {
    if (proto.empty() || proto.size() > 255) return invalid("alpn: '" + proto + "' must be 1..255 bytes");
    context->alpn_wire_.push_back(static_cast<char>(proto.size()));
    context->alpn_wire_ += proto;
  }

  if (options.server) {
    if (!context->alpn_wire_.empty()) SSL_CTX_set_alpn_select_cb(ctx, &ContextCallbacks::selectAlpn, context.get());
    SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1);
    // Stateless tickets (the default) carry resumption; no server-side cache to grow.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
  } else {
    if (!context->alpn_wire_.empty() &&
        SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(context->alpn_wire_.data()),
                                static_cast<unsigned int>(context->alpn_wire_.size())) != 0) {
      return invalid("alpn: refused");
    }
    // Sessions go to the connection's ClientSessionCache, never to OpenSSL's own store.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &ContextCallbacks::storeNewSession);
  }
  return std::shared_ptr<const TlsContext>(std::move(context));
}

std::shared_ptr<const TlsContext> ContextSlot::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return context_;
}

void ContextSlot::set(std::shared_ptr<const TlsContext> context) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    context_.swap(context);
  }
  // `context` now holds the old one: if this was its last owner, it dies here, outside the lock.
}

}  // namespace remora::tls
