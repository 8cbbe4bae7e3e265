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

namespace remora::cp {

TEST_CASE("a tracing collector is otlp:// or zipkin://, an IP literal, a port and an optional path", "[cp]") {
  auto otlp = parseTracingCollector("otlp://10.0.0.9:4318");
  REQUIRE(otlp);
  CHECK(otlp->enabled);
  CHECK(otlp->format == mesh::MeshTracing::Format::kOtlp);
  CHECK(otlp->host == "10.0.0.9");
  CHECK(otlp->port == 4318u);
  CHECK(otlp->path == "/v1/traces");
  CHECK(otlp->sampling_percent == 100.0);

  auto zipkin = parseTracingCollector("zipkin://[::1]:9411");
  REQUIRE(zipkin);
  CHECK(zipkin->format == mesh::MeshTracing::Format::kZipkin);
  CHECK(zipkin->host == "::1");
  CHECK(zipkin->path == "/api/v2/spans");
  CHECK(parseTracingCollector("zipkin://127.0.0.1:9411/").value().path == "/api/v2/spans");
  CHECK(parseTracingCollector("otlp://127.0.0.1:4318/otel/v1/traces").value().path == "/otel/v1/traces");

  CHECK_THAT(parseTracingCollector("http://127.0.0.1:4318").error().message,
             Catch::Contains("must start with otlp:// (OTLP/HTTP) or zipkin://"));
  CHECK_THAT(parseTracingCollector("127.0.0.1:4318").error().message, Catch::Contains("must start with otlp://"));
  CHECK_THAT(parseTracingCollector("otlp://collector:4318").error().message,
             Catch::Contains("\"collector\" is not an IP address"));
  CHECK_THAT(parseTracingCollector("otlp://127.0.0.1").error().message, Catch::Contains("is not ip:port"));
  CHECK_THAT(parseTracingCollector("otlp://127.0.0.1:70000").error().message, Catch::Contains("0..65535"));
  CHECK_THAT(parseTracingCollector("otlp://127.0.0.1:port/x").error().message, Catch::Contains("is not a port"));
  CHECK_THAT(parseTracingCollector("otlp://127.0.0.1:0").error().message, Catch::Contains("must be 1..65535"));
  CHECK_THAT(parseTracingCollector("otlp://127.0.0.1:4318/a b").error().message, Catch::Contains("space"));
  CHECK(parseTracingCollector("otlp://localhost:4318").error().code == base::Error::kInvalidArgument);
}

TEST_CASE("tracing sampling is a percentage from 0 to 100", "[cp]") {
  CHECK(parseSamplingPercent("100").value() == 100.0);
  CHECK(parseSamplingPercent("0").value() == 0.0);
  CHECK(parseSamplingPercent("0.5").value() == 0.5);
  CHECK_THAT(parseSamplingPercent("101").error().message, Catch::Contains("not a percentage 0..100"));
  CHECK_THAT(parseSamplingPercent("-1").error().message, Catch::Contains("not a percentage 0..100"));
  CHECK_THAT(parseSamplingPercent("10%").error().message, Catch::Contains("is not a number"));
  CHECK_THAT(parseSamplingPercent("").error().message, Catch::Contains("is not a number"));
  CHECK_THAT(parseSamplingPercent("nan").error().message, Catch::Contains("is not a number"));
}

}  // namespace remora::cp
