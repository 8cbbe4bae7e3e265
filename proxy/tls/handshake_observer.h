// What a TLS handshake may end with, and who hears about it: the failure
// reasons (their names are the `reason` label of
// remora_tls_handshake_failures_total and the text of failureReason()), the
// peer identities a connection accepts, and the per-connection observer the
// listener or connection pool passes to TlsConnection.
//
// Plain values; an observer is called on the connection's worker thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace remora::tls {

enum class HandshakeFailure {
  kNone,
  kNoPeerCertificate,   // a peer certificate was required and none was sent
  kUntrustedIssuer,     // the chain does not lead to one of our trusted roots
  kExpired,             // a certificate of the chain is past notAfter
  kNotYetValid,         // a certificate of the chain is before notBefore
  kPeerIsCa,            // the peer's leaf says CA:TRUE
  kBadSpiffeId,         // not exactly one URI SAN, or it is not spiffe://td/path
  kIdentityNotAllowed,  // a good SPIFFE ID that PeerValidation does not accept
  kProtocol,            // version, cipher, ALPN, malformed records, alerts from the peer
  kTimeout,             // the handshake took longer than its timeout
  kTransportClosed,     // the TCP connection ended during the handshake
};

// "no_peer_certificate", "untrusted_issuer", ... ("none" for kNone). Stable: metric label values.
std::string_view handshakeFailureName(HandshakeFailure failure);

// Which peer identities (the leaf's URI SAN) are accepted besides chaining to
// the trusted roots. Both lists empty: any valid SPIFFE ID.
struct PeerValidation {
  std::vector<std::string> exact;
  std::vector<std::string> prefix;
  bool accepts(std::string_view identity) const;
};

// Told exactly once per TlsConnection, on its worker thread, how its handshake
// ended. Must outlive the connection (or the handshake). With TLS 1.3 a client
// hears onHandshakeDone before the server has checked the client's
// certificate; a refusal then arrives as an alert, which closes the
// connection with failureReason() "tls: protocol: ..." but is not reported again.
// An owner that closes the connection mid-handshake is not told either.
class HandshakeObserver {
 public:
  virtual ~HandshakeObserver() = default;
  virtual void onHandshakeDone(std::string_view peer_identity, bool resumed) = 0;
  virtual void onHandshakeFailed(HandshakeFailure reason, std::string_view detail) = 0;
};

}  // namespace remora::tls
