// ApiRequest / ApiResponse: the JSON API's own request and response values, so
// the handlers (api_routes, object_handlers, apply_batch) never see
// cpp-httplib's types and can be read without it. And the one place where a
// Failure becomes an HTTP status and the error body every endpoint shares:
//   {"code":400,"reason":"BadRequest","message":"spec.ports[1].port: must be 1..65535",
//    "field":"spec.ports[1].port"}
//
// Plain values and pure functions; any thread (the API server's pool).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xds/base/status.h"

namespace remora::cp::api {

struct ApiRequest {
  std::string method;  // "GET", "POST", ... (HEAD arrives as GET's handler)
  std::string path;    // decoded, without the query
  std::map<std::string, std::string> query;
  std::string body;
};

struct ApiResponse {
  ApiResponse() = default;
  ApiResponse(int status_code, std::string json_or_text, std::string type = "application/json")
      : status(status_code), body(std::move(json_or_text)), content_type(std::move(type)) {}

  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones, e.g. Allow
};

// "BadRequest", "Unauthorized", "NotFound", "MethodNotAllowed", "Conflict",
// "PayloadTooLarge", "Internal"... for a status code; "Error" for others.
std::string_view reasonFor(int status);

// The field a validation message names: the text before the first ": " when
// it looks like a JSON path ("items[2].spec.ports[0].port"), else nullopt
// ("malformed JSON: ..." names none).
std::optional<std::string> fieldOf(std::string_view message);

// An error response with the standard body. `reason` overrides reasonFor()
// (409 is Conflict or AlreadyExists).
ApiResponse errorResponse(int status, std::string_view message, std::string_view reason = {});

// The status a store or validation failure maps to: kInvalidArgument and
// kUnsupported 400, kNotFound 404, kConflict 409 Conflict, kAlreadyExists 409
// AlreadyExists, kBodyTooLarge 413, anything else 500.
ApiResponse failureResponse(const base::Failure& failure);

// A validation failure is always the caller's fault: a reference to a
// missing object (kNotFound from checkReferences) is a 400, not a 404.
ApiResponse badRequest(const base::Failure& failure);

// 200 with a JSON body.
ApiResponse jsonResponse(std::string body, int status = 200);

}  // namespace remora::cp::api
