// SecurityHandlers: the JSON API's identity endpoints (docs/api.md,
// "Join tokens", "Identities", "Certificate authority"):
//   POST   /api/v1/tokens {namespace, serviceAccount, ttl}  -> 201 {token, id, expiresAt, ...}
//   GET    /api/v1/tokens                                   -> {"items": [...]} (no secrets)
//   DELETE /api/v1/tokens/{id}
//   GET    /api/v1/identities                               -> {"items": [...]}
//   GET    /api/v1/ca                                       -> roots, signer, rotation phase
//   POST   /api/v1/ca/rotate {"phase": "prepare"|"activate"|"finish"}
// Without a SecurityBackend (remora-cp --insecure) they answer 404 saying so.
//
// Called concurrently from the API server's pool threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "control-plane/api/api_errors.h"
#include "xds/base/status.h"

namespace remora::cp::ca {
class CertificateAuthority;
class IssuedCertificates;
class TokenStore;
}  // namespace remora::cp::ca

namespace remora::cp::api {

struct SecurityBackend {
  ca::TokenStore* tokens = nullptr;
  ca::IssuedCertificates* issued = nullptr;
  ca::CertificateAuthority* authority = nullptr;
  // One CA rotation step, with everything that follows it (the control plane's).
  std::function<base::Status(std::string_view phase)> rotate;
};

// "90s", "30m", "24h", "7d", or a number of seconds; > 0.
base::Result<std::chrono::seconds> parseTtl(std::string_view text);
// Unix seconds -> "2026-11-23T05:17:59Z".
std::string rfc3339(int64_t unix_seconds);

class SecurityHandlers {
 public:
  // Whether `parts` (the path below /api/v1/) is one of these endpoints.
  static bool owns(const std::vector<std::string>& parts);

  void setBackend(SecurityBackend backend) { backend_ = std::move(backend); }
  ApiResponse handle(const ApiRequest& request, const std::vector<std::string>& parts);

 private:
  ApiResponse createToken(const std::string& body);
  ApiResponse listTokens();
  ApiResponse deleteToken(const std::string& id);
  ApiResponse identities();
  ApiResponse caStatus();
  ApiResponse rotate(const std::string& body);

  SecurityBackend backend_;
};

}  // namespace remora::cp::api
