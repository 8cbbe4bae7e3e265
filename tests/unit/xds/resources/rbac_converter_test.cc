#include "xds/resources/rbac_converter.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using RbacProto = envoy::config::rbac::v3::RBAC;
using HttpRbacProto = envoy::extensions::filters::http::rbac::v3::RBAC;
using NetworkRbacProto = envoy::extensions::filters::network::rbac::v3::RBAC;

namespace {

std::string policy(const std::string& permissions, const std::string& principals) {
  return R"({"policies": {"p": {"permissions": [)" + permissions + R"(], "principals": [)" + principals + "]}}}";
}

std::string rbacError(const std::string& json) {
  auto rbac = toRbac(protoFromJson<RbacProto>(json), "rules", "");
  REQUIRE_FALSE(rbac);
  return rbac.error().message;
}

}  // namespace

TEST_CASE("RBAC policies convert into match trees, ordered by name", "[xds][resources][rbac]") {
  auto rbac = toRbac(protoFromJson<RbacProto>(R"({"action": "DENY", "policies": {
      "zeta": {"permissions": [{"any": true}], "principals": [{"any": true}]},
      "alpha": {
        "permissions": [{"and_rules": {"rules": [
            {"destination_port": 8080},
            {"url_path": {"path": {"prefix": "/api/", "ignore_case": true}}},
            {"header": {"name": ":method", "string_match": {"exact": "GET"}}},
            {"not_rule": {"url_path": {"path": {"exact": "/api/health"}}}}]}}],
        "principals": [{"or_ids": {"ids": [
            {"authenticated": {"principal_name": {"exact": "spiffe://td/ns/a/sa/b"}}},
            {"authenticated": {}},
            {"not_id": {"authenticated": {"principal_name": {"safe_regex": {"regex": "spiffe://td/ns/x/.*"}}}}}]}}]}}})"),
                     "rules", "in.");
  REQUIRE(rbac);
  CHECK(rbac->action == Rbac::Action::kDeny);
  CHECK(rbac->stat_prefix == "in.");
  REQUIRE(rbac->policies.size() == 2);
  CHECK(rbac->policies[0].name == "alpha");
  CHECK(rbac->policies[1].name == "zeta");
  const RbacMatch& permission = rbac->policies[0].permissions.at(0);
  REQUIRE(permission.kind == RbacMatch::Kind::kAnd);
  REQUIRE(permission.children.size() == 4);
  CHECK(permission.children[0].kind == RbacMatch::Kind::kDestinationPort);
  CHECK(permission.children[0].destination_port == 8080);
  CHECK(permission.children[1].kind == RbacMatch::Kind::kUrlPath);
  CHECK(permission.children[1].string_match == StringMatch{StringMatch::Kind::kPrefix, "/api/", true});
  CHECK(permission.children[2].kind == RbacMatch::Kind::kHeader);
  CHECK(permission.children[2].header.name == ":method");
  CHECK(permission.children[2].header.value == "GET");
  CHECK(permission.children[3].kind == RbacMatch::Kind::kNot);
  REQUIRE(permission.children[3].children.size() == 1);
  const RbacMatch& principal = rbac->policies[0].principals.at(0);
  REQUIRE(principal.kind == RbacMatch::Kind::kOr);
  CHECK(principal.children[0].kind == RbacMatch::Kind::kAuthenticated);
  CHECK(principal.children[0].string_match == StringMatch{StringMatch::Kind::kExact, "spiffe://td/ns/a/sa/b", false});
  // No principal_name: any authenticated peer (an empty prefix).
  CHECK(principal.children[1].string_match == StringMatch{StringMatch::Kind::kPrefix, "", false});
  CHECK(principal.children[2].children.at(0).string_match.kind == StringMatch::Kind::kRegex);
}

TEST_CASE("an ALLOW filter without policies converts (and denies everything)", "[xds][resources][rbac]") {
  auto rbac = toRbac(protoFromJson<RbacProto>("{}"), "rules", "");
  REQUIRE(rbac);
  CHECK(rbac->action == Rbac::Action::kAllow);
  CHECK(rbac->policies.empty());
}

