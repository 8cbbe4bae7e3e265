#include "control-plane/ca/token_store.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "control-plane/ca/crypto.h"
#include "control-plane/ca/spiffe_id.h"

namespace remora::cp::ca {

namespace {

using base::Error;
using base::fail;

constexpr std::string_view kPrefix = "rmt_";
constexpr size_t kIdHexDigits = 16;

store::ObjectKey keyFor(std::string_view id) { return {std::string(kJoinTokenKind), "", std::string(id)}; }

struct StoredToken {
  TokenInfo info;
  std::string hash_hex;
};

std::string encode(const StoredToken& token) {
  google::protobuf::Struct spec;
  auto& fields = *spec.mutable_fields();
  fields["namespace"].set_string_value(token.info.namespace_);
  fields["serviceAccount"].set_string_value(token.info.service_account);
  fields["sha256"].set_string_value(token.hash_hex);
  // Milliseconds stay below 2^53, so a JSON number holds them exactly.
  fields["createdUnixMs"].set_number_value(static_cast<double>(token.info.created_unix_ms));
  fields["expiresUnixMs"].set_number_value(static_cast<double>(token.info.expires_unix_ms));
  fields["lastUsedUnixMs"].set_number_value(static_cast<double>(token.info.last_used_unix_ms));
  fields["uses"].set_number_value(static_cast<double>(token.info.uses));
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(spec, &out);
  return out;
}

base::Result<StoredToken> decode(const store::StoredObject& object) {
  google::protobuf::Struct spec;
  if (!google::protobuf::util::JsonStringToMessage(object.spec_json, &spec).ok()) {
    return fail(Error::kInternal, "stored JoinToken " + object.key.name + " is not JSON");
  }
  auto text = [&](const char* name) {
    auto it = spec.fields().find(name);
    return it == spec.fields().end() ? std::string() : it->second.string_value();
  };
  auto number = [&](const char* name) {
    auto it = spec.fields().find(name);
    return it == spec.fields().end() ? int64_t{0} : static_cast<int64_t>(it->second.number_value());
  };
  StoredToken out;
  out.info.id = object.key.name;
  out.info.namespace_ = text("namespace");
  out.info.service_account = text("serviceAccount");
  out.info.created_unix_ms = number("createdUnixMs");
  out.info.expires_unix_ms = number("expiresUnixMs");
  out.info.last_used_unix_ms = number("lastUsedUnixMs");
  out.info.uses = static_cast<uint64_t>(number("uses"));
  out.hash_hex = text("sha256");
  return out;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

bool isInternalKind(std::string_view kind) { return kind == kJoinTokenKind || kind == kIssuedCertificateKind; }

std::string_view tokenOutcomeName(TokenCheck::Outcome outcome) {
  switch (outcome) {
    case TokenCheck::Outcome::kValid: return "valid";
    case TokenCheck::Outcome::kMalformed: return "malformed";
    case TokenCheck::Outcome::kUnknown: return "unknown";
    case TokenCheck::Outcome::kExpired: return "expired";
  }
  return "unknown";
}

TokenStore::TokenStore(store::Store& store, std::function<int64_t()> now_unix_ms)
    : store_(store), now_unix_ms_(std::move(now_unix_ms)) {}

int64_t TokenStore::now() const {
  if (now_unix_ms_) return now_unix_ms_();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

base::Result<CreatedToken> TokenStore::create(std::string_view namespace_, std::string_view service_account,
                                              std::chrono::seconds ttl) {
  if (!validIdentityName(namespace_)) return fail(Error::kInvalidArgument, "namespace: must be 1..253 of [a-zA-Z0-9._-]");
  if (!validIdentityName(service_account)) {
    return fail(Error::kInvalidArgument, "serviceAccount: must be 1..253 of [a-zA-Z0-9._-]");
  }
  if (ttl.count() <= 0) return fail(Error::kInvalidArgument, "ttl: must be positive");
  CreatedToken out;
  out.token = std::string(kPrefix) + crypto::base64Url(crypto::randomBytes(32));
  const std::string hash = crypto::hex(crypto::sha256(out.token));
  StoredToken stored;
  stored.hash_hex = hash;
  stored.info.id = hash.substr(0, kIdHexDigits);
  stored.info.namespace_ = std::string(namespace_);
  stored.info.service_account = std::string(service_account);
  stored.info.created_unix_ms = now();
  stored.info.expires_unix_ms = stored.info.created_unix_ms + ttl.count() * 1000;
  auto created = store_.create(keyFor(stored.info.id), encode(stored));
  if (!created) return created.error();
  out.info = stored.info;
  return out;
}

base::Result<std::vector<TokenInfo>> TokenStore::list() {
  auto objects = store_.list(kJoinTokenKind, "");
  if (!objects) return objects.error();
  std::vector<TokenInfo> out;
  for (const store::StoredObject& object : *objects) {
    auto token = decode(object);
    if (token) out.push_back(std::move(token->info));
  }
  std::sort(out.begin(), out.end(), [](const TokenInfo& a, const TokenInfo& b) {
    return a.created_unix_ms != b.created_unix_ms ? a.created_unix_ms < b.created_unix_ms : a.id < b.id;
  });
  return out;
}

base::Status TokenStore::remove(std::string_view id) {
  base::Status removed = store_.remove(keyFor(id), 0);
  if (!removed && removed.code() == Error::kNotFound) {
    return fail(Error::kNotFound, "no join token with id " + std::string(id));
  }
  return removed;
}

base::Result<TokenCheck> TokenStore::verify(std::string_view token) {
  TokenCheck check;
  if (!token.starts_with(kPrefix) || token.size() != kPrefix.size() + 43) {
    check.outcome = TokenCheck::Outcome::kMalformed;
    return check;
  }
  const std::string hash = crypto::hex(crypto::sha256(token));
  auto object = store_.get(keyFor(hash.substr(0, kIdHexDigits)));
  if (!object) {
    if (object.error().code != Error::kNotFound) return object.error();
    check.outcome = TokenCheck::Outcome::kUnknown;
    return check;
  }
  auto stored = decode(*object);
  if (!stored) return stored.error();
  if (!constantTimeEquals(stored->hash_hex, hash)) {
    check.outcome = TokenCheck::Outcome::kUnknown;
    return check;
  }
  const int64_t now_ms = now();
  check.info = stored->info;
  if (now_ms >= stored->info.expires_unix_ms) {
    check.outcome = TokenCheck::Outcome::kExpired;
    return check;
  }
  stored->info.uses += 1;
  stored->info.last_used_unix_ms = now_ms;
  // Counting is best effort: a conflicting concurrent use loses one count,
  // never the certificate.
  (void)store_.put(object->key, encode(*stored), object->resource_version);
  check.info = stored->info;
  check.outcome = TokenCheck::Outcome::kValid;
  return check;
}

}  // namespace remora::cp::ca
