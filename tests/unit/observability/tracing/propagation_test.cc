#include "proxy/observability/tracing/propagation.h"

#include <catch2/catch.hpp>

#include <string>

using remora::http::HeaderMap;
using remora::observability::kTraceFormatB3Multi;
using remora::observability::kTraceFormatB3Single;
using remora::observability::kTraceFormatNone;
using remora::observability::kTraceFormatW3c;
using remora::observability::RequestRecord;
using remora::observability::TraceId;
using remora::tracing::extractTraceContext;
using remora::tracing::injectTraceContext;

namespace {

constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr TraceId kTraceId{0x4bf92f3577b34da6ULL, 0xa3ce929d0e0e4736ULL};
constexpr const char* kSpan = "00f067aa0ba902b7";
constexpr uint64_t kSpanId = 0x00f067aa0ba902b7ULL;

RequestRecord extract(const HeaderMap& headers) {
  RequestRecord record;
  extractTraceContext(headers, record);
  return record;
}

}  // namespace

TEST_CASE("a W3C traceparent and tracestate are extracted", "[tracing][propagation]") {
  HeaderMap headers;
  headers.add("traceparent", std::string("00-") + kTrace + "-" + kSpan + "-01");
  headers.add("tracestate", "rojo=00f067aa0ba902b7");
  headers.add("tracestate", "congo=t61rcWkgMzE");
  const RequestRecord record = extract(headers);
  CHECK(record.trace.trace_id == kTraceId);
  CHECK(record.parent_span_id == kSpanId);
  CHECK(record.trace.span_id == 0);  // the tracer's to give
  CHECK(record.trace.sampled);
  CHECK(record.trace.sampling_decided);
  CHECK(record.trace.tracestate == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  CHECK(record.incoming_formats == kTraceFormatW3c);
  CHECK_FALSE(record.malformed_trace);
}

TEST_CASE("W3C wins over B3 when both came, and both formats are remembered", "[tracing][propagation]") {
  HeaderMap headers;
  headers.add("b3", "a3ce929d0e0e4736-1111111111111111-0");
  headers.add("traceparent", std::string("00-") + kTrace + "-" + kSpan + "-01");
  const RequestRecord record = extract(headers);
  CHECK(record.trace.trace_id == kTraceId);
  CHECK(record.parent_span_id == kSpanId);
  CHECK(record.trace.sampled);
  CHECK(record.incoming_formats == (kTraceFormatW3c | kTraceFormatB3Single));
}

TEST_CASE("a malformed traceparent is ignored and B3 is used instead", "[tracing][propagation]") {
  HeaderMap headers;
  headers.add("traceparent", "00-zzz-01");
  headers.add("tracestate", "rojo=1");
  headers.add("x-b3-traceid", "a3ce929d0e0e4736");
  headers.add("x-b3-spanid", kSpan);
  headers.add("x-b3-sampled", "1");
  const RequestRecord record = extract(headers);
  CHECK(record.malformed_trace);
  CHECK(record.trace.trace_id == TraceId{0, 0xa3ce929d0e0e4736ULL});
  CHECK(record.parent_span_id == kSpanId);
  CHECK(record.trace.sampled);
  CHECK(record.trace.tracestate.empty());  // it went with its traceparent
  CHECK(record.incoming_formats == kTraceFormatB3Multi);
}

TEST_CASE("malformed trace headers alone leave no context", "[tracing][propagation]") {
  const std::pair<const char*, const char*> cases[] = {
      {"traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
      {"traceparent", "garbage"},
      {"b3", "not-a-b3"},
      {"b3", "4bf92f3577b34da6a3ce929d0e0e4736"},
      {"x-b3-traceid", "4bf92f3577b34da6a3ce929d0e0e4736"},  // no span id
      {"x-b3-spanid", "00f067aa0ba902b7"},                   // no trace id
      {"x-b3-sampled", "maybe"},
  };
  for (const auto& [name, value] : cases) {
    INFO(name << ": " << value);
    HeaderMap headers;
    headers.add(name, value);
    const RequestRecord record = extract(headers);
    CHECK(record.malformed_trace);
    CHECK_FALSE(record.trace.trace_id.valid());
    CHECK(record.parent_span_id == 0);
    CHECK_FALSE(record.trace.sampling_decided);
  }
}

TEST_CASE("two traceparent fields are treated as malformed", "[tracing][propagation]") {
  HeaderMap headers;
  headers.add("traceparent", std::string("00-") + kTrace + "-" + kSpan + "-01");
  headers.add("traceparent", std::string("00-") + kTrace + "-" + kSpan + "-00");
  const RequestRecord record = extract(headers);
  CHECK(record.malformed_trace);
  CHECK_FALSE(record.trace.trace_id.valid());
}

TEST_CASE("a bare B3 decision carries no ids but is honoured", "[tracing][propagation]") {
  HeaderMap deny;
  deny.add("b3", "0");
  RequestRecord record = extract(deny);
  CHECK_FALSE(record.trace.trace_id.valid());
  CHECK(record.trace.sampling_decided);
  CHECK_FALSE(record.trace.sampled);
  CHECK_FALSE(record.malformed_trace);
  CHECK(record.incoming_formats == kTraceFormatB3Single);

  HeaderMap debug;
  debug.add("x-b3-flags", "1");
  record = extract(debug);
  CHECK(record.trace.sampling_decided);
  CHECK(record.trace.sampled);
  CHECK(record.incoming_formats == kTraceFormatB3Multi);

  HeaderMap sampled;
  sampled.add("x-b3-sampled", "true");
  record = extract(sampled);
  CHECK(record.trace.sampling_decided);
  CHECK(record.trace.sampled);
}

TEST_CASE("no trace headers leave the record untouched", "[tracing][propagation]") {
  HeaderMap headers;
  headers.add(":path", "/");
  const RequestRecord record = extract(headers);
  CHECK_FALSE(record.trace.trace_id.valid());
  CHECK(record.incoming_formats == kTraceFormatNone);
  CHECK_FALSE(record.malformed_trace);
  CHECK_FALSE(record.trace.sampling_decided);
}

TEST_CASE("injection writes W3C and B3 single when the request came with none", "[tracing][propagation]") {
  RequestRecord record;
  record.trace.trace_id = kTraceId;
  record.trace.span_id = 0x1111111111111111ULL;
  record.trace.sampled = true;
  HeaderMap upstream;
  upstream.add("x-b3-sampled", "0");  // stale, from the app: must go
  upstream.add("tracestate", "old=1");
  injectTraceContext(upstream, record, 0x2222222222222222ULL);
  CHECK(upstream.get("traceparent") == std::string("00-") + kTrace + "-2222222222222222-01");
  CHECK(upstream.get("b3") == std::string(kTrace) + "-2222222222222222-1");
  CHECK_FALSE(upstream.has("x-b3-sampled"));
  CHECK_FALSE(upstream.has("tracestate"));
}

TEST_CASE("injection answers in the formats the request came with", "[tracing][propagation]") {
  HeaderMap incoming;
  incoming.add("x-b3-traceid", "a3ce929d0e0e4736");
  incoming.add("x-b3-spanid", kSpan);
  incoming.add("x-b3-sampled", "0");
  RequestRecord record = extract(incoming);
  record.trace.span_id = 0x1111111111111111ULL;

  HeaderMap upstream = incoming;
  injectTraceContext(upstream, record, 0x2222222222222222ULL);
  CHECK_FALSE(upstream.has("traceparent"));
  CHECK_FALSE(upstream.has("b3"));
  CHECK(upstream.get("x-b3-traceid") == "a3ce929d0e0e4736");  // 64-bit stays 64-bit
  CHECK(upstream.get("x-b3-spanid") == "2222222222222222");
  CHECK(upstream.get("x-b3-parentspanid") == "1111111111111111");
  CHECK(upstream.get("x-b3-sampled") == "0");
  CHECK(upstream.getAll("x-b3-spanid").size() == 1);
}

TEST_CASE("what is injected extracts to the same trace at the next hop", "[tracing][propagation]") {
  for (const char* traceparent : {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}) {
    HeaderMap incoming;
    incoming.add("traceparent", traceparent);
    incoming.add("tracestate", "vendor=x");
    RequestRecord hop1 = extract(incoming);
    hop1.trace.span_id = 0x1111111111111111ULL;

    HeaderMap upstream;
    injectTraceContext(upstream, hop1, 0x3333333333333333ULL);
    const RequestRecord hop2 = extract(upstream);
    CHECK(hop2.trace.trace_id == hop1.trace.trace_id);
    CHECK(hop2.parent_span_id == 0x3333333333333333ULL);
    CHECK(hop2.trace.sampled == hop1.trace.sampled);
    CHECK(hop2.trace.sampling_decided);
    CHECK(hop2.trace.tracestate == "vendor=x");
  }
}

TEST_CASE("injection does nothing without a trace id", "[tracing][propagation]") {
  RequestRecord record;
  HeaderMap upstream;
  upstream.add("b3", "1");
  injectTraceContext(upstream, record, 0x1ULL);
  CHECK(upstream.get("b3") == "1");
  CHECK_FALSE(upstream.has("traceparent"));
}
