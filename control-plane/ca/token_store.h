// TokenStore: join tokens, the secret a new sidecar presents (Bearer) to get
// its first certificate. A token is bound to one namespace and service
// account and expires; only its SHA-256 is stored, in the Store as objects of
// the internal kind "JoinToken" (namespace "", name = the token's id), so
// they survive restarts and never reach the mesh or the object API.
//
// Token text: "rmt_" + 43 base64url characters (32 random bytes). Its id is
// the first 16 hex digits of its SHA-256: public, shown by `token list`.
//
// Thread-safe (the Store is): the API creates tokens while gRPC threads
// verify them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "control-plane/store/store.h"
#include "xds/base/status.h"

namespace remora::cp::ca {

inline constexpr std::string_view kJoinTokenKind = "JoinToken";
inline constexpr std::string_view kIssuedCertificateKind = "IssuedCertificate";
// Kinds the CA keeps in the Store for itself: the mesh layer skips them.
bool isInternalKind(std::string_view kind);

struct TokenInfo {
  std::string id;
  std::string namespace_;
  std::string service_account;
  int64_t created_unix_ms = 0;
  int64_t expires_unix_ms = 0;
  int64_t last_used_unix_ms = 0;  // 0: never
  uint64_t uses = 0;
};

struct CreatedToken {
  std::string token;  // the secret: shown once, never stored
  TokenInfo info;
};

struct TokenCheck {
  enum class Outcome { kValid, kMalformed, kUnknown, kExpired };
  Outcome outcome = Outcome::kUnknown;
  TokenInfo info;  // set for kValid and kExpired
};
std::string_view tokenOutcomeName(TokenCheck::Outcome outcome);  // "valid", "malformed", "unknown", "expired"

class TokenStore {
 public:
  explicit TokenStore(store::Store& store, std::function<int64_t()> now_unix_ms = {});

  // kInvalidArgument for a bad namespace / service account / ttl (<= 0).
  base::Result<CreatedToken> create(std::string_view namespace_, std::string_view service_account,
                                    std::chrono::seconds ttl);
  // Every token, expired ones too, oldest first.
  base::Result<std::vector<TokenInfo>> list();
  // kNotFound for an unknown id.
  base::Status remove(std::string_view id);
  // Looks the token up (constant-time hash compare) and, when valid, counts
  // the use. Store failures are errors; a bad token is an Outcome.
  base::Result<TokenCheck> verify(std::string_view token);

 private:
  int64_t now() const;

  store::Store& store_;
  std::function<int64_t()> now_unix_ms_;
};

}  // namespace remora::cp::ca
