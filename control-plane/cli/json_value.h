// JSON documents inside remoractl: the API's answers and the manifests'
// objects, parsed into protobuf's google.protobuf.Value (the JSON mapping the
// rest of Remora already uses) and read with small null-safe accessors.
//
// Pure; any thread.
#pragma once

#include <google/protobuf/struct.pb.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "xds/base/status.h"

namespace remora::cli {

using JsonValue = google::protobuf::Value;

// Any JSON text (object, array or scalar). Fails with kInvalidArgument.
base::Result<JsonValue> parseJson(std::string_view text);

// The member `key` of an object; nullptr when `value` is null, not an object,
// or has no such member.
const JsonValue* member(const JsonValue* value, std::string_view key);

// member() down a path of keys: at(obj, {"metadata", "name"}).
const JsonValue* at(const JsonValue* value, std::initializer_list<std::string_view> keys);

// A scalar as a table shows it: strings as they are, integral numbers without
// a fraction ("8080", not "8080.0"), true/false; "" for null, absent, objects
// and lists.
std::string scalarText(const JsonValue* value);

// The items of a list value; an empty list when `value` is not a list.
const google::protobuf::RepeatedPtrField<JsonValue>& listItems(const JsonValue* value);

}  // namespace remora::cli
