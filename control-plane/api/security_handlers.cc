#include "control-plane/api/security_handlers.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <charconv>
#include <ctime>

#include "control-plane/ca/certificate_authority.h"
#include "control-plane/ca/issued_certificates.h"
#include "control-plane/ca/token_store.h"

namespace remora::cp::api {

namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::string toJson(const Struct& object) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(object, &out);
  return out;
}

void setText(Struct& object, const std::string& key, const std::string& value) {
  (*object.mutable_fields())[key].set_string_value(value);
}
void setNumber(Struct& object, const std::string& key, double value) {
  (*object.mutable_fields())[key].set_number_value(value);
}
void setBool(Struct& object, const std::string& key, bool value) {
  (*object.mutable_fields())[key].set_bool_value(value);
}
Value* addItem(Struct& list_holder, const std::string& key) {
  return (*list_holder.mutable_fields())[key].mutable_list_value()->add_values();
}

base::Result<Struct> parseObject(const std::string& body) {
  Struct object;
  if (body.empty()) return object;
  if (!google::protobuf::util::JsonStringToMessage(body, &object).ok()) {
    return base::fail(base::Error::kInvalidArgument, "malformed JSON: the body must be a JSON object");
  }
  return object;
}

std::string textField(const Struct& object, const std::string& key) {
  auto it = object.fields().find(key);
  return it == object.fields().end() ? std::string() : it->second.string_value();
}

Struct tokenJson(const ca::TokenInfo& token, int64_t now_ms) {
  Struct out;
  setText(out, "id", token.id);
  setText(out, "namespace", token.namespace_);
  setText(out, "serviceAccount", token.service_account);
  setText(out, "createdAt", rfc3339(token.created_unix_ms / 1000));
  setText(out, "expiresAt", rfc3339(token.expires_unix_ms / 1000));
  setBool(out, "expired", now_ms >= token.expires_unix_ms);
  setNumber(out, "uses", static_cast<double>(token.uses));
  if (token.last_used_unix_ms > 0) setText(out, "lastUsedAt", rfc3339(token.last_used_unix_ms / 1000));
  return out;
}

ApiResponse disabled() {
  return errorResponse(404, "remora-cp runs with --insecure: there is no CA, no join tokens and no identities");
}

}  // namespace

