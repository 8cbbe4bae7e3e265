#include "proxy/observability/tracing/tracer.h"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <variant>

using remora::http::HeaderMap;
using remora::observability::AttemptRecord;
using remora::observability::RequestRecord;
using remora::observability::TraceId;
using remora::observability::TrafficDirection;
using remora::tracing::SpanAttribute;
using remora::tracing::SpanData;
using remora::tracing::SpanKind;
using remora::tracing::SpanSink;
using remora::tracing::Tracer;

namespace {

class CollectingSink : public SpanSink {
 public:
  void submit(std::vector<SpanData> spans) override { batches.push_back(std::move(spans)); }
  std::vector<std::vector<SpanData>> batches;
};

remora::xds::resources::Tracing config(double sampling) {
  remora::xds::resources::Tracing tracing;
  tracing.sampling = sampling;
  tracing.max_path_tag_length = 16;
  return tracing;
}

using Value = std::variant<std::string, int64_t, bool, double>;

std::map<std::string, Value> attributes(const SpanData& span) {
  std::map<std::string, Value> out;
  for (const SpanAttribute& attribute : span.attributes) out[attribute.key] = attribute.value;
  return out;
}

HeaderMap sampledParent() {
  HeaderMap headers;
  headers.add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  return headers;
}

}  // namespace

TEST_CASE("a request without context starts a new trace with its own span id", "[tracing][tracer]") {
  CollectingSink sink;
  Tracer tracer(config(1.0), TrafficDirection::kInbound, sink, 42);
  RequestRecord record;
  tracer.onRequestHeaders(HeaderMap{}, record);
  CHECK(record.trace.trace_id.valid());
  CHECK(record.trace.span_id != 0);
  CHECK(record.parent_span_id == 0);
  CHECK(record.trace.sampled);
  CHECK(record.details);
}

TEST_CASE("the caller's sampling decision wins over the local rate", "[tracing][tracer]") {
  CollectingSink sink;
  Tracer never(config(0.0), TrafficDirection::kInbound, sink, 1);
  RequestRecord sampled;
  never.onRequestHeaders(sampledParent(), sampled);
  CHECK(sampled.trace.sampled);
  CHECK(sampled.details);
  CHECK(sampled.trace.trace_id == TraceId{0x4bf92f3577b34da6ULL, 0xa3ce929d0e0e4736ULL});
  CHECK(sampled.parent_span_id == 0x00f067aa0ba902b7ULL);
  CHECK(sampled.trace.span_id != 0x00f067aa0ba902b7ULL);

  Tracer always(config(1.0), TrafficDirection::kInbound, sink, 1);
  HeaderMap deny;
  deny.add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  RequestRecord denied;
  always.onRequestHeaders(deny, denied);
  CHECK_FALSE(denied.trace.sampled);
  CHECK_FALSE(denied.details);
  // Still a context: the next hop learns the decision.
  CHECK(denied.trace.span_id != 0);

  HeaderMap bare;
  bare.add("b3", "0");
  RequestRecord bare_record;
  always.onRequestHeaders(bare, bare_record);
  CHECK(bare_record.trace.trace_id.valid());  // a new trace...
  CHECK_FALSE(bare_record.trace.sampled);     // ...that keeps the caller's "no"
}

TEST_CASE("the local sampler follows the configured rate, reproducibly per seed", "[tracing][tracer]") {
  CollectingSink sink;
  auto count = [&sink](double rate, uint64_t seed) {
    Tracer tracer(config(rate), TrafficDirection::kOutbound, sink, seed);
    int sampled = 0;
    for (int i = 0; i < 10000; ++i) {
      RequestRecord record;
      tracer.onRequestHeaders(HeaderMap{}, record);
      sampled += record.trace.sampled ? 1 : 0;
    }
    return sampled;
  };
  const int quarter = count(0.25, 7);
  CHECK(quarter > 2300);
  CHECK(quarter < 2700);
  CHECK(count(0.25, 7) == quarter);
  CHECK(count(0.0, 7) == 0);
  CHECK(count(1.0, 7) == 10000);
}

TEST_CASE("ids are never zero and do not repeat", "[tracing][tracer]") {
  CollectingSink sink;
  Tracer tracer(config(1.0), TrafficDirection::kOutbound, sink, 0);  // seed 0 is replaced
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t id = tracer.newSpanId();
    CHECK(id != 0);
    seen.insert(id);
  }
  CHECK(seen.size() == 10000);
  Tracer other(config(1.0), TrafficDirection::kOutbound, sink, 2);
  Tracer same(config(1.0), TrafficDirection::kOutbound, sink, 2);
  CHECK(other.newSpanId() == same.newSpanId());
}

