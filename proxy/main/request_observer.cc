#include "proxy/main/request_observer.h"

#include <functional>

#include "proxy/observability/access_log/access_log_formatter.h"
#include "proxy/observability/tracing/propagation.h"

namespace remora::server {

namespace {
constexpr std::string_view kCodeClasses[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};

uint32_t codeClass(uint32_t status) {
  const uint32_t cls = status / 100;
  return cls >= 1 && cls <= 5 ? cls : 0;
}
}  // namespace

RequestObserver::RequestObserver(observability::WorkerStats& shard, const ProxyFamilies& families,
                                 const std::string& listener, std::unique_ptr<tracing::Tracer> tracer,
                                 std::vector<AccessLogTarget> access_logs)
    : shard_(shard), families_(families), tracer_(std::move(tracer)), access_logs_(std::move(access_logs)),
      malformed_trace_headers_(shard.counter(families.tracing_malformed_headers, {listener})) {}

void RequestObserver::onRequestHeaders(const http::HeaderMap& headers, observability::RequestRecord& record) {
  if (tracer_) {
    tracer_->onRequestHeaders(headers, record);
    if (record.malformed_trace) malformed_trace_headers_.inc();
  }
  if (!access_logs_.empty()) record.details = true;
}

uint64_t RequestObserver::onUpstreamAttempt(http::HeaderMap& upstream_headers, observability::RequestRecord& record) {
  if (!tracer_ || !record.trace.trace_id.valid()) return 0;
  const uint64_t span_id = tracer_->newSpanId();
  tracing::injectTraceContext(upstream_headers, record, span_id);
  return span_id;
}

RequestObserver::Entry& RequestObserver::entryFor(const observability::RequestRecord& r, uint32_t code_class) {
  size_t h = std::hash<std::string_view>{}(r.cluster);
  h = h * 31 + std::hash<std::string_view>{}(r.route_name);
  h = h * 31 + std::hash<std::string_view>{}(r.peer_identity);
  h = h * 31 + code_class;
  Entry& e = cache_[h % cache_.size()];
  if (e.used && e.code_class == code_class && e.direction == r.direction && e.cluster == r.cluster &&
      e.route == r.route_name && e.peer == r.peer_identity) {
    return e;
  }
  // A miss (first use, or another label set in this slot): the shard's
  // index finds or makes the series; the handles stay valid for the
  // shard's life.
  const std::string_view direction = observability::directionName(r.direction);
  e.cluster.assign(r.cluster);
  e.route.assign(r.route_name);
  e.peer.assign(r.peer_identity);
  e.direction = r.direction;
  e.code_class = code_class;
  e.requests = shard_.counter(families_.http_requests,
                              {direction, r.cluster, r.route_name, kCodeClasses[code_class], r.peer_identity});
  e.duration = shard_.histogram(families_.http_request_duration, {direction, r.cluster, r.route_name});
  e.used = true;
  return e;
}

void RequestObserver::onStreamEnd(observability::RequestRecord& record) {
  Entry& e = entryFor(record, codeClass(record.status));
  e.requests.inc();
  e.duration.recordDuration(record.end - record.start);
  if (tracer_) tracer_->onStreamEnd(record);
  for (const AccessLogTarget& target : access_logs_) {
    line_.clear();
    observability::appendAccessLogLine(line_, record, target.format);
    target.writer->write(line_);
  }
}

}  // namespace remora::server
