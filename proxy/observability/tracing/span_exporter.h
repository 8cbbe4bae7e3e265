// SpanExporter: the one SpanSink of the proxy. Workers' Tracers submit
// spans into a bounded queue; the main thread batches them and POSTs each
// batch to the collector (OTLP/HTTP protobuf or Zipkin v2 JSON, per the
// provider), one request in flight at a time, retrying a failed POST with
// jittered exponential backoff. Spans that do not fit the queue, or whose
// batch exhausted its attempts, are dropped and counted: a collector that
// is down or slow costs requests nothing and memory stays bounded
// (max_queued_spans queued + one batch in flight).
//
// Threads: constructed, driven and destroyed on the main thread (its
// dispatcher); submit() is safe from any thread, but the owner destroys the
// exporter only after every worker that may call submit() has stopped. The Counter handles are
// written on the main thread only (they are single-writer): drops seen in
// submit() are tallied under the queue's mutex and moved to the counter by
// the main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "proxy/net/address.h"
#include "proxy/net/dispatcher.h"
#include "proxy/observability/metric.h"
#include "proxy/observability/tracing/http_post.h"
#include "proxy/observability/tracing/span.h"
#include "xds/resources/model.h"

namespace remora::tracing {

// remora_tracing_spans_total{result} and remora_tracing_export_requests_total{result}.
struct ExporterCounters {
  observability::Counter spans_exported;
  observability::Counter spans_dropped_queue_full;
  observability::Counter spans_dropped_export_failed;
  observability::Counter export_requests_ok;
  observability::Counter export_requests_failed;  // every failed POST, retries included
};

struct ExporterLimits {
  size_t max_queued_spans = 2048;
  size_t max_batch = 512;
  std::chrono::milliseconds flush_interval{1000};
  uint32_t max_attempts = 3;  // POSTs per batch, the first included
  std::chrono::milliseconds backoff_base{100};
  std::chrono::milliseconds backoff_max{2000};
};

class SpanExporter final : public SpanSink {
 public:
  // Where the collector is right now: an endpoint of provider.cluster, or
  // nullopt when it has none (the attempt fails and is retried).
  using ResolveFn = std::function<std::optional<net::Address>()>;

  // Starts the flush timer. `seed` drives the backoff jitter.
  SpanExporter(net::Dispatcher& dispatcher, xds::resources::TracingProvider provider, std::string service_name,
               ResolveFn resolve, ExporterCounters counters, ExporterLimits limits = {}, uint64_t seed = 1);
  // Cancels an export in flight; queued spans are discarded uncounted.
  ~SpanExporter() override;
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  // Any thread. Queues what fits; the rest is dropped (counted). Wakes the
  // main thread once a full batch is waiting.
  void submit(std::vector<SpanData> spans) override;

  // Main thread: starts an export now if none is in flight and spans wait
  // (tests, and a final best-effort flush before shutdown()).
  void flush();
  // Main thread: stops the timers and cancels an export in flight; later
  // submits are dropped (counted as queue full).
  void shutdown();

  // Spans waiting (not counting a batch in flight). Any thread.
  size_t queuedSpans() const;
  bool exportInFlight() const { return in_flight_; }

 private:
  // The part workers touch, shared with posted wake-ups so a wake-up that
  // runs after the exporter is gone finds `exporter` null instead of a
  // dangling pointer (it runs on the main thread, as does the destructor).
  struct Shared {
    mutable std::mutex mutex;
    std::deque<SpanData> queue;      // guarded by mutex
    uint64_t dropped_queue_full = 0;  // guarded by mutex; moved to the counter on the main thread
    bool wake_pending = false;        // guarded by mutex
    bool closed = false;              // guarded by mutex
    SpanExporter* exporter = nullptr;  // main thread only
  };

  void onWake();
  void onFlushTimer();
  void takeDropCounts();
  void startExport();
  void sendAttempt();
  void onPostDone(HttpPostResult result);
  void finishBatch(bool exported);
  std::chrono::milliseconds nextBackoff();
  uint64_t nextRandom();

  net::Dispatcher& dispatcher_;
  const xds::resources::TracingProvider provider_;
  const std::string service_name_;
  const ResolveFn resolve_;
  const ExporterCounters counters_;
  const ExporterLimits limits_;
  uint64_t random_state_;
  std::shared_ptr<Shared> shared_;

  // The batch in flight (main thread).
  bool in_flight_ = false;
  std::string body_;
  size_t batch_spans_ = 0;
  uint32_t attempt_ = 0;
  std::unique_ptr<HttpPost> post_;

  net::TimerPtr flush_timer_;
  net::TimerPtr retry_timer_;
};

}  // namespace remora::tracing
