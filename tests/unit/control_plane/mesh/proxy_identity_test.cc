#include "control-plane/mesh/proxy_identity.h"

#include <google/protobuf/util/json_util.h>

#include <catch2/catch.hpp>

namespace remora::cp::mesh {
namespace {

envoy::config::core::v3::Node nodeFromJson(const std::string& json) {
  envoy::config::core::v3::Node node;
  REQUIRE(google::protobuf::util::JsonStringToMessage(json, &node).ok());
  return node;
}

TEST_CASE("the proxy identity is read from the node metadata", "[mesh][identity]") {
  auto identity = proxyIdentityFromNode(nodeFromJson(
      R"({"id":"web-1","metadata":{"REMORA_SERVICE":"web","REMORA_NAMESPACE":"shop","POD_IP":"10.0.0.5",
          "APP_PORTS":"8080, 9090"}})"));
  REQUIRE(identity.has_value());
  CHECK(*identity == ProxyIdentity{"web", "shop", "web", "10.0.0.5", {8080, 9090}});
}

TEST_CASE("labels, locality, listener addresses and the user agent shape the identity", "[mesh][identity]") {
  auto identity = proxyIdentityFromNode(nodeFromJson(
      R"({"id":"web-1","user_agent_name":"remora-proxy","locality":{"region":"eu","zone":"eu-a"},
          "metadata":{"REMORA_SERVICE":"web","POD_IP":"127.0.0.1","APP_PORTS":"8080","LABELS":{"version":"v2"},
          "OUTBOUND_ADDRESS":"127.0.0.1:0","INBOUND_ADDRESS":"[::1]:15006","APP_ADDRESS":"127.0.0.2"}})"));
  REQUIRE(identity.has_value());
  CHECK(identity->app_address == "127.0.0.2");
  CHECK(identity->labels == std::map<std::string, std::string>{{"version", "v2"}});
  CHECK(identity->region == "eu");
  CHECK(identity->zone == "eu-a");
  CHECK(identity->outbound_host == "127.0.0.1");
  CHECK(identity->outbound_port == 0);
  CHECK(identity->inbound_host == "::1");
  CHECK(identity->inbound_port == 15006);
  CHECK_FALSE(identity->api_listeners);
  auto grpc = proxyIdentityFromNode(nodeFromJson(R"({"id":"c","user_agent_name":"grpc-node-js"})"));
  REQUIRE(grpc.has_value());
  CHECK(grpc->api_listeners);
  CHECK(grpc->outbound_port == 15001);
}

TEST_CASE("bad labels and listener addresses are refused with the field named", "[mesh][identity]") {
  CHECK(proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"LABELS":"v2"}})")).error().message ==
        "node.metadata.LABELS: must be a map of strings");
  CHECK(proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"LABELS":{"v":2}}})")).error().message ==
        "node.metadata.LABELS.v: must be a string");
  CHECK(proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"OUTBOUND_ADDRESS":"localhost:1"}})")).error().message ==
        "node.metadata.OUTBOUND_ADDRESS: \"localhost\" is not an IP address");
  CHECK(proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"INBOUND_ADDRESS":"127.0.0.1:99999"}})")).error().message ==
        "node.metadata.INBOUND_ADDRESS: \"99999\" is not a port 0..65535");
  CHECK(proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"APP_ADDRESS":"app.local"}})")).error().message ==
        "node.metadata.APP_ADDRESS: \"app.local\" is not an IP address");
}

TEST_CASE("INTERCEPTION_MODE is REDIRECT or NONE, and NONE when left out", "[mesh][identity]") {
  auto redirect = proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"INTERCEPTION_MODE":"REDIRECT"}})"));
  REQUIRE(redirect.has_value());
  CHECK(redirect->interception == InterceptionMode::kRedirect);
  auto none = proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"INTERCEPTION_MODE":"NONE"}})"));
  REQUIRE(none.has_value());
  CHECK(none->interception == InterceptionMode::kNone);
  auto absent = proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"REMORA_SERVICE":"web"}})"));
  REQUIRE(absent.has_value());
  CHECK(absent->interception == InterceptionMode::kNone);
  CHECK(*absent != *redirect);
}

TEST_CASE("an unknown INTERCEPTION_MODE makes the node invalid, with the field named", "[mesh][identity]") {
  auto tproxy = proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"INTERCEPTION_MODE":"TPROXY"}})"));
  REQUIRE_FALSE(tproxy.has_value());
  CHECK(tproxy.error().code == base::Error::kInvalidArgument);
  CHECK(tproxy.error().message == "node.metadata.INTERCEPTION_MODE: \"TPROXY\" is not REDIRECT or NONE");
  CHECK(proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"INTERCEPTION_MODE":"redirect"}})")).error().message ==
        "node.metadata.INTERCEPTION_MODE: \"redirect\" is not REDIRECT or NONE");
  CHECK(proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"INTERCEPTION_MODE":true}})")).error().message ==
        "node.metadata.INTERCEPTION_MODE: must be a string");
}

TEST_CASE("a node without metadata is a client-only proxy in namespace default", "[mesh][identity]") {
  auto identity = proxyIdentityFromNode(nodeFromJson(R"({"id":"grpc-client"})"));
  REQUIRE(identity.has_value());
  CHECK(identity->service.empty());
  CHECK(identity->namespace_ == "default");
  CHECK(identity->app_ports.empty());
}

TEST_CASE("bad APP_PORTS are refused with the field named", "[mesh][identity]") {
  auto bad = proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"APP_PORTS":"8080,http"}})"));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "node.metadata.APP_PORTS: \"http\" is not a port 1..65535");
  CHECK_FALSE(parseAppPorts("8080,8080").has_value());
  CHECK_FALSE(parseAppPorts("0").has_value());
  CHECK(parseAppPorts("").value().empty());
  auto list = proxyIdentityFromNode(nodeFromJson(R"({"metadata":{"APP_PORTS":[8080,9090]}})"));
  REQUIRE(list.has_value());
  CHECK(list->app_ports == std::vector<uint32_t>{8080, 9090});
}

}  // namespace
}  // namespace remora::cp::mesh
