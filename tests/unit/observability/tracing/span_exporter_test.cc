#include "proxy/observability/tracing/span_exporter.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tests/unit/net/loop_fixture.h"
#include "tests/unit/observability/tracing/test_collector.h"

using remora::net::testing::LoopFixture;
using remora::observability::Counter;
using remora::observability::MetricFamily;
using remora::observability::Series;
using remora::tracing::ExporterCounters;
using remora::tracing::ExporterLimits;
using remora::tracing::SpanData;
using remora::tracing::SpanExporter;
using remora::tracing::testing::TestCollector;
using remora::xds::resources::TracingProvider;

namespace {

// Counter handles over test-owned series.
struct TestCounters {
  MetricFamily family{0, "remora_test_total", "", remora::observability::MetricType::kCounter, {}, {}};
  Series exported{&family, {}};
  Series dropped_queue_full{&family, {}};
  Series dropped_export_failed{&family, {}};
  Series requests_ok{&family, {}};
  Series requests_failed{&family, {}};
  ExporterCounters handles() {
    return {Counter(&exported), Counter(&dropped_queue_full), Counter(&dropped_export_failed), Counter(&requests_ok),
            Counter(&requests_failed)};
  }
  uint64_t value(const Series& series) const { return series.counter.load(); }
};

std::vector<SpanData> spans(size_t count, uint64_t first_id = 1) {
  std::vector<SpanData> out(count);
  for (size_t i = 0; i < count; ++i) {
    out[i].trace_id = {0, 0x77};
    out[i].span_id = first_id + i;
    out[i].name = "GET";
    out[i].start_unix_ns = 1'000'000;
    out[i].end_unix_ns = 2'000'000;
  }
  return out;
}

TracingProvider provider(TracingProvider::Format format) {
  TracingProvider p;
  p.format = format;
  p.cluster = "collector";
  p.timeout = std::chrono::milliseconds(500);
  return p;
}

ExporterLimits fastLimits() {
  ExporterLimits limits;
  limits.max_queued_spans = 100;
  limits.max_batch = 10;
  limits.flush_interval = std::chrono::milliseconds(20);
  limits.max_attempts = 3;
  limits.backoff_base = std::chrono::milliseconds(5);
  limits.backoff_max = std::chrono::milliseconds(20);
  return limits;
}

size_t otlpSpanCount(const std::string& body) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
  REQUIRE(request.ParseFromString(body));
  return static_cast<size_t>(request.resource_spans(0).scope_spans(0).spans_size());
}

}  // namespace

TEST_CASE_METHOD(LoopFixture, "spans arrive at the collector in OTLP batches", "[tracing][exporter]") {
  TestCollector collector(dispatcher());
  TestCounters counters;
  SpanExporter exporter(dispatcher(), provider(TracingProvider::Format::kOtlpHttp), "checkout",
                        [&] { return std::optional(collector.address()); }, counters.handles(), fastLimits());
  exporter.submit(spans(25));
  REQUIRE(runUntil([&] { return counters.value(counters.exported) == 25; }));
  // Two full batches at once, then the rest on the timer.
  REQUIRE(collector.requests.size() == 3);
  size_t total = 0;
  for (const auto& request : collector.requests) {
    CHECK(request.path == "/v1/traces");
    CHECK(request.headers.at("content-type") == "application/x-protobuf");
    CHECK(request.headers.at("host") == "collector");
    total += otlpSpanCount(request.body);
  }
  CHECK(total == 25);
  CHECK(otlpSpanCount(collector.requests[0].body) == 10);
  CHECK(counters.value(counters.requests_ok) == 3);
  CHECK(counters.value(counters.requests_failed) == 0);
  CHECK(exporter.queuedSpans() == 0);
}

TEST_CASE_METHOD(LoopFixture, "Zipkin batches go to /api/v2/spans as JSON", "[tracing][exporter]") {
  TestCollector collector(dispatcher());
  TestCounters counters;
  TracingProvider zipkin = provider(TracingProvider::Format::kZipkinJson);
  zipkin.authority = "zipkin:9411";
  SpanExporter exporter(dispatcher(), zipkin, "checkout", [&] { return std::optional(collector.address()); },
                        counters.handles(), fastLimits());
  exporter.submit(spans(3));
  REQUIRE(runUntil([&] { return counters.value(counters.exported) == 3; }));
  REQUIRE(collector.requests.size() == 1);
  CHECK(collector.requests[0].path == "/api/v2/spans");
  CHECK(collector.requests[0].headers.at("content-type") == "application/json");
  CHECK(collector.requests[0].headers.at("host") == "zipkin:9411");
  const auto json = nlohmann::json::parse(collector.requests[0].body);
  CHECK(json.size() == 3);
}

