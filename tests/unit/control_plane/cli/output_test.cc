#include "control-plane/cli/output.h"

#include <catch2/catch.hpp>

#include "control-plane/cli/manifest.h"

namespace remora::cli {

namespace {

JsonValue json(const char* text) {
  auto value = parseJson(text);
  REQUIRE(value);
  return *value;
}

constexpr const char* kService =
    R"({"spec":{"ports":[{"port":9080,"name":"http"}]},"kind":"Service","apiVersion":"remora.dev/v1",)"
    R"("metadata":{"name":"123","namespace":"default","labels":{"on":"true"},"resourceVersion":"7"}})";

}  // namespace

TEST_CASE("output formats are chosen by name", "[cli][output]") {
  CHECK(outputFormatFromName("") == OutputFormat::kTable);
  CHECK(outputFormatFromName("table") == OutputFormat::kTable);
  CHECK(outputFormatFromName("json") == OutputFormat::kJson);
  CHECK(outputFormatFromName("yaml") == OutputFormat::kYaml);
  CHECK_FALSE(outputFormatFromName("wide").has_value());
}

TEST_CASE("JSON output is indented with sorted keys", "[cli][output]") {
  CHECK(toJson(json(R"({"b":[1,"x"],"a":{},"c":[]})")) ==
        "{\n"
        "  \"a\": {},\n"
        "  \"b\": [\n"
        "    1,\n"
        "    \"x\"\n"
        "  ],\n"
        "  \"c\": []\n"
        "}\n");
}

TEST_CASE("YAML output is kubectl-shaped and quotes strings that would change type", "[cli][output]") {
  CHECK(toYaml(json(kService)) ==
        "apiVersion: remora.dev/v1\n"
        "kind: Service\n"
        "metadata:\n"
        "  labels:\n"
        "    \"on\": \"true\"\n"
        "  name: \"123\"\n"
        "  namespace: default\n"
        "  resourceVersion: \"7\"\n"
        "spec:\n"
        "  ports:\n"
        "  - name: http\n"
        "    port: 9080\n");
}

TEST_CASE("YAML output reads back as the same objects", "[cli][output]") {
  auto manifest = parseManifest(toYaml(json(kService)), "round-trip");
  REQUIRE(manifest);
  REQUIRE(manifest->objects.size() == 1);
  auto back = parseJson(manifest->objects[0].json);
  REQUIRE(back);
  CHECK(toJson(*back) == toJson(json(kService)));
}

TEST_CASE("YAML output of lists of scalars, empty collections and odd strings", "[cli][output]") {
  CHECK(toYaml(json(R"({"a":["x","- y",""],"b":{},"c":"a: b","d":null})")) ==
        "a:\n"
        "- x\n"
        "- \"- y\"\n"
        "- \"\"\n"
        "b: {}\n"
        "c: \"a: b\"\n"
        "d: null\n");
}

}  // namespace remora::cli
