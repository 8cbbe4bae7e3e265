#include "proxy/observability/tracing/tracer.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "proxy/observability/tracing/propagation.h"

namespace remora::tracing {
namespace {

using observability::RequestRecord;
using observability::TrafficDirection;

constexpr uint64_t kDefaultSeed = 0x5eed5eed5eed5eedULL;

struct HostPort {
  std::string_view host;
  std::optional<int64_t> port;
};

// "example.com:8080", "[::1]:80", "10.0.0.7:8080", "example.com".
HostPort splitHostPort(std::string_view authority) {
  HostPort out{authority, std::nullopt};
  size_t colon = std::string_view::npos;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return out;
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') colon = close + 1;
  } else {
    colon = authority.rfind(':');
    // More than one ':' without brackets is a bare IPv6 address, not a port.
    if (colon != std::string_view::npos && authority.find(':') != colon) return out;
    if (colon != std::string_view::npos) out.host = authority.substr(0, colon);
  }
  if (colon == std::string_view::npos) return out;
  const std::string_view digits = authority.substr(colon + 1);
  int64_t port = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (error == std::errc() && end == digits.data() + digits.size() && port > 0 && port <= 65535) out.port = port;
  return out;
}

// "HTTP/1.1" -> "1.1", "HTTP/2" -> "2" (OTel's network.protocol.version).
std::string_view protocolVersion(std::string_view protocol) {
  constexpr std::string_view kPrefix = "HTTP/";
  if (protocol.substr(0, kPrefix.size()) == kPrefix) return protocol.substr(kPrefix.size());
  return protocol;
}

std::string_view pathOnly(std::string_view path) { return path.substr(0, path.find_first_of("?#")); }

std::string truncated(std::string_view value, size_t max) { return std::string(value.substr(0, max)); }

int64_t durationNs(const RequestRecord& record) {
  if (record.end <= record.start) return 0;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(record.end - record.start).count();
}

class Attributes {
 public:
  explicit Attributes(std::vector<SpanAttribute>& out) : out_(out) {}
  void add(std::string_view key, std::string value) {
    out_.push_back({std::string(key), std::move(value)});
  }
  void addIfSet(std::string_view key, std::string_view value) {
    if (!value.empty()) add(key, std::string(value));
  }
  void add(std::string_view key, int64_t value) { out_.push_back({std::string(key), value}); }

 private:
  std::vector<SpanAttribute>& out_;
};

// Why the request failed, for error.type and the span status; "" when it did not.
std::string requestErrorType(const RequestRecord& record) {
  if (!record.local_reply.empty()) return std::string(record.local_reply);
  if (record.downstream_reset) return "downstream_reset";
  if (record.status == 0) return "no_response";
  if (record.status >= 500) return std::to_string(record.status);
  return {};
}

std::string attemptErrorType(const observability::AttemptRecord& attempt) {
  if (!attempt.error.empty()) return std::string(attempt.error);
  if (attempt.status == 0) return "no_response";
  if (attempt.status >= 500) return std::to_string(attempt.status);
  return {};
}

}  // namespace

Tracer::Tracer(const xds::resources::Tracing& config, TrafficDirection direction, SpanSink& sink, uint64_t seed)
    : sampling_(config.sampling),
      max_path_tag_length_(config.max_path_tag_length),
      direction_(direction),
      sink_(sink),
      state_(seed == 0 ? kDefaultSeed : seed) {}

