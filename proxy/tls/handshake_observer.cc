#include "proxy/tls/handshake_observer.h"

namespace remora::tls {

std::string_view handshakeFailureName(HandshakeFailure failure) {
  switch (failure) {
    case HandshakeFailure::kNone: return "none";
    case HandshakeFailure::kNoPeerCertificate: return "no_peer_certificate";
    case HandshakeFailure::kUntrustedIssuer: return "untrusted_issuer";
    case HandshakeFailure::kExpired: return "expired";
    case HandshakeFailure::kNotYetValid: return "not_yet_valid";
    case HandshakeFailure::kPeerIsCa: return "peer_is_ca";
    case HandshakeFailure::kBadSpiffeId: return "bad_spiffe_id";
    case HandshakeFailure::kIdentityNotAllowed: return "identity_not_allowed";
    case HandshakeFailure::kProtocol: return "protocol";
    case HandshakeFailure::kTimeout: return "timeout";
    case HandshakeFailure::kTransportClosed: return "transport_closed";
  }
  return "unknown";
}

bool PeerValidation::accepts(std::string_view identity) const {
  if (exact.empty() && prefix.empty()) return true;
  for (const std::string& e : exact) {
    if (identity == e) return true;
  }
  for (const std::string& p : prefix) {
    if (identity.substr(0, p.size()) == p) return true;
  }
  return false;
}

}  // namespace remora::tls