base::Result<std::chrono::seconds> parseTtl(std::string_view text) {
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const std::string_view unit(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  int64_t scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  if (unit == "m") scale = 60;
  if (unit == "h") scale = 3600;
  if (unit == "d") scale = 86400;
  if (ec != std::errc() || ptr == text.data() || scale == 0 || value <= 0 || value > (int64_t{1} << 40)) {
    return base::fail(base::Error::kInvalidArgument,
                      "ttl: \"" + std::string(text) + "\" is not a positive duration like 90s, 30m, 24h or 7d");
  }
  return std::chrono::seconds(value * scale);
}

std::string rfc3339(int64_t unix_seconds) {
  const time_t time = static_cast<time_t>(unix_seconds);
  struct tm parts {};
  gmtime_r(&time, &parts);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer;
}

bool SecurityHandlers::owns(const std::vector<std::string>& parts) {
  return !parts.empty() && (parts[0] == "tokens" || parts[0] == "identities" || parts[0] == "ca");
}

ApiResponse SecurityHandlers::handle(const ApiRequest& request, const std::vector<std::string>& parts) {
  const bool get = request.method == "GET" || request.method == "HEAD";
  auto notAllowed = [&](const char* allow) {
    ApiResponse response = errorResponse(405, request.method + " is not allowed on " + request.path +
                                                  "; allowed: " + allow);
    response.headers.emplace_back("Allow", allow);
    return response;
  };
  const std::string& first = parts[0];
  if (first == "tokens" && parts.size() == 1) {
    if (!get && request.method != "POST") return notAllowed("GET, POST");
    if (backend_.tokens == nullptr) return disabled();
    return get ? listTokens() : createToken(request.body);
  }
  if (first == "tokens" && parts.size() == 2) {
    if (request.method != "DELETE") return notAllowed("DELETE");
    if (backend_.tokens == nullptr) return disabled();
    return deleteToken(parts[1]);
  }
  if (first == "identities" && parts.size() == 1) {
    if (!get) return notAllowed("GET");
    if (backend_.issued == nullptr) return disabled();
    return identities();
  }
  if (first == "ca" && parts.size() == 1) {
    if (!get) return notAllowed("GET");
    if (backend_.authority == nullptr) return disabled();
    return caStatus();
  }
  if (first == "ca" && parts.size() == 2 && parts[1] == "rotate") {
    if (request.method != "POST") return notAllowed("POST");
    if (backend_.authority == nullptr) return disabled();
    return rotate(request.body);
  }
  return errorResponse(404, "no such API path: " + request.path);
}

ApiResponse SecurityHandlers::createToken(const std::string& body) {
  auto object = parseObject(body);
  if (!object) return badRequest(object.error());
  for (const auto& [key, value] : object->fields()) {
    if (key != "namespace" && key != "serviceAccount" && key != "ttl") {
      return errorResponse(400, key + ": unknown field (namespace, serviceAccount, ttl)");
    }
  }
  std::chrono::seconds ttl = std::chrono::hours(24);
  if (auto it = object->fields().find("ttl"); it != object->fields().end()) {
    const Value& value = it->second;
    auto parsed = value.kind_case() == Value::kNumberValue
                      ? parseTtl(std::to_string(static_cast<int64_t>(value.number_value())))
                      : parseTtl(value.string_value());
    if (!parsed) return badRequest(parsed.error());
    ttl = *parsed;
  }
  std::string namespace_ = textField(*object, "namespace");
  if (namespace_.empty()) namespace_ = "default";
  const std::string account = textField(*object, "serviceAccount");
  if (account.empty()) return errorResponse(400, "serviceAccount: required");
  auto created = backend_.tokens->create(namespace_, account, ttl);
  if (!created) return created.error().code == base::Error::kInvalidArgument ? badRequest(created.error())
                                                                              : failureResponse(created.error());
  Struct out = tokenJson(created->info, created->info.created_unix_ms);
  setText(out, "token", created->token);
  if (backend_.authority != nullptr) {
    setText(out, "identity",
            ca::SpiffeId{backend_.authority->trustDomain(), namespace_, account}.uri());
  }
  return jsonResponse(toJson(out), 201);
}

ApiResponse SecurityHandlers::listTokens() {
  auto tokens = backend_.tokens->list();
  if (!tokens) return failureResponse(tokens.error());
  const int64_t now_ms = static_cast<int64_t>(std::time(nullptr)) * 1000;
  Struct out;
  (*out.mutable_fields())["items"].mutable_list_value();
  for (const ca::TokenInfo& token : *tokens) *addItem(out, "items")->mutable_struct_value() = tokenJson(token, now_ms);
  return jsonResponse(toJson(out));
}

ApiResponse SecurityHandlers::deleteToken(const std::string& id) {
  if (base::Status removed = backend_.tokens->remove(id); !removed) return failureResponse(removed.error());
  Struct out;
  setText(out, "id", id);
  setBool(out, "deleted", true);
  return jsonResponse(toJson(out));
}

ApiResponse SecurityHandlers::identities() {
  auto records = backend_.issued->list();
  if (!records) return failureResponse(records.error());
  Struct out;
  (*out.mutable_fields())["items"].mutable_list_value();
  for (const ca::IssuedRecord& record : *records) {
    Struct item;
    setText(item, "identity", record.identity);
    setText(item, "namespace", record.namespace_);
    setText(item, "serviceAccount", record.service_account);
    setText(item, "serial", record.serial);
    setText(item, "issuedAt", rfc3339(record.issued_unix));
    setText(item, "notAfter", rfc3339(record.not_after_unix));
    setText(item, "requestedBy", record.requested_by);
    auto& proxies = *(*item.mutable_fields())["proxies"].mutable_list_value();
    for (const std::string& node : record.proxies) proxies.add_values()->set_string_value(node);
    *addItem(out, "items")->mutable_struct_value() = std::move(item);
  }
  return jsonResponse(toJson(out));
}

ApiResponse SecurityHandlers::caStatus() {
  const ca::CaStatus status = backend_.authority->status();
  Struct out;
  setText(out, "trustDomain", status.trust_domain);
  setBool(out, "operatorSupplied", status.operator_supplied);
  setText(out, "rotationPhase", std::string(ca::rotationPhaseName(status.phase)));
  Struct signer;
  setText(signer, "subject", status.signer_subject);
  setText(signer, "fingerprint", status.signer_fingerprint);
  *(*out.mutable_fields())["signer"].mutable_struct_value() = std::move(signer);
  (*out.mutable_fields())["roots"].mutable_list_value();
  for (const ca::RootInfo& root : status.roots) {
    Struct item;
    setText(item, "subject", root.subject);
    setText(item, "fingerprint", root.fingerprint);
    setText(item, "notBefore", rfc3339(root.not_before_unix));
    setText(item, "notAfter", rfc3339(root.not_after_unix));
    setBool(item, "activeSigner", root.signing);
    setText(item, "pem", root.pem);
    *addItem(out, "roots")->mutable_struct_value() = std::move(item);
  }
  return jsonResponse(toJson(out));
}

ApiResponse SecurityHandlers::rotate(const std::string& body) {
  auto object = parseObject(body);
  if (!object) return badRequest(object.error());
  const std::string phase = textField(*object, "phase");
  if (phase != "prepare" && phase != "activate" && phase != "finish") {
    return errorResponse(400, "phase: must be prepare, activate or finish");
  }
  base::Status rotated = backend_.rotate ? backend_.rotate(phase) : backend_.authority->rotate(phase);
  if (!rotated) {
    // kUnsupported (operator-supplied CA) is a refusal of the request, like a conflict.
    if (rotated.code() == base::Error::kUnsupported) return errorResponse(409, rotated.message(), "Conflict");
    return failureResponse(rotated.error());
  }
  return caStatus();
}

}  // namespace remora::cp::api
