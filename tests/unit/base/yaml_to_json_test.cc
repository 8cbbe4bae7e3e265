#include "xds/base/yaml_to_json.h"

#include <catch2/catch.hpp>
#include <string>

#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"

using remora::base::Error;
using remora::base::yamlToJson;

TEST_CASE("plain scalars become JSON booleans, nulls and numbers, quoted ones strings", "[config][yaml]") {
  auto doc =
      yamlToJson("a: true\nb: ~\nc: 42\nd: 1.50\ne: '42'\nf: hello world\ng: 0x1f\nh: +7\ni: 007\n", nullptr, "t.yaml");
  REQUIRE(doc);
  CHECK(doc->json == R"({"a":true,"b":null,"c":42,"d":1.50,"e":"42","f":"hello world","g":31,"h":7,"i":7})");
}

TEST_CASE("strings are escaped for JSON", "[config][yaml]") {
  auto doc = yamlToJson("a: \"quote \\\" back\\\\slash\\ttab\\nline\\x01\"\n", nullptr, "t.yaml");
  REQUIRE(doc);
  CHECK(doc->json == R"({"a":"quote \" back\\slash\ttab\nline\u0001"})");
}

TEST_CASE("sequences and nested mappings keep their order and shape", "[config][yaml]") {
  auto doc = yamlToJson("list:\n- {x: 1}\n- [2, 3]\n- 'four'\n", nullptr, "t.yaml");
  REQUIRE(doc);
  CHECK(doc->json == R"({"list":[{"x":1},[2,3],"four"]})");
}

TEST_CASE("every field path is mapped to the line it starts on", "[config][yaml]") {
  auto doc = yamlToJson("top:\n  list:\n  - name: a\n  - name: b\n    port: 1\n", nullptr, "t.yaml");
  REQUIRE(doc);
  CHECK(doc->lines.at("top") == 1);
  CHECK(doc->lines.at("top.list") == 2);
  CHECK(doc->lines.at("top.list[0]") == 3);
  CHECK(doc->lines.at("top.list[1].name") == 4);
  CHECK(doc->lines.at("top.list[1].port") == 5);
}

TEST_CASE("malformed YAML is reported with its line and column", "[config][yaml]") {
  auto doc = yamlToJson("a: 1\nb: [1, 2\nc: 3\n", nullptr, "t.yaml");
  REQUIRE_FALSE(doc);
  CHECK(doc.error().code == Error::kInvalidArgument);
  CHECK_THAT(doc.error().message, Catch::StartsWith("t.yaml:3:"));
  CHECK_THAT(doc.error().message, Catch::Contains("malformed YAML"));
}

TEST_CASE("a duplicate key is an error naming the key and its line", "[config][yaml]") {
  auto doc = yamlToJson("a: 1\nb: 2\na: 3\n", nullptr, "t.yaml");
  REQUIRE_FALSE(doc);
  CHECK(doc.error().message == "t.yaml:3: duplicate key \"a\"");
}

TEST_CASE("an empty document and a top-level list are rejected", "[config][yaml]") {
  auto empty = yamlToJson("# nothing here\n", nullptr, "t.yaml");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message == "t.yaml: the document is empty");
  auto list = yamlToJson("- 1\n- 2\n", nullptr, "t.yaml");
  REQUIRE_FALSE(list);
  CHECK_THAT(list.error().message, Catch::Contains("must be a mapping"));
}

TEST_CASE("an alias bomb is stopped before it exhausts memory", "[config][yaml]") {
  std::string yaml = "a0: &a0 [\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]\n";
  for (int i = 1; i < 30; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev + "," + prev + "]\n";
  }
  auto doc = yamlToJson(yaml, nullptr, "t.yaml");
  REQUIRE_FALSE(doc);
  CHECK_THAT(doc.error().message, Catch::Contains("more than 64 MiB"));
}

TEST_CASE("deep nesting is refused", "[config][yaml]") {
  std::string yaml = "a: " + std::string(100, '[') + std::string(100, ']') + "\n";
  auto doc = yamlToJson(yaml, nullptr, "t.yaml");
  REQUIRE_FALSE(doc);
  CHECK_THAT(doc.error().message, Catch::Contains("nested deeper than"));
}

namespace {
const google::protobuf::Descriptor* bootstrapSchema() { return envoy::config::bootstrap::v3::Bootstrap::descriptor(); }
}  // namespace

TEST_CASE("with a schema, a number or boolean bound for a string field stays a string", "[config][yaml]") {
  auto doc = yamlToJson(
      "node: {id: 123, cluster: true, user_agent_version: 1.0}\nadmin:\n  address:\n"
      "    socket_address: {address: 10.0.0.1, port_value: 80}\n",
      bootstrapSchema(), "t.yaml");
  REQUIRE(doc);
  CHECK(doc->json == R"({"node":{"id":"123","cluster":"true","user_agent_version":"1.0"},)"
                     R"("admin":{"address":{"socket_address":{"address":"10.0.0.1","port_value":80}}}})");
}

TEST_CASE("with a schema, an unknown field is named with its full path and line", "[config][yaml]") {
  auto doc = yamlToJson("static_resources:\n  clusters:\n  - name: a\n    colour: blue\n", bootstrapSchema(), "t.yaml");
  REQUIRE_FALSE(doc);
  CHECK_THAT(doc.error().message, Catch::StartsWith("t.yaml:4: static_resources.clusters[0].colour: unknown field"));
}

TEST_CASE("with a schema, fields inside an Any are checked against its @type", "[config][yaml]") {
  const std::string yaml =
      "static_resources:\n  listeners:\n  - filter_chains:\n    - filters:\n      - typed_config:\n"
      "          \"@type\": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\n"
      "          stat_prefix: 7\n"
      "          clutser: x\n";
  // An @type resolves only if its generated code is linked in: reference it.
  REQUIRE(envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy::descriptor() != nullptr);
  auto doc = yamlToJson(yaml, bootstrapSchema(), "t.yaml");
  REQUIRE_FALSE(doc);
  CHECK_THAT(doc.error().message,
             Catch::StartsWith("t.yaml:8: static_resources.listeners[0].filter_chains[0].filters[0].typed_config."
                               "clutser: unknown field"));
}

TEST_CASE("with a schema, an @type outside our protos is named with its path", "[config][yaml]") {
  const std::string yaml =
      "static_resources:\n  listeners:\n  - filter_chains:\n    - filters:\n      - typed_config:\n"
      "          \"@type\": type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy\n";
  auto doc = yamlToJson(yaml, bootstrapSchema(), "t.yaml");
  REQUIRE_FALSE(doc);
  CHECK(doc.error().message ==
        "t.yaml:6: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.@type: "
        "\"type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy\" is not a type "
        "remora-proxy knows");
}

TEST_CASE("with a schema, camelCase keys are recorded under the proto field name", "[config][yaml]") {
  auto doc = yamlToJson("staticResources:\n  clusters:\n  - connectTimeout: 1s\n", bootstrapSchema(), "t.yaml");
  REQUIRE(doc);
  CHECK(doc->lines.at("static_resources.clusters[0].connect_timeout") == 3);
  CHECK(doc->json == R"({"staticResources":{"clusters":[{"connectTimeout":"1s"}]}})");
}
