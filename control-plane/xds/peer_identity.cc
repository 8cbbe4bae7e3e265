#include "control-plane/xds/peer_identity.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

#include <cctype>

namespace remora::cp::xds {

namespace {

std::string firstProperty(const grpc::AuthContext& auth, const char* name) {
  const std::vector<grpc::string_ref> values = auth.FindPropertyValues(name);
  if (values.empty()) return {};
  return std::string(values.front().data(), values.front().size());
}

}  // namespace

PeerCertificate peerCertificate(const grpc::ServerContextBase& context) {
  PeerCertificate out;
  out.address = context.peer();
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  // The certificate itself, not IsPeerAuthenticated(): a SVID has no CN
  // and gRPC only names identity properties it knows.
  if (!auth) return out;
  out.present = !firstProperty(*auth, GRPC_X509_PEM_CERT_PROPERTY_NAME).empty();
  if (out.present) out.spiffe_id = firstProperty(*auth, GRPC_PEER_SPIFFE_ID_PROPERTY_NAME);
  return out;
}

std::string bearerToken(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return {};
  const std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kBearer = "Bearer ";
  if (value.size() <= kBearer.size()) return {};
  // The scheme is case-insensitive (RFC 7235); the token is not.
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != std::tolower(static_cast<unsigned char>(kBearer[i]))) {
      return {};
    }
  }
  return std::string(value.substr(kBearer.size()));
}

}  // namespace remora::cp::xds