TEST_CASE_METHOD(LoopFixture, "a 503 is retried with backoff and the batch then succeeds", "[tracing][exporter]") {
  TestCollector collector(dispatcher());
  collector.statuses = {503};
  TestCounters counters;
  SpanExporter exporter(dispatcher(), provider(TracingProvider::Format::kOtlpHttp), "svc",
                        [&] { return std::optional(collector.address()); }, counters.handles(), fastLimits());
  exporter.submit(spans(4));
  REQUIRE(runUntil([&] { return counters.value(counters.exported) == 4; }));
  CHECK(collector.requests.size() == 2);
  CHECK(collector.requests[0].body == collector.requests[1].body);  // the same batch, resent
  CHECK(counters.value(counters.requests_failed) == 1);
  CHECK(counters.value(counters.requests_ok) == 1);
  CHECK(counters.value(counters.dropped_export_failed) == 0);
}

TEST_CASE_METHOD(LoopFixture, "with the collector down spans are counted as dropped", "[tracing][exporter]") {
  std::optional<remora::net::Address> dead;
  {
    TestCollector gone(dispatcher());
    dead = gone.address();
  }
  TestCounters counters;
  SpanExporter exporter(dispatcher(), provider(TracingProvider::Format::kOtlpHttp), "svc", [&] { return dead; },
                        counters.handles(), fastLimits());
  exporter.submit(spans(5));
  REQUIRE(runUntil([&] { return counters.value(counters.dropped_export_failed) == 5; }));
  CHECK(counters.value(counters.requests_failed) == 3);  // max_attempts
  CHECK(counters.value(counters.exported) == 0);
  CHECK_FALSE(exporter.exportInFlight());
}

TEST_CASE_METHOD(LoopFixture, "a collector cluster without endpoints drops after the attempts", "[tracing][exporter]") {
  TestCounters counters;
  int resolves = 0;
  SpanExporter exporter(
      dispatcher(), provider(TracingProvider::Format::kOtlpHttp), "svc",
      [&]() -> std::optional<remora::net::Address> {
        ++resolves;
        return std::nullopt;
      },
      counters.handles(), fastLimits());
  exporter.submit(spans(2));
  REQUIRE(runUntil([&] { return counters.value(counters.dropped_export_failed) == 2; }));
  CHECK(resolves == 3);
}

TEST_CASE_METHOD(LoopFixture, "a full queue drops and counts instead of growing", "[tracing][exporter]") {
  TestCollector collector(dispatcher());
  collector.hang = true;  // the first batch stays in flight until it times out
  TestCounters counters;
  ExporterLimits limits = fastLimits();
  limits.max_attempts = 1;
  TracingProvider slow = provider(TracingProvider::Format::kOtlpHttp);
  slow.timeout = std::chrono::milliseconds(200);
  SpanExporter exporter(dispatcher(), slow, "svc", [&] { return std::optional(collector.address()); },
                        counters.handles(), limits);

  // From several threads at once: submit() is the workers' entry point.
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&exporter, t] {
      for (int i = 0; i < 50; ++i) exporter.submit(spans(5, static_cast<uint64_t>(t * 1000 + i * 5 + 1)));
    });
  }
  for (auto& worker : workers) worker.join();
  // 1000 spans offered; the queue holds 100 (one batch may already be in flight).
  CHECK(exporter.queuedSpans() <= 100);
  REQUIRE(runUntil([&] { return collector.requests.size() >= 1; }));
  REQUIRE(runUntil([&] {
    return counters.value(counters.dropped_queue_full) + exporter.queuedSpans() +
               (exporter.exportInFlight() ? 10 : 0) + counters.value(counters.dropped_export_failed) ==
           1000;
  }));
  CHECK(counters.value(counters.dropped_queue_full) >= 890);
  exporter.shutdown();
}

TEST_CASE_METHOD(LoopFixture, "after shutdown nothing is sent and timers are gone", "[tracing][exporter]") {
  TestCollector collector(dispatcher());
  TestCounters counters;
  SpanExporter exporter(dispatcher(), provider(TracingProvider::Format::kOtlpHttp), "svc",
                        [&] { return std::optional(collector.address()); }, counters.handles(), fastLimits());
  exporter.shutdown();
  exporter.submit(spans(20));
  runFor(std::chrono::milliseconds(60));
  CHECK(collector.requests.empty());
  CHECK(exporter.queuedSpans() == 0);
}
