#include "control-plane/api/api_errors.h"

#include <cctype>

#include "xds/base/json_string.h"

namespace remora::cp::api {

namespace {

bool isIdentifierChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// name(.name|[digits])* : what validation (spec_checks) and our batch prefix
// ("items[2].") produce, and nothing with spaces in it.
bool looksLikeFieldPath(std::string_view text) {
  if (text.empty() || !(std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '_')) return false;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (isIdentifierChar(c)) {
      ++i;
    } else if (c == '.') {
      if (i + 1 >= text.size() || !isIdentifierChar(text[i + 1])) return false;
      ++i;
    } else if (c == '[') {
      const size_t close = text.find(']', i);
      if (close == std::string_view::npos || close == i + 1) return false;
      for (size_t d = i + 1; d < close; ++d) {
        if (!std::isdigit(static_cast<unsigned char>(text[d]))) return false;
      }
      i = close + 1;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view reasonFor(int status) {
  switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 413: return "PayloadTooLarge";
    case 414: return "UriTooLong";
    case 500: return "Internal";
    default: return "Error";
  }
}

std::optional<std::string> fieldOf(std::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view head = message.substr(0, colon);
  if (!looksLikeFieldPath(head)) return std::nullopt;
  return std::string(head);
}

ApiResponse errorResponse(int status, std::string_view message, std::string_view reason) {
  std::string body = "{\"code\":" + std::to_string(status) + ",\"reason\":";
  base::appendJsonString(body, reason.empty() ? reasonFor(status) : reason);
  body += ",\"message\":";
  base::appendJsonString(body, message);
  if (std::optional<std::string> field = fieldOf(message)) {
    body += ",\"field\":";
    base::appendJsonString(body, *field);
  }
  body += "}";
  return ApiResponse(status, std::move(body));
}

ApiResponse failureResponse(const base::Failure& failure) {
  switch (failure.code) {
    case base::Error::kInvalidArgument:
    case base::Error::kUnsupported: return errorResponse(400, failure.message);
    case base::Error::kNotFound: return errorResponse(404, failure.message);
    case base::Error::kConflict: return errorResponse(409, failure.message, "Conflict");
    case base::Error::kAlreadyExists: return errorResponse(409, failure.message, "AlreadyExists");
    case base::Error::kBodyTooLarge: return errorResponse(413, failure.message);
    case base::Error::kUnavailable: return errorResponse(503, failure.message, "StoreUnavailable");
    default: return errorResponse(500, failure.message);
  }
}

ApiResponse badRequest(const base::Failure& failure) {
  if (failure.code == base::Error::kInvalidArgument || failure.code == base::Error::kUnsupported ||
      failure.code == base::Error::kNotFound) {
    return errorResponse(400, failure.message);
  }
  return failureResponse(failure);
}

ApiResponse jsonResponse(std::string body, int status) { return ApiResponse(status, std::move(body)); }

}  // namespace remora::cp::api
