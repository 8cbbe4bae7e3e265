#include "xds/resources/common_converters.h"

#include <catch2/catch.hpp>

#include "envoy/config/route/v3/route_components.pb.h"
#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
namespace core = envoy::config::core::v3;

TEST_CASE("a field set but not supported is reported as unsupported with its path", "[xds][resources]") {
  auto socket = protoFromJson<core::SocketAddress>(R"({"address": "1.2.3.4", "named_port": "http"})");
  auto status = onlySupportedFields(socket, "x.socket_address", {"address", "port_value"});
  REQUIRE_FALSE(status);
  CHECK(status.code() == Error::kUnsupported);
  CHECK(status.message() == "x.socket_address.named_port: not supported by remora-proxy");
  CHECK(onlySupportedFields(socket, "x", {"address", "named_port"}));
}

TEST_CASE("durations convert to milliseconds, rounding a sub-millisecond value up", "[xds][resources]") {
  google::protobuf::Duration d;
  d.set_seconds(2);
  d.set_nanos(500000000);
  CHECK(*toMillis(d, "t") == Millis(2500));
  d.set_seconds(0);
  d.set_nanos(1000);
  CHECK(*toMillis(d, "t") == Millis(1));
  d.set_nanos(0);
  CHECK(*toMillis(d, "t") == Millis(0));
}

TEST_CASE("a negative duration is rejected", "[xds][resources]") {
  google::protobuf::Duration d;
  d.set_seconds(-1);
  auto millis = toMillis(d, "route.timeout");
  REQUIRE_FALSE(millis);
  CHECK(millis.error().message == "route.timeout: must not be negative");
}

TEST_CASE("socket addresses must be literal IPs with a port in range", "[xds][resources]") {
  auto ok = toSocketAddress(protoFromJson<core::Address>(R"({"socket_address": {"address": "::1", "port_value": 80}})"),
                            "a", PortPolicy::kNonZero);
  REQUIRE(ok);
  CHECK(ok->address == "::1");
  CHECK(ok->port == 80);

  auto name = toSocketAddress(
      protoFromJson<core::Address>(R"({"socket_address": {"address": "backend.local", "port_value": 80}})"), "a",
      PortPolicy::kNonZero);
  REQUIRE_FALSE(name);
  CHECK_THAT(name.error().message, Catch::StartsWith("a.socket_address.address: \"backend.local\" is not a literal"));

  auto zero = toSocketAddress(protoFromJson<core::Address>(R"({"socket_address": {"address": "0.0.0.0"}})"), "a",
                              PortPolicy::kNonZero);
  REQUIRE_FALSE(zero);
  CHECK(zero.error().message == "a.socket_address.port_value: is required");
  CHECK(toSocketAddress(protoFromJson<core::Address>(R"({"socket_address": {"address": "0.0.0.0"}})"), "a",
                        PortPolicy::kAllowZero));

  auto big = toSocketAddress(
      protoFromJson<core::Address>(R"({"socket_address": {"address": "0.0.0.0", "port_value": 65536}})"), "a",
      PortPolicy::kAllowZero);
  REQUIRE_FALSE(big);
  CHECK(big.error().message == "a.socket_address.port_value: 65536 is out of range 0..65535");

  auto pipe =
      toSocketAddress(protoFromJson<core::Address>(R"({"pipe": {"path": "/tmp/s"}})"), "a", PortPolicy::kNonZero);
  REQUIRE_FALSE(pipe);
  CHECK(pipe.error().code == Error::kUnsupported);
}

TEST_CASE("headers to add follow Envoy's append semantics", "[xds][resources]") {
  auto route = protoFromJson<envoy::config::route::v3::Route>(R"({"request_headers_to_add": [
      {"header": {"key": "X-A", "value": "1"}},
      {"header": {"key": "x-b", "value": "2"}, "append": false},
      {"header": {"key": "x-c", "value": "3"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}]})");
  auto headers = toHeadersToAdd(route.request_headers_to_add(), "r");
  REQUIRE(headers);
  REQUIRE(headers->size() == 3);
  CHECK((*headers)[0].name == "x-a");
  CHECK((*headers)[0].append);
  CHECK_FALSE((*headers)[1].append);
  CHECK_FALSE((*headers)[2].append);
}

TEST_CASE("pseudo-headers, Host and bad names cannot be added or removed", "[xds][resources]") {
  auto route = protoFromJson<envoy::config::route::v3::Route>(
      R"({"request_headers_to_add": [{"header": {"key": ":path", "value": "/"}}],
          "request_headers_to_remove": ["host"], "response_headers_to_remove": ["bad header"]})");
  auto add = toHeadersToAdd(route.request_headers_to_add(), "r.request_headers_to_add");
  REQUIRE_FALSE(add);
  CHECK(add.error().message == "r.request_headers_to_add[0].header.key: pseudo-headers cannot be added");
  auto remove = toHeadersToRemove(route.request_headers_to_remove(), "r.request_headers_to_remove");
  REQUIRE_FALSE(remove);
  CHECK(remove.error().message == "r.request_headers_to_remove[0]: the Host header cannot be modified here");
  auto bad = toHeadersToRemove(route.response_headers_to_remove(), "r.response_headers_to_remove");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::EndsWith("\"bad header\" is not a valid header name"));
}

TEST_CASE("a regex must compile with RE2", "[xds][resources]") {
  envoy::type::matcher::v3::RegexMatcher matcher;
  matcher.set_regex("^/api/(v1|v2)/.*$");
  CHECK(*toRegex(matcher, "m") == "^/api/(v1|v2)/.*$");
  matcher.set_regex("(?<=look)behind");  // RE2 has no lookbehind
  auto bad = toRegex(matcher, "m");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::StartsWith("m.regex: \"(?<=look)behind\" is not a valid RE2 regex"));
}
