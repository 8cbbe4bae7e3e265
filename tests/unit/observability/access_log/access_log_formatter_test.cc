#include "proxy/observability/access_log/access_log_formatter.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

using namespace remora::observability;
using Format = remora::xds::resources::AccessLog::Format;
using namespace std::chrono_literals;

namespace {

// 2026-11-23T12:34:56.789Z
constexpr int64_t kStartNs = 1'795'437'296'789'000'000;

RequestRecord sampleRecord() {
  RequestRecord r;
  r.listener = "inbound_0.0.0.0_15006";
  r.direction = TrafficDirection::kInbound;
  r.protocol = "HTTP/2";
  r.peer_identity = "spiffe://mesh.local/ns/shop/sa/web";
  r.downstream_address = "10.0.0.9:51234";
  r.start_unix_ns = kStartNs;
  r.start = std::chrono::steady_clock::time_point(100s);
  r.end = r.start + 12345us;
  r.upstream_first_byte = r.start + 10ms;
  r.method = "GET";
  r.authority = "cart.shop:8080";
  r.path = "/items?id=7";
  r.user_agent = "curl/7.88 (x86_64)";
  r.request_id = "4bf92f35-77b3";
  r.status = 200;
  r.request_bytes = 12;
  r.response_bytes = 3456;
  r.route_name = "items";
  r.cluster = "inbound|8080||cart";
  r.upstream_host = "127.0.0.1:8080";
  r.attempt_count = 2;
  r.trace.trace_id = TraceId{0x4bf92f3577b34da6, 0xa3ce929d0e0e4736};
  r.trace.span_id = 0x00f067aa0ba902b7;
  return r;
}

std::string line(const RequestRecord& r, Format format) {
  std::string out;
  appendAccessLogLine(out, r, format);
  return out;
}

}  // namespace

TEST_CASE("a JSON access log line parses back with every documented key", "[observability][access_log]") {
  const std::string text = line(sampleRecord(), Format::kJson);
  REQUIRE(text.back() == '\n');
  CHECK(text.find('\n') == text.size() - 1);
  const auto json = nlohmann::json::parse(text);
  CHECK(json["start_time"] == "2026-11-23T12:34:56.789Z");
  CHECK(json["method"] == "GET");
  CHECK(json["authority"] == "cart.shop:8080");
  CHECK(json["path"] == "/items?id=7");
  CHECK(json["protocol"] == "HTTP/2");
  CHECK(json["status"] == 200);
  CHECK(json["local_reply"] == "");
  CHECK(json["upstream_host"] == "127.0.0.1:8080");
  CHECK(json["cluster"] == "inbound|8080||cart");
  CHECK(json["route"] == "items");
  CHECK(json["attempts"] == 2);
  CHECK(json["duration_ms"].get<double>() == Approx(12.345));
  CHECK(json["upstream_service_time_ms"].get<double>() == Approx(10.0));
  CHECK(json["request_bytes"] == 12);
  CHECK(json["response_bytes"] == 3456);
  CHECK(json["peer_identity"] == "spiffe://mesh.local/ns/shop/sa/web");
  CHECK(json["downstream_address"] == "10.0.0.9:51234");
  CHECK(json["user_agent"] == "curl/7.88 (x86_64)");
  CHECK(json["request_id"] == "4bf92f35-77b3");
  CHECK(json["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(json["direction"] == "inbound");
  CHECK(json["listener"] == "inbound_0.0.0.0_15006");
  CHECK(json.size() == 22);
}

TEST_CASE("a local reply without an upstream logs null upstream time and no trace id", "[observability][access_log]") {
  RequestRecord r = sampleRecord();
  r.status = 503;
  r.local_reply = "no_healthy_upstream";
  r.upstream_first_byte = {};
  r.upstream_host.clear();
  r.attempt_count = 0;
  r.trace = SpanContext{};
  r.direction = TrafficDirection::kOutbound;
  const auto json = nlohmann::json::parse(line(r, Format::kJson));
  CHECK(json["status"] == 503);
  CHECK(json["local_reply"] == "no_healthy_upstream");
  CHECK(json["upstream_service_time_ms"].is_null());
  CHECK(json["trace_id"] == "");
  CHECK(json["direction"] == "outbound");
}

TEST_CASE("JSON strings escape quotes, control characters and invalid UTF-8", "[observability][access_log]") {
  RequestRecord r = sampleRecord();
  r.path = std::string("/a\"b\\c\nd\te\x01\x7f");
  r.user_agent = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";  // valid UTF-8 stays as it is
  r.request_id = "bad\xff\xc3(\xed\xa0\x80\xc0\xaf";            // stray, truncated, surrogate, overlong
  const std::string text = line(r, Format::kJson);
  CHECK(text.find('\n') == text.size() - 1);
  const auto json = nlohmann::json::parse(text);  // throws on invalid UTF-8 or a raw control character
  CHECK(json["path"] == std::string("/a\"b\\c\nd\te\x01\x7f"));
  CHECK(json["user_agent"] == r.user_agent);
  const std::string fffd = "\xef\xbf\xbd";  // U+FFFD, one per byte that starts no valid sequence
  CHECK(json["request_id"] == "bad" + fffd + fffd + "(" + fffd + fffd + fffd + fffd + fffd);
  std::string escaped;
  appendJsonString(escaped, "\x1f\"");
  CHECK(escaped == "\"\\u001f\\\"\"");
}

TEST_CASE("start times are RFC 3339 UTC with milliseconds", "[observability][access_log]") {
  std::string out;
  appendRfc3339Millis(out, 0);
  CHECK(out == "1970-01-01T00:00:00.000Z");
  out.clear();
  appendRfc3339Millis(out, 951'782'400'007'999'999);  // a leap day
  CHECK(out == "2000-02-29T00:00:00.007Z");
}

TEST_CASE("the text line carries Envoy's default fields then Remora's", "[observability][access_log]") {
  CHECK(line(sampleRecord(), Format::kText) ==
        "[2026-11-23T12:34:56.789Z] \"GET /items?id=7 HTTP/2\" 200 - 12 3456 12 10 \"curl/7.88 (x86_64)\" "
        "\"4bf92f35-77b3\" \"cart.shop:8080\" \"127.0.0.1:8080\" inbound|8080||cart items 2 inbound "
        "inbound_0.0.0.0_15006 10.0.0.9:51234 4bf92f3577b34da6a3ce929d0e0e4736 "
        "\"spiffe://mesh.local/ns/shop/sa/web\"\n");
}

TEST_CASE("empty text fields are dashes", "[observability][access_log]") {
  RequestRecord r;
  r.start_unix_ns = 0;
  CHECK(line(r, Format::kText) ==
        "[1970-01-01T00:00:00.000Z] \"- - -\" 0 - 0 0 0 - \"-\" \"-\" \"-\" \"-\" - - 0 unspecified - - - \"-\"\n");
}

TEST_CASE("a hostile path cannot break or split a text line", "[observability][access_log]") {
  RequestRecord r = sampleRecord();
  r.path = "/x\" 200 \"forged\r\nline";
  r.user_agent = "ua\"\\\n\xff";
  const std::string text = line(r, Format::kText);
  CHECK(text.find('\n') == text.size() - 1);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("\"GET /x\\\"\\x20200\\x20\\\"forged\\x0d\\x0aline HTTP/2\"") != std::string::npos);
  CHECK(text.find("\"ua\\\"\\\\\\x0a\\xff\"") != std::string::npos);
}
