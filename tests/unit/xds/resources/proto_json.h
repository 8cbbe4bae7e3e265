// Test helper: builds a proto from JSON (protobuf's mapping, "@type" Anys
// resolved from our generated protos), failing the test if it does not parse.
#pragma once

#include <google/protobuf/util/json_util.h>

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

namespace remora::xds::resources::testing {

template <typename T>
T protoFromJson(std::string_view json) {
  T message;
  const auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &message);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return message;
}

}  // namespace remora::xds::resources::testing
