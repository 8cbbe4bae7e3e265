#include "control-plane/cli/manifest.h"

#include <catch2/catch.hpp>

#include "control-plane/cli/json_value.h"

namespace remora::cli {

namespace {

constexpr const char* kTwoDocs = R"(apiVersion: remora.dev/v1
kind: Service
metadata:
  name: reviews
  namespace: shop
spec:
  ports:
  - name: http
    port: 9080
    targetPort: 8080
---
# a comment between documents
kind: Endpoint
metadata:
  name: "123"
spec:
  service: reviews
  address: 10.0.0.1
  port: 8080
  labels:
    version: 2
)";

}  // namespace

TEST_CASE("a multi-document YAML file gives one object per document with its kind and name", "[cli][manifest]") {
  auto manifest = parseManifest(kTwoDocs, "app.yaml");
  REQUIRE(manifest);
  REQUIRE(manifest->objects.size() == 2);
  const ManifestObject& service = manifest->objects[0];
  REQUIRE(service.kind != nullptr);
  CHECK(service.kind->kind == "Service");
  CHECK(service.name == "reviews");
  CHECK(service.namespace_ == "shop");
  CHECK(service.line == 1);
  const ManifestObject& endpoint = manifest->objects[1];
  CHECK(endpoint.kind->kind == "Endpoint");
  CHECK(endpoint.name == "123");
  CHECK(endpoint.namespace_.empty());
  CHECK(endpoint.line == 13);
}

TEST_CASE("scalars bound for string fields stay strings, numbers stay numbers", "[cli][manifest]") {
  auto manifest = parseManifest("kind: Service\nmetadata: {name: 123}\nspec: {ports: [{port: 80}]}\n", "s.yaml");
  REQUIRE(manifest);
  const std::string& json = manifest->objects[0].json;
  CHECK(json.find(R"("name":"123")") != std::string::npos);
  CHECK(json.find(R"("port":80)") != std::string::npos);
  // Map values of a map<string,string> are strings too.
  auto endpoint = parseManifest(kTwoDocs, "app.yaml");
  REQUIRE(endpoint);
  CHECK(endpoint->objects[1].json.find(R"("version":"2")") != std::string::npos);
}

TEST_CASE("line numbers count from the top of the file across documents", "[cli][manifest]") {
  auto manifest = parseManifest(kTwoDocs, "app.yaml");
  REQUIRE(manifest);
  CHECK(manifest->lineOf(0, "spec.ports[0].port") == 9);
  CHECK(manifest->lineOf(0, "spec.ports[0].targetPort") == 10);  // camelCase from the server
  CHECK(manifest->lineOf(1, "spec.address") == 18);
  // A path not written falls back to the nearest field that was.
  CHECK(manifest->lineOf(1, "spec.locality.zone") == 16);
  CHECK_FALSE(manifest->lineOf(2, "spec").has_value());
}

TEST_CASE("malformed YAML is reported with the file, line and column", "[cli][manifest]") {
  auto manifest = parseManifest("kind: Service\nmetadata:\n  name: [unclosed\n", "bad.yaml");
  REQUIRE_FALSE(manifest);
  CHECK(manifest.error().message.rfind("bad.yaml:", 0) == 0);
  CHECK(manifest.error().message.find("malformed YAML") != std::string::npos);
}

TEST_CASE("an unknown field is named with its path and line in the second document", "[cli][manifest]") {
  const std::string text = std::string(kTwoDocs) + "---\nkind: Service\nmetadata: {name: x}\nspec:\n  colour: red\n";
  auto manifest = parseManifest(text, "app.yaml");
  REQUIRE_FALSE(manifest);
  CHECK(manifest.error().message == "app.yaml:26: spec.colour: unknown field");
}

TEST_CASE("a missing or unknown kind names the known ones", "[cli][manifest]") {
  auto missing = parseManifest("metadata: {name: x}\n", "m.yaml");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("m.yaml:1: kind: is required (one of Service, Endpoint") == 0);
  auto unknown = parseManifest("kind: Pod\nmetadata: {name: x}\n", "m.yaml");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("m.yaml:1: kind: unknown kind \"Pod\"") == 0);
}

TEST_CASE("JSON objects, arrays and item lists are all accepted", "[cli][manifest]") {
  auto object = parseManifest(R"({"kind":"Service","metadata":{"name":"a"},"spec":{}})", "a.json");
  REQUIRE(object);
  CHECK(object->objects.size() == 1);
  auto array = parseManifest(R"([{"kind":"Service","metadata":{"name":"a"}},
                                 {"kind":"RouteRule","metadata":{"name":"b"}}])",
                             "b.json");
  REQUIRE(array);
  REQUIRE(array->objects.size() == 2);
  CHECK(array->objects[1].kind->kind == "RouteRule");
  CHECK(array->objects[1].line == 2);
  auto list = parseManifest(R"({"kind":"List","items":[{"kind":"Endpoint","metadata":{"name":"e"}}]})", "c.json");
  REQUIRE(list);
  REQUIRE(list->objects.size() == 1);
  CHECK(list->objects[0].name == "e");
}

TEST_CASE("an empty file or one of empty documents is refused", "[cli][manifest]") {
  auto empty = parseManifest("", "e.yaml");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message.find("e.yaml: ") == 0);
  CHECK_FALSE(parseManifest("---\n---\n", "e.yaml"));
}

TEST_CASE("stdin is named <stdin> in messages", "[cli][manifest]") {
  auto manifest = parseManifest("kind: Nope\n", "-");
  REQUIRE_FALSE(manifest);
  CHECK(manifest.error().message.rfind("<stdin>:1:", 0) == 0);
}

TEST_CASE("the batch body is a JSON array of the objects in file order", "[cli][manifest]") {
  auto manifest = parseManifest(kTwoDocs, "app.yaml");
  REQUIRE(manifest);
  auto body = parseJson(batchJson(*manifest));
  REQUIRE(body);
  REQUIRE(body->list_value().values_size() == 2);
  CHECK(scalarText(at(&body->list_value().values(1), {"metadata", "name"})) == "123");
}

TEST_CASE("camelCase path segments become snake_case, indexes untouched", "[cli][manifest]") {
  CHECK(snakeCasePath("spec.ports[0].targetPort") == "spec.ports[0].target_port");
  CHECK(snakeCasePath("metadata.resourceVersion") == "metadata.resource_version");
  CHECK(snakeCasePath("spec.routes[1].match.pathPrefix") == "spec.routes[1].match.path_prefix");
}

}  // namespace remora::cli
