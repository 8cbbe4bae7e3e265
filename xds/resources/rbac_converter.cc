#include "xds/resources/rbac_converter.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "xds/resources/common_converters.h"
#include "xds/resources/route_converter.h"

namespace remora::xds::resources {

namespace rbac = envoy::config::rbac::v3;
namespace matcher = envoy::type::matcher::v3;
namespace http_rbac = envoy::extensions::filters::http::rbac::v3;
namespace network_rbac = envoy::extensions::filters::network::rbac::v3;
using base::Result;
using base::Status;

namespace {

// Deeper trees are refused: the authorizer recurses once per level, and no
// policy a person writes nests this deep.
constexpr int kMaxDepth = 16;

// See the header: unknown fields in an access rule are refused, not ignored.
Status noUnknownFields(const google::protobuf::Message& message, std::string_view path) {
  if (!message.GetReflection()->GetUnknownFields(message).empty()) {
    return unsupportedField(path, "it carries fields remora-proxy does not know (such as a CEL condition or a "
                                  "metadata matcher); refusing rather than ignoring part of an access rule");
  }
  return Status::ok();
}

Status strict(const google::protobuf::Message& message, std::string_view path,
              std::initializer_list<std::string_view> supported) {
  if (Status s = noUnknownFields(message, path); !s) return s;
  return onlySupportedFields(message, path, supported);
}

Result<StringMatch> strictStringMatch(const matcher::StringMatcher& proto, std::string_view path) {
  // An access rule is refused rather than half-read: no unknown fields.
  if (Status s = noUnknownFields(proto, path); !s) return s.error();
  return toStringMatch(proto, path);
}

Result<RbacMatch> toUrlPath(const matcher::PathMatcher& proto, std::string_view path) {
  if (Status s = strict(proto, path, {"path"}); !s) return s.error();
  const std::string string_path = fieldPath(path, "path");
  if (!proto.has_path()) return invalidField(string_path, "is required");
  Result<StringMatch> match = strictStringMatch(proto.path(), string_path);
  if (!match) return match.error();
  RbacMatch out;
  out.kind = RbacMatch::Kind::kUrlPath;
  out.string_match = std::move(*match);
  return out;
}

Result<RbacMatch> toHeader(const envoy::config::route::v3::HeaderMatcher& proto, std::string_view path) {
  if (Status s = noUnknownFields(proto, path); !s) return s.error();
  Result<HeaderMatcher> header = toHeaderMatcher(proto, path);
  if (!header) return header.error();
  RbacMatch out;
  out.kind = RbacMatch::Kind::kHeader;
  out.header = std::move(*header);
  return out;
}

template <typename Node, typename Convert>
Result<RbacMatch> toSet(const google::protobuf::RepeatedPtrField<Node>& items, RbacMatch::Kind kind,
                        std::string_view path, Convert convert) {
  if (items.empty()) return invalidField(path, "must hold at least one entry");
  RbacMatch out;
  out.kind = kind;
  for (int i = 0; i < items.size(); ++i) {
    Result<RbacMatch> child = convert(items.Get(i), indexPath(path, static_cast<size_t>(i)));
    if (!child) return child.error();
    out.children.push_back(std::move(*child));
  }
  return out;
}

Result<RbacMatch> toPermission(const rbac::Permission& proto, std::string_view path, int depth) {
  if (depth > kMaxDepth) return invalidField(path, "nests deeper than 16 levels");
  if (Status s = noUnknownFields(proto, path); !s) return s.error();
  auto recurse = [depth](const rbac::Permission& child, std::string_view child_path) {
    return toPermission(child, child_path, depth + 1);
  };
  RbacMatch out;
  switch (proto.rule_case()) {
    case rbac::Permission::kAndRules:
      if (Status s = strict(proto.and_rules(), fieldPath(path, "and_rules"), {"rules"}); !s) return s.error();
      return toSet(proto.and_rules().rules(), RbacMatch::Kind::kAnd, fieldPath(path, "and_rules.rules"), recurse);
    case rbac::Permission::kOrRules:
      if (Status s = strict(proto.or_rules(), fieldPath(path, "or_rules"), {"rules"}); !s) return s.error();
      return toSet(proto.or_rules().rules(), RbacMatch::Kind::kOr, fieldPath(path, "or_rules.rules"), recurse);
    case rbac::Permission::kAny:
      if (!proto.any()) return invalidField(fieldPath(path, "any"), "must be true when set");
      out.kind = RbacMatch::Kind::kAny;
      return out;
    case rbac::Permission::kHeader: return toHeader(proto.header(), fieldPath(path, "header"));
    case rbac::Permission::kUrlPath: return toUrlPath(proto.url_path(), fieldPath(path, "url_path"));
    case rbac::Permission::kDestinationPort:
      if (proto.destination_port() < 1 || proto.destination_port() > 65535) {
        return invalidField(fieldPath(path, "destination_port"),
                            std::to_string(proto.destination_port()) + " is out of range 1..65535");
      }
      out.kind = RbacMatch::Kind::kDestinationPort;
      out.destination_port = proto.destination_port();
      return out;
    case rbac::Permission::kNotRule: {
      Result<RbacMatch> child = toPermission(proto.not_rule(), fieldPath(path, "not_rule"), depth + 1);
      if (!child) return child.error();
      out.kind = RbacMatch::Kind::kNot;
      out.children.push_back(std::move(*child));
      return out;
    }
    case rbac::Permission::kRequestedServerName:
      return unsupportedField(fieldPath(path, "requested_server_name"));
    case rbac::Permission::RULE_NOT_SET: break;
  }
  return invalidField(path, "a rule is required (and_rules, or_rules, any, header, url_path, destination_port "
                            "or not_rule)");
}

Result<RbacMatch> toPrincipal(const rbac::Principal& proto, std::string_view path, int depth) {
  if (depth > kMaxDepth) return invalidField(path, "nests deeper than 16 levels");
  if (Status s = noUnknownFields(proto, path); !s) return s.error();
  auto recurse = [depth](const rbac::Principal& child, std::string_view child_path) {
    return toPrincipal(child, child_path, depth + 1);
  };
  RbacMatch out;
  switch (proto.identifier_case()) {
    case rbac::Principal::kAndIds:
      if (Status s = strict(proto.and_ids(), fieldPath(path, "and_ids"), {"ids"}); !s) return s.error();
      return toSet(proto.and_ids().ids(), RbacMatch::Kind::kAnd, fieldPath(path, "and_ids.ids"), recurse);
    case rbac::Principal::kOrIds:
      if (Status s = strict(proto.or_ids(), fieldPath(path, "or_ids"), {"ids"}); !s) return s.error();
      return toSet(proto.or_ids().ids(), RbacMatch::Kind::kOr, fieldPath(path, "or_ids.ids"), recurse);
    case rbac::Principal::kAny:
      if (!proto.any()) return invalidField(fieldPath(path, "any"), "must be true when set");
      out.kind = RbacMatch::Kind::kAny;
      return out;
    case rbac::Principal::kAuthenticated: {
      const std::string auth_path = fieldPath(path, "authenticated");
      if (Status s = strict(proto.authenticated(), auth_path, {"principal_name"}); !s) return s.error();
      out.kind = RbacMatch::Kind::kAuthenticated;
      if (proto.authenticated().has_principal_name()) {
        Result<StringMatch> name =
            strictStringMatch(proto.authenticated().principal_name(), fieldPath(auth_path, "principal_name"));
        if (!name) return name.error();
        out.string_match = std::move(*name);
      } else {
        // No name: any peer with a verified certificate (an empty prefix;
        // the authorizer requires a peer identity for kAuthenticated).
        out.string_match = StringMatch{StringMatch::Kind::kPrefix, "", false};
      }
      return out;
    }
    case rbac::Principal::kHeader: return toHeader(proto.header(), fieldPath(path, "header"));
    case rbac::Principal::kUrlPath: return toUrlPath(proto.url_path(), fieldPath(path, "url_path"));
    case rbac::Principal::kNotId: {
      Result<RbacMatch> child = toPrincipal(proto.not_id(), fieldPath(path, "not_id"), depth + 1);
      if (!child) return child.error();
      out.kind = RbacMatch::Kind::kNot;
      out.children.push_back(std::move(*child));
      return out;
    }
    case rbac::Principal::IDENTIFIER_NOT_SET: break;
  }
  return invalidField(path, "an identifier is required (and_ids, or_ids, any, authenticated, header, url_path "
                            "or not_id)");
}

Result<RbacPolicy> toPolicy(const std::string& name, const rbac::Policy& proto, std::string_view path) {
  if (Status s = strict(proto, path, {"permissions", "principals"}); !s) return s.error();
  RbacPolicy out;
  out.name = name;
  const std::string permissions_path = fieldPath(path, "permissions");
  const std::string principals_path = fieldPath(path, "principals");
  if (proto.permissions_size() == 0) return invalidField(permissions_path, "must hold at least one permission");
  if (proto.principals_size() == 0) return invalidField(principals_path, "must hold at least one principal");
  for (int i = 0; i < proto.permissions_size(); ++i) {
    Result<RbacMatch> permission =
        toPermission(proto.permissions(i), indexPath(permissions_path, static_cast<size_t>(i)), 1);
    if (!permission) return permission.error();
    out.permissions.push_back(std::move(*permission));
  }
  for (int i = 0; i < proto.principals_size(); ++i) {
    Result<RbacMatch> principal =
        toPrincipal(proto.principals(i), indexPath(principals_path, static_cast<size_t>(i)), 1);
    if (!principal) return principal.error();
    out.principals.push_back(std::move(*principal));
  }
  return out;
}

}  // namespace

Result<Rbac> toRbac(const rbac::RBAC& proto, std::string_view path, std::string_view stat_prefix) {
  if (Status s = strict(proto, path, {"action", "policies"}); !s) return s.error();
  Rbac out;
  out.stat_prefix = stat_prefix;
  switch (proto.action()) {
    case rbac::RBAC::ALLOW: out.action = Rbac::Action::kAllow; break;
    case rbac::RBAC::DENY: out.action = Rbac::Action::kDeny; break;
    case rbac::RBAC::LOG: return unsupportedField(fieldPath(path, "action"), "LOG");
    default: return invalidField(fieldPath(path, "action"), "unknown action");
  }
  std::vector<const std::string*> names;
  names.reserve(proto.policies().size());
  for (const auto& [name, policy] : proto.policies()) names.push_back(&name);
  std::sort(names.begin(), names.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
  const std::string policies_path = fieldPath(path, "policies");
  for (const std::string* name : names) {
    if (name->empty()) return invalidField(policies_path, "a policy name must not be empty");
    Result<RbacPolicy> policy = toPolicy(*name, proto.policies().at(*name), policies_path + "[" + quoted(*name) + "]");
    if (!policy) return policy.error();
    out.policies.push_back(std::move(*policy));
  }
  return out;
}

Result<std::optional<Rbac>> toHttpRbac(const http_rbac::RBAC& proto, std::string_view path) {
  if (Status s = strict(proto, path, {"rules", "rules_stat_prefix"}); !s) return s.error();
  if (!proto.has_rules()) return std::optional<Rbac>();
  Result<Rbac> rules = toRbac(proto.rules(), fieldPath(path, "rules"), proto.rules_stat_prefix());
  if (!rules) return rules.error();
  return std::optional<Rbac>(std::move(*rules));
}

Result<std::optional<Rbac>> toNetworkRbac(const network_rbac::RBAC& proto, std::string_view path) {
  if (Status s = strict(proto, path, {"rules", "stat_prefix"}); !s) return s.error();
  if (proto.stat_prefix().empty()) return invalidField(fieldPath(path, "stat_prefix"), "is required");
  if (!proto.has_rules()) return std::optional<Rbac>();
  Result<Rbac> rules = toRbac(proto.rules(), fieldPath(path, "rules"), proto.stat_prefix());
  if (!rules) return rules.error();
  return std::optional<Rbac>(std::move(*rules));
}

}  // namespace remora::xds::resources
