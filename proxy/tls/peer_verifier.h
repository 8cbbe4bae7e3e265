// Strict peer verification for TlsConnection, private to proxy/tls.
//
// OpenSSL builds and checks the chain against our roots (X509_verify_cert),
// then we check the leaf ourselves: not a CA, exactly one URI SAN, a
// well-formed SPIFFE ID, accepted by the connection's PeerValidation. Any
// failure fails the handshake (OpenSSL sends the alert; the peer learns no
// detail) and is classified into a HandshakeFailure for metrics and logs.
//
// Worker-local: the callbacks run inside SSL_do_handshake on the connection's thread.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "proxy/tls/connection_link.h"
#include "proxy/tls/handshake_observer.h"

namespace remora::tls::detail {

void attachLink(SSL* ssl, ConnectionLink* link);
ConnectionLink* linkOf(const SSL* ssl);

// SSL_CTX_set_cert_verify_callback: the whole chain check.
int verifyPeerChain(X509_STORE_CTX* store_ctx, void* arg) noexcept;

// The leaf rules above, for a leaf whose chain is already trusted (also
// used for a resumed session's peer). kNone with *identity set, or a reason
// with *detail set.
HandshakeFailure checkLeaf(X509* leaf, const PeerValidation* validation, std::string* identity, std::string* detail);

// An X509_V_ERR_* code as a reason.
HandshakeFailure classifyVerifyError(int x509_error);

}  // namespace remora::tls::detail
