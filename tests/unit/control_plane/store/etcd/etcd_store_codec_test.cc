#include "control-plane/store/etcd/etcd_store_codec.h"

#include <catch2/catch.hpp>

using remora::base::Error;
using remora::cp::store::ObjectKey;
using remora::cp::store::StoredObject;
using namespace remora::cp::store::etcd;

TEST_CASE("an object key maps to an etcd path and back", "[cp][store][etcd]") {
  const ObjectKey key{"Service", "default", "reviews"};
  CHECK(objectPath("/remora/objects/", key) == "/remora/objects/Service/default/reviews");
  CHECK(parseObjectPath("/remora/objects/", "/remora/objects/Service/default/reviews") == key);
}

TEST_CASE("an object without namespace keeps an empty path segment", "[cp][store][etcd]") {
  const ObjectKey key{"JoinToken", "", "abc"};
  CHECK(objectPath("/p/objects/", key) == "/p/objects/JoinToken//abc");
  CHECK(parseObjectPath("/p/objects/", "/p/objects/JoinToken//abc") == key);
}

TEST_CASE("a name may contain slashes because it is the last segment", "[cp][store][etcd]") {
  const ObjectKey key{"RouteRule", "default", "a/b"};
  CHECK(parseObjectPath("/r/objects/", objectPath("/r/objects/", key)) == key);
  CHECK(validateObjectKey(key));
}

TEST_CASE("paths that are not object keys do not parse", "[cp][store][etcd]") {
  CHECK_FALSE(parseObjectPath("/r/objects/", "/r/sidecars/node-1"));
  CHECK_FALSE(parseObjectPath("/r/objects/", "/r/objects/Service"));
  CHECK_FALSE(parseObjectPath("/r/objects/", "/r/objects/Service/default/"));
  CHECK_FALSE(parseObjectPath("/r/objects/", "/r/objects//default/x"));
}

TEST_CASE("kind and namespace may not contain the path separator", "[cp][store][etcd]") {
  CHECK(validateObjectKey({"Ser/vice", "default", "x"}).code() == Error::kInvalidArgument);
  CHECK(validateObjectKey({"Service", "de/fault", "x"}).code() == Error::kInvalidArgument);
  CHECK(validateObjectKey({"", "default", "x"}).code() == Error::kInvalidArgument);
  CHECK(validateObjectKey({"Service", "default", ""}).code() == Error::kInvalidArgument);
}

TEST_CASE("an encoded object decodes with the kv's mod revision as its version", "[cp][store][etcd]") {
  StoredObject object;
  object.key = {"Service", "default", "reviews"};
  object.spec_json = R"({"ports":[9080]})";
  object.uid = "uid-7";
  object.created_unix_ms = 1234;
  object.updated_unix_ms = 5678;
  KeyValue kv;
  kv.key = "/remora/objects/Service/default/reviews";
  kv.value = encodeObjectValue(object);
  kv.mod_revision = 42;
  auto decoded = decodeObject("/remora/objects/", kv);
  REQUIRE(decoded);
  CHECK(decoded->key == object.key);
  CHECK(decoded->spec_json == object.spec_json);
  CHECK(decoded->uid == "uid-7");
  CHECK(decoded->created_unix_ms == 1234);
  CHECK(decoded->updated_unix_ms == 5678);
  CHECK(decoded->resource_version == 42);
}

TEST_CASE("a value that is not a stored object is refused", "[cp][store][etcd]") {
  KeyValue kv;
  kv.key = "/remora/objects/Service/default/reviews";
  kv.value = "\xff\xff\xff";
  auto decoded = decodeObject("/remora/objects/", kv);
  REQUIRE_FALSE(decoded);
  CHECK(decoded.error().code == Error::kIo);
}

TEST_CASE("the prefix range end increments the last byte", "[cp][store][etcd]") {
  CHECK(prefixRangeEnd("/remora/") == "/remora0");
  CHECK(prefixRangeEnd("a\xff") == "b");
  CHECK(prefixRangeEnd("") == std::string(1, '\0'));
}

TEST_CASE("random uids are distinct version 4 UUIDs", "[cp][store][etcd]") {
  const std::string a = randomUuid();
  CHECK(a.size() == 36);
  CHECK(a[14] == '4');
  CHECK(a != randomUuid());
}
