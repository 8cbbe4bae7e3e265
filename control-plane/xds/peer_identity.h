// PeerCertificate: what the TLS handshake of a gRPC call proved about the
// caller, read from gRPC's AuthContext: whether it presented a certificate
// (verified against the trust bundle, else the handshake failed) and the
// SPIFFE ID that certificate carries ("peer_spiffe_id": set by gRPC only for
// exactly one spiffe:// URI SAN). Plain value; any thread.
#pragma once

#include <grpcpp/server_context.h>

#include <string>

namespace remora::cp::xds {

struct PeerCertificate {
  bool present = false;   // a verified client certificate
  std::string spiffe_id;  // "" when none or not exactly one URI SAN
  std::string address;    // "ipv4:127.0.0.1:41234"
};

PeerCertificate peerCertificate(const grpc::ServerContextBase& context);

// The token of "authorization: Bearer <token>" metadata; "" when absent.
std::string bearerToken(const grpc::ServerContextBase& context);

}  // namespace remora::cp::xds