TEST_CASE("RBAC rules Remora does not evaluate are refused with their path", "[xds][resources][rbac]") {
  CHECK(rbacError(R"({"action": "LOG"})") == "rules.action: not supported by remora-proxy (LOG)");
  CHECK(rbacError(policy(R"({"requested_server_name": {"exact": "a"}})", R"({"any": true})")) ==
        "rules.policies[\"p\"].permissions[0].requested_server_name: not supported by remora-proxy");
  CHECK(rbacError(policy(R"({"any": true})", "")) ==
        "rules.policies[\"p\"].principals: must hold at least one principal");
  CHECK(rbacError(R"({"policies": {"p": {"principals": [{"any": true}]}}})") ==
        "rules.policies[\"p\"].permissions: must hold at least one permission");
  CHECK(rbacError(policy(R"({"and_rules": {"rules": []}})", R"({"any": true})")) ==
        "rules.policies[\"p\"].permissions[0].and_rules.rules: must hold at least one entry");
  CHECK(rbacError(policy(R"({"destination_port": 70000})", R"({"any": true})")) ==
        "rules.policies[\"p\"].permissions[0].destination_port: 70000 is out of range 1..65535");
  CHECK(rbacError(policy(R"({"any": false})", R"({"any": true})")) ==
        "rules.policies[\"p\"].permissions[0].any: must be true when set");
  CHECK(rbacError(policy(R"({"any": true})", "{}")) ==
        "rules.policies[\"p\"].principals[0]: an identifier is required (and_ids, or_ids, any, authenticated, "
        "header, url_path or not_id)");
  CHECK(rbacError(policy(R"({"any": true})", R"({"authenticated": {"principal_name": {"safe_regex": {"regex": "("}}}})"))
            .rfind("rules.policies[\"p\"].principals[0].authenticated.principal_name.safe_regex", 0) == 0);
}

TEST_CASE("fields unknown to our protos inside a rule are refused, not ignored", "[xds][resources][rbac]") {
  // A CEL condition (Policy field 3) narrows who gets in; dropping it would
  // let more callers through than the operator wrote.
  RbacProto proto = protoFromJson<RbacProto>(policy(R"({"any": true})", R"({"any": true})"));
  envoy::config::rbac::v3::Policy& p = (*proto.mutable_policies())["p"];
  p.GetReflection()->MutableUnknownFields(&p)->AddLengthDelimited(3, "cel");
  auto rbac = toRbac(proto, "rules", "");
  REQUIRE_FALSE(rbac);
  CHECK(rbac.error().code == Error::kUnsupported);
  CHECK_THAT(rbac.error().message, Catch::StartsWith("rules.policies[\"p\"]: not supported by remora-proxy (it "
                                                     "carries fields remora-proxy does not know"));
}

TEST_CASE("the filters' wrappers: rules optional, stat_prefix required for the network one",
          "[xds][resources][rbac]") {
  auto none = toHttpRbac(protoFromJson<HttpRbacProto>("{}"), "f");
  REQUIRE(none);
  CHECK_FALSE(*none);
  auto network = toNetworkRbac(protoFromJson<NetworkRbacProto>(R"({"stat_prefix": "tcp.", "rules": {}})"), "f");
  REQUIRE(network);
  REQUIRE(*network);
  CHECK((*network)->stat_prefix == "tcp.");
  auto unnamed = toNetworkRbac(protoFromJson<NetworkRbacProto>(R"({"rules": {}})"), "f");
  REQUIRE_FALSE(unnamed);
  CHECK(unnamed.error().message == "f.stat_prefix: is required");
  auto continuous =
      toNetworkRbac(protoFromJson<NetworkRbacProto>(R"({"stat_prefix": "t", "enforcement_type": "CONTINUOUS"})"), "f");
  REQUIRE_FALSE(continuous);
  CHECK(continuous.error().message == "f.enforcement_type: not supported by remora-proxy");
}
