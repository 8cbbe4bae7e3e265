// ConnectionLink: the per-connection state OpenSSL's callbacks reach through
// the SSL's ex_data (peer_verifier.cc, tls_context.cc): the validation to
// apply, how the handshake failed, the verified identity, and where a client
// stores the sessions it receives. Private to proxy/tls; worker-local, owned
// by its TlsConnection.
#pragma once

#include <string>

#include "proxy/tls/handshake_observer.h"

namespace remora::tls {
class ClientSessionCache;
}

namespace remora::tls::detail {

struct ConnectionLink {
  const PeerValidation* validation = nullptr;
  HandshakeFailure failure = HandshakeFailure::kNone;  // the first reason recorded
  std::string detail;
  std::string identity;  // the verified leaf's SPIFFE ID
  ClientSessionCache* sessions = nullptr;
  std::string session_key;
  const void* context_tag = nullptr;  // the TlsContext the connection was made from

  void fail(HandshakeFailure reason, std::string text) {
    if (failure != HandshakeFailure::kNone) return;
    failure = reason;
    detail = std::move(text);
  }
};

}  // namespace remora::tls::detail
