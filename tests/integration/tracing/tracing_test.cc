// Issue 7 acceptance for tracing: two sidecars (an outbound one retrying into
// two inbound ones) export their spans to an independent collector
// (tests/integration/trace_collector: the OpenTelemetry project's generated
// OTLP decoder, the Zipkin v2 span schema), and the tests check the span
// tree, the ids the app receives, the incoming sampling decision and what
// happens when the collector is down.
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/integration/harness/trace_collector_process.h"
#include "tests/integration/proxy/fixtures.h"
#include "tests/integration/resilience/load_client.h"

namespace remora {
namespace {

using harness::BackendProcess;
using harness::CollectedSpan;
using harness::CollectorState;
using harness::ProxyProcess;
using harness::TraceCollectorProcess;

enum class Format { kOtlp, kZipkin };

// The HttpConnectionManager's tracing block for a collector on `port`.
std::string tracingYaml(Format format, uint16_t port, const std::string& service, double percent = 100) {
  std::string out = "tracing:\n  random_sampling: { value: " + std::to_string(percent) + " }\n  provider:\n";
  if (format == Format::kOtlp) {
    out += "    name: envoy.tracers.opentelemetry\n    typed_config:\n"
           "      \"@type\": type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig\n"
           "      service_name: " + service + "\n"
           "      http_service:\n"
           "        http_uri: { uri: \"http://127.0.0.1:" + std::to_string(port) +
           "/v1/traces\", cluster: collector, timeout: 2s }\n";
  } else {
    out += "    name: envoy.tracers.zipkin\n    typed_config:\n"
           "      \"@type\": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig\n"
           "      collector_cluster: collector\n"
           "      collector_endpoint: /api/v2/spans\n"
           "      collector_endpoint_version: HTTP_JSON\n";
  }
  return out;
}

std::string collectorCluster(uint16_t port) {
  return itest::clusterYaml({.name = "collector", .endpoints = {"127.0.0.1:" + std::to_string(port)}});
}

// A sidecar of `service`: one listener `name` in `direction` routing
// everything to `upstreams` (with `route_extra` in the route action), tracing
// to the collector.
std::unique_ptr<ProxyProcess> startSidecar(const std::string& service, const std::string& name,
                                           const std::string& direction,
                                           const std::vector<std::string>& upstreams, const std::string& tracing,
                                           uint16_t collector_port, const std::string& route_extra = "") {
  harness::ProxyOptions o;
  const std::string route = "- match: { prefix: \"/\" }\n  route: { cluster: upstream" + route_extra + " }\n";
  // The node's cluster names the service in Zipkin spans (as in Envoy).
  o.bootstrap_yaml = "node: { id: " + service + ", cluster: " + service + " }\n" + itest::bootstrapYaml(
      {itest::httpListenerYaml({.name = name, .routes = route, .hcm_extra = tracing, .direction = direction})},
      {itest::clusterYaml({.name = "upstream", .endpoints = upstreams}), collectorCluster(collector_port)});
  INFO(o.bootstrap_yaml);
  auto proxy = ProxyProcess::start(std::move(o));
  REQUIRE(proxy);
  return std::move(*proxy);
}

// "traceparent: 00-...": the value of a header line in remora-echo's /headers body.
std::string headerLine(const std::string& body, const std::string& name) {
  const std::string needle = name + ": ";
  size_t at = body.find(needle);
  if (at == std::string::npos) return "";
  at += needle.size();
  return body.substr(at, body.find('\n', at) - at);
}

struct Traceparent {
  std::string trace_id, parent_id, flags;
};
std::optional<Traceparent> parseTraceparent(const std::string& value) {
  if (value.size() != 55 || value.compare(0, 3, "00-") != 0) return std::nullopt;
  return Traceparent{value.substr(3, 32), value.substr(36, 16), value.substr(53, 2)};
}

std::vector<CollectedSpan> spansOf(const CollectorState& state, const std::string& trace_id) {
  std::vector<CollectedSpan> out;
  for (const auto& s : state.spans) {
    if (s.trace_id == trace_id) out.push_back(s);
  }
  return out;
}

// Polls the collector until `done` holds (the exporter flushes every second).
CollectorState waitForSpans(const TraceCollectorProcess& collector,
                            const std::function<bool(const CollectorState&)>& done) {
  CollectorState last;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    auto state = collector.state();
    if (state) {
      last = std::move(*state);
      if (done(last)) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return last;
}

std::string describe(const std::vector<CollectedSpan>& spans) {
  std::string out;
  for (const auto& s : spans) {
    out += s.service + " " + s.kind + " '" + s.name + "' span=" + s.span_id + " parent=" + s.parent_span_id +
           " status=" + s.attribute("http.response.status_code") + "\n";
  }
  return out;
}

const CollectedSpan* find(const std::vector<CollectedSpan>& spans, const std::string& service,
                          const std::string& kind, const std::string& parent) {
  for (const auto& s : spans) {
    if (s.service == service && s.kind == kind && s.parent_span_id == parent) return &s;
  }
  return nullptr;
}

void checkTwoSidecarsAndARetry(Format format) {
  harness::TempDir dir("tracing");
  auto collector = TraceCollectorProcess::start(dir.path());
  REQUIRE(collector);
  const uint16_t cport = collector->port();
  // b1's app fails every request; b2's answers.
  auto app1 = BackendProcess::remoraEcho("app-b1", {"--fail-rate", "1", "--fail-status", "503"});
  auto app2 = BackendProcess::remoraEcho("app-b2");
  REQUIRE(app1);
  REQUIRE(app2);
  auto b1 = startSidecar("sidecar-b1", "inbound", "INBOUND", {app1->address()}, tracingYaml(format, cport, "sidecar-b1"), cport);
  auto b2 = startSidecar("sidecar-b2", "inbound", "INBOUND", {app2->address()}, tracingYaml(format, cport, "sidecar-b2"), cport);
  auto b1_address = b1->listenerAddress("inbound");
  auto b2_address = b2->listenerAddress("inbound");
  REQUIRE(b1_address);
  REQUIRE(b2_address);
  auto a = startSidecar("sidecar-a", "outbound", "OUTBOUND", {*b1_address, *b2_address},
                        tracingYaml(format, cport, "sidecar-a"), cport,
                        ", retry_policy: { retry_on: 5xx, num_retries: 1 }");
  auto a_address = a->listenerAddress("outbound");
  REQUIRE(a_address);

  // Round robin over b1 and b2: of two requests, one starts on b1, fails
  // there and is retried on b2.
  std::vector<Traceparent> seen_by_app;
  for (int i = 0; i < 2; ++i) {
    auto r = harness::httpGet(*a_address, "/headers");
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
    auto tp = parseTraceparent(headerLine(r->body, "traceparent"));
    REQUIRE(tp);
    CHECK(tp->flags == "01");
    seen_by_app.push_back(*tp);
  }
  REQUIRE(seen_by_app[0].trace_id != seen_by_app[1].trace_id);

  // Per request: sidecar-a's request span, its tries, the b sidecars' server
  // spans and their tries to the app.
  const CollectorState state = waitForSpans(*collector, [&](const CollectorState& s) {
    size_t n = 0;
    for (const auto& tp : seen_by_app) n += spansOf(s, tp.trace_id).size();
    return n >= 4 + 6 || s.errors > 0;  // 2+2 for the plain request, 3+3 for the retried one
  });
  INFO(state.error_text);
  REQUIRE(state.errors == 0);
  bool saw_retry = false;
  for (const auto& tp : seen_by_app) {
    const std::vector<CollectedSpan> spans = spansOf(state, tp.trace_id);
    INFO(describe(spans));
    // sidecar-a: a root CLIENT span for the request (outbound)...
    const CollectedSpan* root = find(spans, "sidecar-a", "CLIENT", "");
    REQUIRE(root != nullptr);
    CHECK(root->attribute("http.request.method") == "GET");
    CHECK(root->attribute("http.response.status_code") == "200");
    // ...with one child per try.
    std::vector<const CollectedSpan*> tries;
    for (const auto& s : spans) {
      if (s.service == "sidecar-a" && s.parent_span_id == root->span_id) tries.push_back(&s);
    }
    REQUIRE((tries.size() == 1 || tries.size() == 2));
    for (const CollectedSpan* t : tries) CHECK(t->kind == "CLIENT");
    // Each try reached a b sidecar, whose SERVER span is the try's child.
    for (const CollectedSpan* t : tries) {
      const CollectedSpan* server = nullptr;
      for (const auto& s : spans) {
        if (s.kind == "SERVER" && s.parent_span_id == t->span_id) server = &s;
      }
      REQUIRE(server != nullptr);
      CHECK(server->service.rfind("sidecar-b", 0) == 0);
      // ...and the b sidecar's own try to its app is the server span's child.
      const CollectedSpan* app_try = find(spans, server->service, "CLIENT", server->span_id);
      REQUIRE(app_try != nullptr);
      if (server->service == "sidecar-b2") {
        // The app got the trace id and, as its parent, sidecar-b2's try.
        CHECK(app_try->span_id == tp.parent_id);
        CHECK(app_try->attribute("http.response.status_code") == "200");
      } else {
        CHECK(app_try->attribute("http.response.status_code") == "503");
        CHECK(t->attribute("http.response.status_code") == "503");
      }
    }
    if (tries.size() == 2) {
      saw_retry = true;
      CHECK(root->attribute("remora.attempts") == "2");
    }
  }
  CHECK(saw_retry);
}

TEST_CASE("spans exported as OTLP form one tree across two sidecars and a retry", "[tracing][integration]") {
  checkTwoSidecarsAndARetry(Format::kOtlp);
}

TEST_CASE("spans exported as Zipkin v2 JSON pass its schema and form the same tree", "[tracing][integration]") {
  checkTwoSidecarsAndARetry(Format::kZipkin);
}

// One sidecar in front of remora-echo, tracing `percent` of requests to the collector.
struct OneHop {
  harness::TempDir dir{"tracing-one"};
  std::optional<TraceCollectorProcess> collector;
  std::optional<BackendProcess> app;
  std::unique_ptr<ProxyProcess> proxy;
  std::string address;
};

void startOneHop(OneHop& hop, double percent) {
  auto collector = TraceCollectorProcess::start(hop.dir.path());
  REQUIRE(collector);
  hop.collector.emplace(std::move(*collector));
  auto app = BackendProcess::remoraEcho("app");
  REQUIRE(app);
  hop.app.emplace(std::move(*app));
  hop.proxy = startSidecar("one-hop", "outbound", "OUTBOUND", {hop.app->address()},
                           tracingYaml(Format::kOtlp, hop.collector->port(), "one-hop", percent),
                           hop.collector->port());
  auto address = hop.proxy->listenerAddress("outbound");
  REQUIRE(address);
  hop.address = *address;
}

harness::HttpResponse getWith(const std::string& address, std::vector<std::pair<std::string, std::string>> headers) {
  harness::HttpRequest request;
  request.path = "/headers";
  request.headers = std::move(headers);
  auto r = harness::httpRequest(address, request);
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return *r;
}

TEST_CASE("an incoming sampled traceparent is continued even when the local rate is 0", "[tracing][integration]") {
  OneHop hop;
  startOneHop(hop, 0);
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string parent = "00f067aa0ba902b7";
  auto r = getWith(hop.address, {{"traceparent", "00-" + trace + "-" + parent + "-01"}, {"tracestate", "vendor=x"}});
  auto tp = parseTraceparent(headerLine(r.body, "traceparent"));
  REQUIRE(tp);
  CHECK(tp->trace_id == trace);
  CHECK(tp->parent_id != parent);  // the sidecar's own try is the app's parent
  CHECK(tp->flags == "01");
  CHECK(headerLine(r.body, "tracestate") == "vendor=x");
  // A request without a decision is not traced at 0 %.
  getWith(hop.address, {});
  const CollectorState state = waitForSpans(*hop.collector, [&](const CollectorState& s) {
    return spansOf(s, trace).size() >= 2;
  });
  const auto spans = spansOf(state, trace);
  INFO(describe(spans));
  const CollectedSpan* root = find(spans, "one-hop", "CLIENT", parent);
  REQUIRE(root != nullptr);
  const CollectedSpan* attempt = find(spans, "one-hop", "CLIENT", root->span_id);
  REQUIRE(attempt != nullptr);
  CHECK(attempt->span_id == tp->parent_id);
  CHECK(state.spans.size() == 2);  // nothing for the undecided request
}

TEST_CASE("an unsampled incoming context is passed on and not exported", "[tracing][integration]") {
  OneHop hop;
  startOneHop(hop, 100);
  const std::string trace = "0af7651916cd43dd8448eb211c80319c";
  auto r = getWith(hop.address, {{"traceparent", "00-" + trace + "-b7ad6b7169203331-00"}});
  auto tp = parseTraceparent(headerLine(r.body, "traceparent"));
  REQUIRE(tp);
  CHECK(tp->trace_id == trace);
  CHECK(tp->flags == "00");
  // A sampled request afterwards is exported; the unsampled one never is.
  auto sampled = getWith(hop.address, {});
  auto sampled_tp = parseTraceparent(headerLine(sampled.body, "traceparent"));
  REQUIRE(sampled_tp);
  const CollectorState state = waitForSpans(*hop.collector, [&](const CollectorState& s) {
    return spansOf(s, sampled_tp->trace_id).size() >= 2;
  });
  CHECK(spansOf(state, sampled_tp->trace_id).size() == 2);
  CHECK(spansOf(state, trace).empty());
}

TEST_CASE("B3 headers are read and passed on in B3", "[tracing][integration]") {
  OneHop hop;
  startOneHop(hop, 100);
  const std::string trace = "80f198ee56343ba864fe8b2a57d3eff7";
  auto multi = getWith(hop.address, {{"x-b3-traceid", trace}, {"x-b3-spanid", "e457b5a2e4d86bd1"}, {"x-b3-sampled", "1"}});
  CHECK(headerLine(multi.body, "x-b3-traceid") == trace);
  CHECK(headerLine(multi.body, "x-b3-spanid").size() == 16);
  CHECK(headerLine(multi.body, "x-b3-spanid") != "e457b5a2e4d86bd1");
  auto single = getWith(hop.address, {{"b3", trace + "-e457b5a2e4d86bd1-1"}});
  CHECK(headerLine(single.body, "b3").rfind(trace + "-", 0) == 0);
  const CollectorState state = waitForSpans(*hop.collector, [&](const CollectorState& s) {
    return spansOf(s, trace).size() >= 4;
  });
  const auto spans = spansOf(state, trace);
  INFO(describe(spans));
  CHECK(find(spans, "one-hop", "CLIENT", "e457b5a2e4d86bd1") != nullptr);
}

TEST_CASE("a malformed traceparent is ignored and a new trace starts", "[tracing][integration]") {
  OneHop hop;
  startOneHop(hop, 100);
  for (const char* bad : {"garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x"}) {
    INFO(bad);
    auto r = getWith(hop.address, {{"traceparent", bad}});
    auto tp = parseTraceparent(headerLine(r.body, "traceparent"));
    REQUIRE(tp);
    CHECK(tp->trace_id != "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(tp->trace_id != "00000000000000000000000000000000");
  }
  auto malformed = hop.proxy->stats("remora_tracing_malformed_headers_total{listener=\"outbound\"}");
  REQUIRE(malformed);
  CHECK(*malformed == 3);
}

// A collector that accepts connections and never answers.
struct Blackhole {
  int fd = -1;
  uint16_t port = 0;
  Blackhole() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd, 64);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Blackhole() { ::close(fd); }
};

uint64_t rssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

TEST_CASE("with the collector down requests are unaffected and dropped spans are counted", "[tracing][integration]") {
  auto app = BackendProcess::remoraEcho("app");
  REQUIRE(app);
  SECTION("the collector's port is closed") {
    uint16_t closed_port = 0;
    {
      Blackhole gone;  // a port that was ours a moment ago and is closed now
      closed_port = gone.port;
    }
    auto proxy = startSidecar("down", "outbound", "OUTBOUND", {app->address()},
                              tracingYaml(Format::kOtlp, closed_port, "down"), closed_port);
    auto address = proxy->listenerAddress("outbound");
    REQUIRE(address);
    itest::KeepAliveClient client(*address);
    for (int i = 0; i < 500; ++i) {
      const itest::Reply r = client.send("GET", "/");
      INFO(r.describe());
      REQUIRE(r.status == 200);
    }
    // Every span is accounted for: after the exporter's retries, dropped.
    uint64_t dropped = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto d = proxy->stats("remora_tracing_spans_total{result=\"dropped_export_failed\"}");
      if (d && *d >= 1000) {
        dropped = *d;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    auto exported = proxy->stats("remora_tracing_spans_total{result=\"exported\"}");
    auto failed = proxy->stats("remora_tracing_export_requests_total{result=\"failed\"}");
    REQUIRE(exported);
    REQUIRE(failed);
    auto queue_full = proxy->stats("remora_tracing_spans_total{result=\"dropped_queue_full\"}");
    REQUIRE(queue_full);
    CHECK(*exported == 0);
    CHECK(dropped + *queue_full == 1000);  // a request span and one try per request
    CHECK(*failed >= 1);
  }
  SECTION("the collector never answers: the queue stays bounded") {
    Blackhole hole;
    auto proxy = startSidecar("stuck", "outbound", "OUTBOUND", {app->address()},
                              tracingYaml(Format::kOtlp, hole.port, "stuck"), hole.port);
    auto address = proxy->listenerAddress("outbound");
    REQUIRE(address);
    itest::KeepAliveClient client(*address);
    for (int i = 0; i < 200; ++i) REQUIRE(client.send("GET", "/").status == 200);
    const uint64_t rss_before = rssKb(proxy->process().pid());
    // 3,000 requests make 6,000 spans, far more than the export queue holds
    // while the one export request in flight waits for its timeout.
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 3000; ++i) {
      const itest::Reply r = client.send("GET", "/");
      INFO(r.describe());
      REQUIRE(r.status == 200);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const uint64_t rss_after = rssKb(proxy->process().pid());
    auto queue_full = proxy->stats("remora_tracing_spans_total{result=\"dropped_queue_full\"}");
    REQUIRE(queue_full);
    WARN("RESULT: collector blackholed: 3000 requests in " << seconds << " s, RSS " << rss_before << " -> "
                                                           << rss_after << " KiB, dropped_queue_full " << *queue_full);
    CHECK(*queue_full >= 6000 - 2 * 2048);
    // The queue holds at most 2,048 spans (a few hundred bytes each).
    CHECK(rss_after < rss_before + 8 * 1024);
  }
}

}  // namespace
}  // namespace remora
