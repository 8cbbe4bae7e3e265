#include "proxy/tls/peer_verifier.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>


#include "proxy/tls/openssl_util.h"

namespace remora::tls::detail {
namespace {

int linkIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

void attachLink(SSL* ssl, ConnectionLink* link) { SSL_set_ex_data(ssl, linkIndex(), link); }

ConnectionLink* linkOf(const SSL* ssl) { return static_cast<ConnectionLink*>(SSL_get_ex_data(ssl, linkIndex())); }

HandshakeFailure classifyVerifyError(int x509_error) {
  switch (x509_error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return HandshakeFailure::kExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return HandshakeFailure::kNotYetValid;
    // Everything else that breaks the chain (no path to a root, a self-signed
    // peer, a bad signature, an intermediate that is not a CA, a wrong
    // extended key usage) means we cannot trust who issued it.
    default:
      return HandshakeFailure::kUntrustedIssuer;
  }
}

HandshakeFailure checkLeaf(X509* leaf, const PeerValidation* validation, std::string* identity, std::string* detail) {
  if ((X509_get_extension_flags(leaf) & EXFLAG_CA) != 0) {
    *detail = "the peer's certificate is a CA certificate (CA:TRUE)";
    return HandshakeFailure::kPeerIsCa;
  }
  UriSans sans = uriSans(leaf);
  if (sans.uris.size() != 1) {
    *detail = "the peer's certificate has " + std::to_string(sans.uris.size()) + " URI SANs, not exactly one";
    return HandshakeFailure::kBadSpiffeId;
  }
  const std::string& uri = sans.uris.front();
  if (!isSpiffeId(uri)) {
    *detail = "the peer's URI SAN '" + uri + "' is not a SPIFFE ID";
    return HandshakeFailure::kBadSpiffeId;
  }
  if (validation != nullptr && !validation->accepts(uri)) {
    *detail = "peer identity '" + uri + "' is not allowed";
    return HandshakeFailure::kIdentityNotAllowed;
  }
  *identity = uri;
  return HandshakeFailure::kNone;
}

int verifyPeerChain(X509_STORE_CTX* store_ctx, void*) noexcept {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  ConnectionLink* link = ssl != nullptr ? linkOf(ssl) : nullptr;
  if (X509_verify_cert(store_ctx) <= 0) {
    int err = X509_STORE_CTX_get_error(store_ctx);
    if (link != nullptr) {
      link->fail(classifyVerifyError(err), std::string("certificate verify failed: ") +
                                               X509_verify_cert_error_string(err) + " at depth " +
                                               std::to_string(X509_STORE_CTX_get_error_depth(store_ctx)));
    }
    // A failure leaves its reasons on the thread's error queue; the handshake's own error says enough.
    ERR_clear_error();
    return 0;
  }
  X509* leaf = X509_STORE_CTX_get0_cert(store_ctx);
  std::string identity;
  std::string detail;
  HandshakeFailure failure = checkLeaf(leaf, link != nullptr ? link->validation : nullptr, &identity, &detail);
  if (failure != HandshakeFailure::kNone) {
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    if (link != nullptr) link->fail(failure, std::move(detail));
    return 0;
  }
  if (link != nullptr) link->identity = std::move(identity);
  return 1;
}

}  // namespace remora::tls::detail
