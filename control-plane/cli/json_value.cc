#include "control-plane/cli/json_value.h"

#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace remora::cli {

base::Result<JsonValue> parseJson(std::string_view text) {
  JsonValue value;
  const auto status = google::protobuf::util::JsonStringToMessage(std::string(text), &value);
  if (!status.ok()) {
    return base::fail(base::Error::kInvalidArgument, "malformed JSON: " + std::string(status.message()));
  }
  return value;
}

const JsonValue* member(const JsonValue* value, std::string_view key) {
  if (value == nullptr || !value->has_struct_value()) return nullptr;
  const auto& fields = value->struct_value().fields();
  auto it = fields.find(std::string(key));
  return it == fields.end() ? nullptr : &it->second;
}

const JsonValue* at(const JsonValue* value, std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) value = member(value, key);
  return value;
}

std::string scalarText(const JsonValue* value) {
  if (value == nullptr) return "";
  switch (value->kind_case()) {
    case JsonValue::kStringValue: return value->string_value();
    case JsonValue::kBoolValue: return value->bool_value() ? "true" : "false";
    case JsonValue::kNumberValue: {
      const double n = value->number_value();
      char buffer[32];
      // Integers up to 2^53 are exact in a double: print them as integers.
      if (std::floor(n) == n && std::fabs(n) < 9007199254740992.0) {
        std::snprintf(buffer, sizeof(buffer), "%.0f", n);
      } else {
        // The shortest of 15 or 17 digits that reads back the same: 0.1, not 0.10000000000000001.
        std::snprintf(buffer, sizeof(buffer), "%.15g", n);
        if (std::strtod(buffer, nullptr) != n) std::snprintf(buffer, sizeof(buffer), "%.17g", n);
      }
      return buffer;
    }
    default: return "";
  }
}

const google::protobuf::RepeatedPtrField<JsonValue>& listItems(const JsonValue* value) {
  if (value == nullptr || !value->has_list_value()) {
    return google::protobuf::ListValue::default_instance().values();
  }
  return value->list_value().values();
}

}  // namespace remora::cli
