#include "control-plane/mesh/object_codec.h"

#include <catch2/catch.hpp>
#include <string>

#include "control-plane/mesh/validation.h"

namespace remora::cp::mesh {
namespace {

ParsedObject parsed(const std::string& json) {
  auto result = parseObject(json);
  INFO(json);
  REQUIRE(result.has_value());
  return std::move(*result);
}

std::string serviceWithLabels(const std::string& labels) {
  return R"({"kind":"Service","metadata":{"name":"reviews","labels":)" + labels +
         R"(},"spec":{"ports":[{"name":"http","port":9080,"target_port":8080}]}})";
}

store::StoredObject storedFrom(const ParsedObject& object) {
  store::StoredObject stored;
  stored.key = storeKey(object);
  stored.spec_json = storedJson(object);
  stored.resource_version = 42;
  stored.uid = "0b6f0e1c-uid";
  stored.created_unix_ms = 1700000000000;
  stored.updated_unix_ms = 1700000001500;
  return stored;
}

TEST_CASE("the stored form is the same bytes whatever order labels and fields were written in", "[cp][codec]") {
  const std::string a = storedJson(parsed(serviceWithLabels(R"({"a":"1","b":"2","c":"3","d":"4","e":"5"})")));
  const std::string b = storedJson(parsed(serviceWithLabels(R"({"e":"5","d":"4","c":"3","b":"2","a":"1"})")));
  CHECK(a == b);
  const std::string camel = storedJson(parsed(
      R"({"spec":{"ports":[{"targetPort":8080,"port":9080,"name":"http"}]},"metadata":{"labels":{"e":"5","d":"4","c":"3","b":"2","a":"1"},"name":"reviews"},"kind":"Service"})"));
  CHECK(camel == a);
}

TEST_CASE("the stored form leaves out output fields and starts with apiVersion", "[cp][codec]") {
  const std::string json = storedJson(parsed(
      R"({"kind":"Service","metadata":{"name":"reviews","resourceVersion":"7","uid":"x",
          "creationTimestamp":"2024-01-01T00:00:00Z"},"spec":{"ports":[{"port":80}]}})"));
  CHECK(json.starts_with(R"({"apiVersion":"remora.dev/v1","kind":"Service",)"));
  CHECK(json.find("resourceVersion") == std::string::npos);
  CHECK(json.find("uid") == std::string::npos);
  CHECK(json.find("Timestamp") == std::string::npos);
  CHECK(json.find(R"("namespace":"default")") != std::string::npos);
}

TEST_CASE("a stored object reads back with the store's version, uid and times", "[cp][codec]") {
  const ParsedObject original = parsed(serviceWithLabels(R"({"app":"reviews"})"));
  auto back = fromStored(storedFrom(original));
  REQUIRE(back.has_value());
  CHECK(back->kind() == ObjectKind::kService);
  CHECK(back->metadata().resource_version() == 42);
  CHECK(back->metadata().uid() == "0b6f0e1c-uid");
  CHECK(back->metadata().labels().at("app") == "reviews");
  CHECK(storedJson(*back) == storedJson(original));

  const std::string api = objectJson(*back);
  CHECK(api.find(R"("resourceVersion":"42")") != std::string::npos);
  CHECK(api.find(R"("creationTimestamp":"2023-11-14T22:13:20Z")") != std::string::npos);
  CHECK(api.find(R"("updateTimestamp":"2023-11-14T22:13:21.500Z")") != std::string::npos);
  CHECK(api.find(R"("targetPort":8080)") != std::string::npos);
  // The API form parses again as the same object (what remoractl round-trips).
  CHECK(storedJson(parsed(api)) == storedJson(original));
}

TEST_CASE("the store key wins over the namespace and name inside stored JSON", "[cp][codec]") {
  store::StoredObject stored = storedFrom(parsed(serviceWithLabels("{}")));
  stored.key.namespace_ = "shop";
  stored.key.name = "ratings";
  auto back = fromStored(stored);
  REQUIRE(back.has_value());
  CHECK(back->metadata().namespace_() == "shop");
  CHECK(back->metadata().name() == "ratings");
}

TEST_CASE("stored JSON that does not parse as its kind is an error naming the object", "[cp][codec]") {
  store::StoredObject stored;
  stored.key = {"Endpoint", "default", "web-1"};
  stored.spec_json = R"({"kind":"Endpoint","spec":{"port":"not a number"}})";
  auto back = fromStored(stored);
  REQUIRE_FALSE(back.has_value());
  CHECK(back.error().message.starts_with("Endpoint default/web-1: "));

  stored.key.kind = "Gateway";
  CHECK_FALSE(fromStored(stored).has_value());
}

TEST_CASE("plural path names map to kinds and back", "[cp][codec]") {
  for (ObjectKind kind : {ObjectKind::kService, ObjectKind::kEndpoint, ObjectKind::kTrafficPolicy,
                          ObjectKind::kRouteRule, ObjectKind::kAuthorizationPolicy}) {
    CHECK(kindFromPlural(pluralName(kind)) == kind);
  }
  CHECK(pluralName(ObjectKind::kAuthorizationPolicy) == "authorizationpolicies");
  CHECK_FALSE(kindFromPlural("service").has_value());
  CHECK_FALSE(kindFromPlural("Services").has_value());
}

TEST_CASE("the store key is kind, namespace and name", "[cp][codec]") {
  const store::ObjectKey key = storeKey(parsed(R"({"kind":"Service","metadata":{"name":"a","namespace":"shop"},
                                                   "spec":{"ports":[{"port":80}]}})"));
  CHECK(key == store::ObjectKey{"Service", "shop", "a"});
}

}  // namespace
}  // namespace remora::cp::mesh