uint64_t Tracer::nextRandom() {
  // splitmix64: tiny state, full period, good enough for ids that only need
  // to be unique, not secret.
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Tracer::newSpanId() {
  uint64_t id = 0;
  while (id == 0) id = nextRandom();
  return id;
}

bool Tracer::sampleNew() {
  if (sampling_ >= 1.0) return true;
  if (sampling_ <= 0.0) return false;
  // 53 random bits -> [0, 1), uniform on doubles' grid.
  const double draw = static_cast<double>(nextRandom() >> 11) * 0x1.0p-53;
  return draw < sampling_;
}

void Tracer::onRequestHeaders(const http::HeaderMap& headers, RequestRecord& record) {
  extractTraceContext(headers, record);
  if (!record.trace.trace_id.valid()) {
    record.trace.trace_id = {nextRandom(), newSpanId()};
    record.parent_span_id = 0;
  }
  if (!record.trace.sampling_decided) record.trace.sampled = sampleNew();
  record.trace.span_id = newSpanId();
  if (record.trace.sampled) record.details = true;
}

std::vector<SpanData> Tracer::buildSpans(const RequestRecord& record) {
  std::vector<SpanData> spans;
  if (!record.trace.sampled || !record.trace.trace_id.valid() || record.trace.span_id == 0) return spans;
  spans.reserve(1 + record.attempts.size());

  const std::string_view method = record.method.empty() ? std::string_view("HTTP") : std::string_view(record.method);
  const std::string path = truncated(pathOnly(record.path), max_path_tag_length_);
  // OTel names HTTP spans "{method} {target}" with a low-cardinality target;
  // the route's name is one, the path is the fallback when the route has none.
  std::string name(method);
  if (!record.route_name.empty()) {
    name += ' ';
    name.append(record.route_name);
  } else if (!path.empty()) {
    name += ' ';
    name += path;
  }

  SpanData& span = spans.emplace_back();
  span.trace_id = record.trace.trace_id;
  span.span_id = record.trace.span_id;
  span.parent_span_id = record.parent_span_id;
  span.name = name;
  span.kind = direction_ == TrafficDirection::kOutbound ? SpanKind::kClient : SpanKind::kServer;
  span.start_unix_ns = record.start_unix_ns;
  span.end_unix_ns = record.start_unix_ns + durationNs(record);
  const std::string error_type = requestErrorType(record);
  span.error = !error_type.empty();
  if (span.error) span.status_message = error_type;

  Attributes request(span.attributes);
  request.add("http.request.method", std::string(method));
  request.addIfSet("url.path", path);
  const HostPort authority = splitHostPort(record.authority);
  request.addIfSet("server.address", authority.host);
  if (authority.port) request.add("server.port", *authority.port);
  if (record.status != 0) request.add("http.response.status_code", static_cast<int64_t>(record.status));
  request.addIfSet("network.protocol.version", protocolVersion(record.protocol));
  request.addIfSet("user_agent.original", record.user_agent);
  if (!record.downstream_address.empty()) {
    const HostPort client = splitHostPort(record.downstream_address);
    request.addIfSet("client.address", client.host);
    if (client.port) request.add("client.port", *client.port);
  }
  if (!record.grpc_status.empty()) request.add("rpc.grpc.status_code", std::string(record.grpc_status));
  request.addIfSet("error.type", error_type);
  request.addIfSet("remora.peer.identity", record.peer_identity);
  request.addIfSet("remora.upstream.host", record.upstream_host);
  request.addIfSet("remora.cluster", record.cluster);
  request.addIfSet("remora.route", record.route_name);
  request.addIfSet("remora.local_reply", record.local_reply);
  request.addIfSet("remora.request_id", record.request_id);
  request.add("remora.attempts", static_cast<int64_t>(record.attempt_count));

  for (const observability::AttemptRecord& attempt : record.attempts) {
    SpanData& child = spans.emplace_back();
    child.trace_id = record.trace.trace_id;
    // The router gives each try the span id it injected upstream, so the
    // next sidecar's span hangs under this one; a try without one still shows.
    child.span_id = attempt.span_id != 0 ? attempt.span_id : newSpanId();
    child.parent_span_id = record.trace.span_id;
    child.name = name;
    child.kind = SpanKind::kClient;
    child.start_unix_ns = attempt.start_unix_ns;
    child.end_unix_ns = std::max(attempt.end_unix_ns, attempt.start_unix_ns);
    const std::string attempt_error = attemptErrorType(attempt);
    child.error = !attempt_error.empty();
    if (child.error) child.status_message = attempt_error;

    Attributes tags(child.attributes);
    tags.add("http.request.method", std::string(method));
    const HostPort host = splitHostPort(attempt.upstream_host);
    tags.addIfSet("server.address", host.host);
    if (host.port) tags.add("server.port", *host.port);
    if (attempt.status != 0) tags.add("http.response.status_code", static_cast<int64_t>(attempt.status));
    // OTel: the number of times the request was resent; absent on the first try.
    if (attempt.number > 1) tags.add("http.request.resend_count", static_cast<int64_t>(attempt.number - 1));
    tags.addIfSet("error.type", attempt_error);
    tags.addIfSet("remora.upstream.host", attempt.upstream_host);
    tags.addIfSet("remora.cluster", record.cluster);
    tags.add("remora.attempt", static_cast<int64_t>(attempt.number));
  }
  return spans;
}

void Tracer::onStreamEnd(const RequestRecord& record) {
  std::vector<SpanData> spans = buildSpans(record);
  if (!spans.empty()) sink_.submit(std::move(spans));
}

}  // namespace remora::tracing
