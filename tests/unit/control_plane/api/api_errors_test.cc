#include "control-plane/api/api_errors.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace remora::cp::api {
namespace {

using Json = nlohmann::json;

TEST_CASE("the field is the path before the first colon when it looks like one", "[cp][api]") {
  CHECK(fieldOf("spec.ports[1].port: must be 1..65535") == "spec.ports[1].port");
  CHECK(fieldOf("items[2].spec.ports[0].port: must be 1..65535") == "items[2].spec.ports[0].port");
  CHECK(fieldOf("metadata.name: is required") == "metadata.name");
  CHECK(fieldOf("kind: \"Gateway\" is not supported") == "kind");
}

TEST_CASE("messages that do not start with a path name no field", "[cp][api]") {
  CHECK_FALSE(fieldOf("malformed JSON: Unexpected token").has_value());
  CHECK_FALSE(fieldOf("Service default/reviews already exists").has_value());
  CHECK_FALSE(fieldOf("no colon here").has_value());
  CHECK_FALSE(fieldOf("spec..port: x").has_value());
  CHECK_FALSE(fieldOf("spec.ports[x]: x").has_value());
  CHECK_FALSE(fieldOf(": x").has_value());
}

TEST_CASE("an error body carries code, reason, message and field", "[cp][api]") {
  ApiResponse response = errorResponse(400, "spec.ports[1].port: must be 1..65535");
  CHECK(response.status == 400);
  CHECK(response.content_type == "application/json");
  Json body = Json::parse(response.body);
  CHECK(body["code"] == 400);
  CHECK(body["reason"] == "BadRequest");
  CHECK(body["message"] == "spec.ports[1].port: must be 1..65535");
  CHECK(body["field"] == "spec.ports[1].port");
  CHECK_FALSE(Json::parse(errorResponse(500, "disk \"full\"").body).contains("field"));
}

TEST_CASE("store and validation failures map to their statuses and reasons", "[cp][api]") {
  auto reason = [](const ApiResponse& r) { return Json::parse(r.body)["reason"].get<std::string>(); };
  ApiResponse conflict = failureResponse(base::fail(base::Error::kConflict, "stale"));
  CHECK(conflict.status == 409);
  CHECK(reason(conflict) == "Conflict");
  ApiResponse exists = failureResponse(base::fail(base::Error::kAlreadyExists, "exists"));
  CHECK(exists.status == 409);
  CHECK(reason(exists) == "AlreadyExists");
  CHECK(failureResponse(base::fail(base::Error::kNotFound, "gone")).status == 404);
  CHECK(failureResponse(base::fail(base::Error::kInvalidArgument, "bad")).status == 400);
  CHECK(failureResponse(base::fail(base::Error::kIo, "disk")).status == 500);
  CHECK(reason(failureResponse(base::fail(base::Error::kIo, "disk"))) == "Internal");
}

TEST_CASE("a missing reference found by validation is a bad request, not a 404", "[cp][api]") {
  ApiResponse response = badRequest(base::fail(base::Error::kNotFound, "spec.service: service 'default/x' does not exist"));
  CHECK(response.status == 400);
  CHECK(Json::parse(response.body)["field"] == "spec.service");
  CHECK(badRequest(base::fail(base::Error::kIo, "disk")).status == 500);
}

}  // namespace
}  // namespace remora::cp::api