TEST_CASE("a request with two attempts makes a span tree with one child per try", "[tracing][tracer]") {
  CollectingSink sink;
  Tracer tracer(config(1.0), TrafficDirection::kOutbound, sink, 9);
  RequestRecord record;
  HeaderMap headers = sampledParent();
  tracer.onRequestHeaders(headers, record);
  record.method = "GET";
  record.path = "/api/v1/items/12345?secret=1";
  record.authority = "items.default:8080";
  record.user_agent = "curl/7.88";
  record.protocol = "HTTP/1.1";
  record.peer_identity = "spiffe://mesh/ns/default/sa/web";
  record.cluster = "items";
  record.upstream_host = "10.0.0.8:8080";
  record.status = 200;
  record.attempt_count = 2;
  record.start_unix_ns = 1'700'000'000'000'000'000;
  record.start = std::chrono::steady_clock::time_point(std::chrono::seconds(100));
  record.end = record.start + std::chrono::milliseconds(30);
  const uint64_t first_id = tracer.newSpanId();
  record.attempts.push_back(AttemptRecord{1, first_id, "10.0.0.7:8080", record.start_unix_ns + 1000,
                                          record.start_unix_ns + 10'000'000, 503, ""});
  record.attempts.push_back(AttemptRecord{2, 0, "10.0.0.8:8080", record.start_unix_ns + 12'000'000,
                                          record.start_unix_ns + 29'000'000, 200, ""});
  tracer.onStreamEnd(record);

  REQUIRE(sink.batches.size() == 1);
  const std::vector<SpanData>& spans = sink.batches[0];
  REQUIRE(spans.size() == 3);
  const SpanData& request = spans[0];
  CHECK(request.kind == SpanKind::kClient);  // outbound
  CHECK(request.span_id == record.trace.span_id);
  CHECK(request.parent_span_id == 0x00f067aa0ba902b7ULL);
  CHECK(request.trace_id == record.trace.trace_id);
  CHECK(request.name == "GET /api/v1/items/12");  // path without query, cut to 16 bytes
  CHECK(request.end_unix_ns - request.start_unix_ns == 30'000'000);
  CHECK_FALSE(request.error);

  auto tags = attributes(request);
  CHECK(std::get<std::string>(tags["http.request.method"]) == "GET");
  CHECK(std::get<std::string>(tags["url.path"]) == "/api/v1/items/12");
  CHECK(std::get<std::string>(tags["server.address"]) == "items.default");
  CHECK(std::get<int64_t>(tags["server.port"]) == 8080);
  CHECK(std::get<int64_t>(tags["http.response.status_code"]) == 200);
  CHECK(std::get<std::string>(tags["network.protocol.version"]) == "1.1");
  CHECK(std::get<std::string>(tags["user_agent.original"]) == "curl/7.88");
  CHECK(std::get<std::string>(tags["remora.peer.identity"]) == "spiffe://mesh/ns/default/sa/web");
  CHECK(std::get<std::string>(tags["remora.cluster"]) == "items");
  CHECK(std::get<std::string>(tags["remora.upstream.host"]) == "10.0.0.8:8080");
  CHECK(std::get<int64_t>(tags["remora.attempts"]) == 2);
  CHECK(tags.count("error.type") == 0);

  const SpanData& first = spans[1];
  CHECK(first.kind == SpanKind::kClient);
  CHECK(first.span_id == first_id);  // the id the router injected upstream
  CHECK(first.parent_span_id == request.span_id);
  CHECK(first.error);
  auto first_tags = attributes(first);
  CHECK(std::get<std::string>(first_tags["server.address"]) == "10.0.0.7");
  CHECK(std::get<int64_t>(first_tags["http.response.status_code"]) == 503);
  CHECK(std::get<std::string>(first_tags["error.type"]) == "503");
  CHECK(first_tags.count("http.request.resend_count") == 0);

  const SpanData& second = spans[2];
  CHECK(second.parent_span_id == request.span_id);
  CHECK(second.span_id != 0);
  CHECK(second.span_id != first.span_id);
  CHECK_FALSE(second.error);
  auto second_tags = attributes(second);
  CHECK(std::get<int64_t>(second_tags["http.request.resend_count"]) == 1);
  CHECK(second.end_unix_ns - second.start_unix_ns == 17'000'000);
}

TEST_CASE("inbound requests make SERVER spans named after their route", "[tracing][tracer]") {
  CollectingSink sink;
  Tracer tracer(config(1.0), TrafficDirection::kInbound, sink, 3);
  RequestRecord record;
  tracer.onRequestHeaders(HeaderMap{}, record);
  record.method = "POST";
  record.path = "/orders";
  record.route_name = "orders-route";
  record.status = 503;
  record.local_reply = "no_healthy_upstream";
  tracer.onStreamEnd(record);
  REQUIRE(sink.batches.size() == 1);
  const SpanData& span = sink.batches[0].at(0);
  CHECK(span.kind == SpanKind::kServer);
  CHECK(span.name == "POST orders-route");
  CHECK(span.error);
  CHECK(span.status_message == "no_healthy_upstream");
  auto tags = attributes(span);
  CHECK(std::get<std::string>(tags["remora.local_reply"]) == "no_healthy_upstream");
  CHECK(std::get<std::string>(tags["remora.route"]) == "orders-route");
  CHECK(std::get<std::string>(tags["error.type"]) == "no_healthy_upstream");
}

TEST_CASE("unsampled requests submit nothing", "[tracing][tracer]") {
  CollectingSink sink;
  Tracer tracer(config(0.0), TrafficDirection::kUnspecified, sink, 3);
  RequestRecord record;
  tracer.onRequestHeaders(HeaderMap{}, record);
  CHECK_FALSE(record.trace.sampled);
  tracer.onStreamEnd(record);
  CHECK(sink.batches.empty());
}
