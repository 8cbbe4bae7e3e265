#include "xds/base/json_string.h"

#include <catch2/catch.hpp>

using remora::base::jsonString;

TEST_CASE("JSON strings escape quotes, backslashes and control characters and keep UTF-8", "[base][json]") {
  CHECK(jsonString("plain") == "\"plain\"");
  CHECK(jsonString("say \"hi\"\\") == "\"say \\\"hi\\\"\\\\\"");
  CHECK(jsonString("a\nb\tc\r") == "\"a\\nb\\tc\\r\"");
  CHECK(jsonString(std::string_view("\x01\x1f", 2)) == "\"\\u0001\\u001f\"");
  CHECK(jsonString("zoë") == "\"zoë\"");
  CHECK(jsonString("") == "\"\"");
}
