#include "control-plane/cli/json_value.h"

#include <catch2/catch.hpp>

namespace remora::cli {

TEST_CASE("members are found down a path and absent ones are null", "[cli][json]") {
  auto value = parseJson(R"({"metadata":{"name":"reviews","labels":{}},"spec":{"ports":[{"port":80}]}})");
  REQUIRE(value);
  CHECK(scalarText(at(&*value, {"metadata", "name"})) == "reviews");
  CHECK(at(&*value, {"metadata", "nope", "deeper"}) == nullptr);
  CHECK(member(nullptr, "x") == nullptr);
  CHECK(listItems(at(&*value, {"spec", "ports"})).size() == 1);
  CHECK(listItems(at(&*value, {"spec"})).empty());
}

TEST_CASE("scalars print as a table shows them", "[cli][json]") {
  auto value = parseJson(R"({"i":8080,"f":0.1,"b":true,"n":null,"s":"x","big":12345678901})");
  REQUIRE(value);
  CHECK(scalarText(member(&*value, "i")) == "8080");
  CHECK(scalarText(member(&*value, "f")) == "0.1");
  CHECK(scalarText(member(&*value, "b")) == "true");
  CHECK(scalarText(member(&*value, "n")) == "");
  CHECK(scalarText(member(&*value, "s")) == "x");
  CHECK(scalarText(member(&*value, "big")) == "12345678901");
  CHECK(scalarText(nullptr) == "");
}

TEST_CASE("malformed JSON is an error", "[cli][json]") {
  auto value = parseJson("{\"a\":");
  REQUIRE_FALSE(value);
  CHECK(value.error().code == base::Error::kInvalidArgument);
}

}  // namespace remora::cli
