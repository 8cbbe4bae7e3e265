#include "control-plane/main/cli_values.h"

#include <catch2/catch.hpp>

namespace remora::cp {

using namespace std::chrono_literals;

TEST_CASE("durations take a whole number and a unit", "[cp]") {
  CHECK(parseDuration("250ms").value() == 250ms);
  CHECK(parseDuration("10s").value() == 10s);
  CHECK(parseDuration("2m").value() == 120s);
  CHECK(parseDuration("1h").value() == 3600s);
  CHECK(parseDuration("0s").value() == 0ms);
  CHECK_THAT(parseDuration("10").error().message, Catch::Contains("needs a unit"));
  CHECK_THAT(parseDuration("-1s").error().message, Catch::Contains("is not a duration"));
  CHECK_THAT(parseDuration("1.5s").error().message, Catch::Contains("needs a unit"));
  CHECK_THAT(parseDuration("100000000h").error().message, Catch::Contains("longer than a year"));
}

TEST_CASE("addresses are an IP literal and a port", "[cp]") {
  CHECK(splitHostPort("127.0.0.1:15080").value() == std::make_pair(std::string("127.0.0.1"), uint16_t{15080}));
  CHECK(splitHostPort("[::1]:0").value() == std::make_pair(std::string("::1"), uint16_t{0}));
  CHECK_THAT(splitHostPort("localhost:80").error().message, Catch::Contains("is not an IP address"));
  CHECK_THAT(splitHostPort("127.0.0.1:70000").error().message, Catch::Contains("0..65535"));
  CHECK_THAT(splitHostPort("127.0.0.1").error().message, Catch::Contains("is not ip:port"));
}

TEST_CASE("an API reachable from other hosts must have a token and TLS", "[cp]") {
  CHECK(checkApiExposure("127.0.0.1:15080", false, false));
  CHECK(checkApiExposure("[::1]:15080", false, false));
  CHECK(checkApiExposure("0.0.0.0:15080", true, true));
  auto open = checkApiExposure("0.0.0.0:15080", true, false);
  REQUIRE_FALSE(open);
  CHECK_THAT(open.error().message, Catch::Contains("--api-tls-cert"));
  CHECK_FALSE(checkApiExposure("10.0.0.1:15080", false, true));
}
}  // namespace remora::cp
