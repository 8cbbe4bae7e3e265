#include "proxy/observability/tracing/span_exporter.h"

#include <algorithm>
#include <utility>

#include "proxy/observability/tracing/otlp_encoder.h"
#include "proxy/observability/tracing/zipkin_encoder.h"

namespace remora::tracing {
namespace {

using Format = xds::resources::TracingProvider::Format;

std::string_view defaultPath(Format format) {
  return format == Format::kZipkinJson ? "/api/v2/spans" : "/v1/traces";
}

std::string_view contentType(Format format) {
  return format == Format::kZipkinJson ? "application/json" : "application/x-protobuf";
}

ExporterLimits sane(ExporterLimits limits) {
  limits.max_batch = std::max<size_t>(1, limits.max_batch);
  limits.max_queued_spans = std::max(limits.max_queued_spans, limits.max_batch);
  limits.max_attempts = std::max<uint32_t>(1, limits.max_attempts);
  limits.flush_interval = std::max(limits.flush_interval, std::chrono::milliseconds(1));
  limits.backoff_base = std::max(limits.backoff_base, std::chrono::milliseconds(1));
  limits.backoff_max = std::max(limits.backoff_max, limits.backoff_base);
  return limits;
}

}  // namespace

SpanExporter::SpanExporter(net::Dispatcher& dispatcher, xds::resources::TracingProvider provider,
                           std::string service_name, ResolveFn resolve, ExporterCounters counters,
                           ExporterLimits limits, uint64_t seed)
    : dispatcher_(dispatcher),
      provider_(std::move(provider)),
      service_name_(std::move(service_name)),
      resolve_(std::move(resolve)),
      counters_(counters),
      limits_(sane(limits)),
      random_state_(seed == 0 ? 1 : seed),
      shared_(std::make_shared<Shared>()) {
  shared_->exporter = this;
  flush_timer_ = dispatcher_.createTimer([this] { onFlushTimer(); });
  flush_timer_->enable(limits_.flush_interval);
  retry_timer_ = dispatcher_.createTimer([this] { sendAttempt(); });
}

SpanExporter::~SpanExporter() {
  shared_->exporter = nullptr;
  shutdown();
}

void SpanExporter::submit(std::vector<SpanData> spans) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    if (shared_->closed) return;
    const size_t room = limits_.max_queued_spans - std::min(limits_.max_queued_spans, shared_->queue.size());
    const size_t taken = std::min(room, spans.size());
    for (size_t i = 0; i < taken; ++i) shared_->queue.push_back(std::move(spans[i]));
    shared_->dropped_queue_full += spans.size() - taken;
    // A full batch is worth a wake-up now; so is a drop, so the counter
    // shows it before the next timer tick.
    if ((shared_->queue.size() >= limits_.max_batch || taken < spans.size()) && !shared_->wake_pending) {
      shared_->wake_pending = true;
      wake = true;
    }
  }
  if (wake) {
    dispatcher_.post([shared = shared_] {
      if (shared->exporter != nullptr) shared->exporter->onWake();
    });
  }
}

size_t SpanExporter::queuedSpans() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->queue.size();
}

void SpanExporter::onWake() {
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->wake_pending = false;
  }
  takeDropCounts();
  if (!in_flight_) startExport();
}

void SpanExporter::onFlushTimer() {
  takeDropCounts();
  if (!in_flight_) startExport();
  flush_timer_->enable(limits_.flush_interval);
}

void SpanExporter::flush() {
  takeDropCounts();
  if (!in_flight_) startExport();
}

void SpanExporter::takeDropCounts() {
  uint64_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    std::swap(dropped, shared_->dropped_queue_full);
  }
  if (dropped != 0) counters_.spans_dropped_queue_full.inc(dropped);
}

void SpanExporter::startExport() {
  std::vector<SpanData> batch;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    const size_t count = std::min(shared_->queue.size(), limits_.max_batch);
    if (count == 0) return;
    batch.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      batch.push_back(std::move(shared_->queue.front()));
      shared_->queue.pop_front();
    }
  }
  // Encoded once; retries resend the same bytes.
  body_ = provider_.format == Format::kZipkinJson ? encodeZipkinJson(batch, service_name_)
                                                  : encodeOtlpTraces(batch, service_name_);
  batch_spans_ = batch.size();
  attempt_ = 0;
  in_flight_ = true;
  sendAttempt();
}

void SpanExporter::sendAttempt() {
  if (!in_flight_) return;
  ++attempt_;
  std::optional<net::Address> address = resolve_ ? resolve_() : std::nullopt;
  if (!address) {
    onPostDone({false, 0, "the collector cluster '" + provider_.cluster + "' has no endpoint"});
    return;
  }
  HttpPostRequest request;
  request.authority = provider_.authority.empty() ? provider_.cluster : provider_.authority;
  request.path = provider_.path.empty() ? std::string(defaultPath(provider_.format)) : provider_.path;
  request.content_type = std::string(contentType(provider_.format));
  request.body = body_;
  post_ = HttpPost::start(dispatcher_, *address, std::move(request), provider_.timeout,
                          [this](HttpPostResult result) { onPostDone(std::move(result)); });
}

void SpanExporter::onPostDone(HttpPostResult result) {
  // We are inside the post's own callback: it dies at the end of the iteration.
  if (post_) dispatcher_.deferredDelete(std::move(post_));
  if (result.ok) {
    counters_.export_requests_ok.inc();
    finishBatch(true);
    return;
  }
  counters_.export_requests_failed.inc();
  if (attempt_ < limits_.max_attempts) {
    retry_timer_->enable(nextBackoff());
  } else {
    finishBatch(false);
  }
}

void SpanExporter::finishBatch(bool exported) {
  if (exported) {
    counters_.spans_exported.inc(batch_spans_);
  } else {
    counters_.spans_dropped_export_failed.inc(batch_spans_);
  }
  in_flight_ = false;
  batch_spans_ = 0;
  body_ = std::string();  // release the batch's memory, not just its length
  // A backlog drains batch after batch instead of one per flush interval.
  if (queuedSpans() >= limits_.max_batch) startExport();
}

std::chrono::milliseconds SpanExporter::nextBackoff() {
  // Equal jitter, as the ADS client's BackoffStrategy: the ceiling doubles
  // per failed attempt up to backoff_max; the delay is drawn from
  // [ceiling/2, ceiling], so sidecars that lost the same collector spread out
  // but never retry at once.
  uint64_t ceiling = static_cast<uint64_t>(limits_.backoff_base.count());
  for (uint32_t i = 1; i < attempt_ && ceiling < static_cast<uint64_t>(limits_.backoff_max.count()); ++i) {
    ceiling *= 2;
  }
  ceiling = std::min(ceiling, static_cast<uint64_t>(limits_.backoff_max.count()));
  const uint64_t floor = ceiling / 2;
  const uint64_t delay = floor + nextRandom() % (ceiling - floor + 1);
  return std::chrono::milliseconds(delay);
}

uint64_t SpanExporter::nextRandom() {
  // splitmix64 (see Tracer): jitter needs spread, not secrecy.
  uint64_t z = (random_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void SpanExporter::shutdown() {
  flush_timer_.reset();
  retry_timer_.reset();
  if (post_) {
    post_->cancel();
    post_.reset();
  }
  in_flight_ = false;
  body_ = std::string();
  takeDropCounts();
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->closed = true;
  shared_->queue.clear();
}

}  // namespace remora::tracing
