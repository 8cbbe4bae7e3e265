#include "proxy/observability/tracing/zipkin_encoder.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

using remora::tracing::encodeZipkinJson;
using remora::tracing::SpanData;
using remora::tracing::SpanKind;

namespace {

std::vector<SpanData> sampleSpans() {
  std::vector<SpanData> spans(2);
  spans[0].trace_id = {0x0102030405060708ULL, 0x090a0b0c0d0e0f10ULL};
  spans[0].span_id = 0x1112131415161718ULL;
  spans[0].name = "GET Items";
  spans[0].kind = SpanKind::kServer;
  spans[0].start_unix_ns = 1'700'000'000'123'456'789;
  spans[0].end_unix_ns = 1'700'000'000'153'456'789;
  spans[0].attributes = {{"http.request.method", std::string("GET")},
                         {"http.response.status_code", int64_t{200}},
                         {"client.address", std::string("10.1.2.3")},
                         {"client.port", int64_t{41000}},
                         {"remora.flag", true},
                         {"quote", std::string("a\"b\n")}};
  spans[1].trace_id = {0, 0xabcdef};
  spans[1].span_id = 0x2122232425262728ULL;
  spans[1].parent_span_id = spans[0].span_id;
  spans[1].name = "GET Items";
  spans[1].kind = SpanKind::kClient;
  spans[1].start_unix_ns = 1'700'000'000'123'456'789;
  spans[1].end_unix_ns = 1'700'000'000'123'456'900;  // 111 ns: rounds up to 1 µs
  spans[1].error = true;
  spans[1].status_message = "503";
  spans[1].attributes = {{"server.address", std::string("items.Default")}, {"server.port", int64_t{8080}}};
  return spans;
}

// The Zipkin v2 schema's rules for a Span that our spans can break.
void checkSchema(const nlohmann::json& span) {
  static const std::regex kTraceId("^[0-9a-f]{16}([0-9a-f]{16})?$");
  static const std::regex kSpanId("^[0-9a-f]{16}$");
  REQUIRE(span.is_object());
  REQUIRE(span.at("traceId").is_string());
  CHECK(std::regex_match(span.at("traceId").get<std::string>(), kTraceId));
  REQUIRE(span.at("id").is_string());
  CHECK(std::regex_match(span.at("id").get<std::string>(), kSpanId));
  if (span.contains("parentId")) CHECK(std::regex_match(span.at("parentId").get<std::string>(), kSpanId));
  if (span.contains("kind")) {
    const std::string kind = span.at("kind").get<std::string>();
    CHECK((kind == "CLIENT" || kind == "SERVER" || kind == "PRODUCER" || kind == "CONSUMER"));
  }
  CHECK(span.at("timestamp").is_number_integer());
  CHECK(span.at("duration").is_number_integer());
  CHECK(span.at("duration").get<int64_t>() >= 1);
  CHECK(span.at("localEndpoint").is_object());
  if (span.contains("tags")) {
    for (const auto& [key, value] : span.at("tags").items()) {
      INFO(key);
      CHECK(value.is_string());
    }
  }
  for (const auto& [key, value] : span.items()) {
    static const std::vector<std::string> kAllowed = {"traceId", "id", "parentId", "name", "kind", "timestamp",
                                                      "duration", "localEndpoint", "remoteEndpoint", "tags",
                                                      "annotations", "debug", "shared"};
    CHECK(std::find(kAllowed.begin(), kAllowed.end(), key) != kAllowed.end());
  }
}

}  // namespace

TEST_CASE("Zipkin JSON is an array of v2 spans that follow the schema", "[tracing][zipkin]") {
  const std::string body = encodeZipkinJson(sampleSpans(), "Checkout");
  const nlohmann::json json = nlohmann::json::parse(body);
  REQUIRE(json.is_array());
  REQUIRE(json.size() == 2);
  for (const auto& span : json) checkSchema(span);

  const auto& server = json[0];
  CHECK(server["traceId"] == "0102030405060708090a0b0c0d0e0f10");
  CHECK(server["id"] == "1112131415161718");
  CHECK_FALSE(server.contains("parentId"));
  CHECK(server["name"] == "get items");
  CHECK(server["kind"] == "SERVER");
  CHECK(server["timestamp"] == 1'700'000'000'123'456);
  CHECK(server["duration"] == 30'000);
  CHECK(server["localEndpoint"]["serviceName"] == "checkout");
  CHECK(server["remoteEndpoint"]["ipv4"] == "10.1.2.3");
  CHECK(server["remoteEndpoint"]["port"] == 41000);
  CHECK(server["tags"]["http.response.status_code"] == "200");
  CHECK(server["tags"]["remora.flag"] == "true");
  CHECK(server["tags"]["quote"] == "a\"b\n");
  CHECK_FALSE(server["tags"].contains("error"));

  const auto& client = json[1];
  CHECK(client["traceId"] == "0000000000abcdef");  // 64-bit ids stay 16 digits
  CHECK(client["parentId"] == "1112131415161718");
  CHECK(client["kind"] == "CLIENT");
  CHECK(client["duration"] == 1);
  CHECK(client["remoteEndpoint"]["serviceName"] == "items.default");
  CHECK(client["remoteEndpoint"]["port"] == 8080);
  CHECK(client["tags"]["error"] == "503");
}

TEST_CASE("an IPv6 peer goes in the ipv6 field", "[tracing][zipkin]") {
  std::vector<SpanData> spans(1);
  spans[0].trace_id = {1, 1};
  spans[0].span_id = 1;
  spans[0].kind = SpanKind::kClient;
  spans[0].attributes = {{"server.address", std::string("::1")}};
  const nlohmann::json json = nlohmann::json::parse(encodeZipkinJson(spans, "svc"));
  checkSchema(json[0]);
  CHECK(json[0]["remoteEndpoint"]["ipv6"] == "::1");
  CHECK_FALSE(json[0]["remoteEndpoint"].contains("port"));
}

TEST_CASE("an empty batch is an empty JSON array", "[tracing][zipkin]") {
  CHECK(encodeZipkinJson({}, "svc") == "[]");
}
