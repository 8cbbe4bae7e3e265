#include "tests/bench/cp_load/load_driver.h"

#include <cstdio>
#include <sstream>
#include <thread>

#include "tests/bench/cp_load/ads_load_stream.h"
#include "tests/bench/cp_load/delta_load_stream.h"

namespace remora::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPoll = std::chrono::milliseconds(2);

constexpr const char* kIdlePhase = "proxies synced, idle";

double mib(uint64_t kib) { return static_cast<double>(kib) / 1024.0; }

}  // namespace

LoadDriver::LoadDriver(LoadOptions options)
    : options_(std::move(options)),
      state_(options_.proxies, options_.writes),
      write_salt_(static_cast<int>(nowNs() / 1000000 % 50000)) {}

LoadDriver::~LoadDriver() { stopStreams(); }

int LoadDriver::run() {
  auto api = MeshApi::connect(options_.api_address, options_.token, options_.timeout);
  if (!api) {
    std::fprintf(stderr, "remora-cp-load: %s\n", api.error().message.c_str());
    return 2;
  }
  api_ = std::move(*api);
  sample("start");
  if (base::Status created = options_.no_create ? base::Status::ok() : createMesh(); !created.has_value()) {
    std::fprintf(stderr, "remora-cp-load: creating the mesh: %s\n", created.message().c_str());
    return 1;
  }
  sample("mesh created, no proxies");

  const double cpu_before_sync = ownCpuSeconds();
  const bool all_synced = connectAndSync();
  tool_cpu_sync_ = ownCpuSeconds() - cpu_before_sync;
  settle();
  sample(kIdlePhase);
  uint64_t bytes_after_sync = 0;
  for (int i = 0; i < options_.proxies; ++i) {
    bytes_after_sync += state_.proxy(i).bytes;
    for (int type = 0; type < 4; ++type) {
      initial_type_bytes_avg_[type] += static_cast<double>(state_.proxy(i).type_bytes[type]) / options_.proxies;
    }
  }
  initial_bytes_avg_ = static_cast<double>(bytes_after_sync) / options_.proxies;

  std::vector<WriteResult> writes;
  bool all_seen = all_synced;
  if (all_synced) {
    const double cpu_before_writes = ownCpuSeconds();
    for (int k = 0; k < options_.writes; ++k) {
      writes.push_back(write(k));
      all_seen = all_seen && writes.back().seen == options_.proxies;
      if (writes.back().seen == 0) break;  // nothing arrives: no point in more
    }
    tool_cpu_writes_ = ownCpuSeconds() - cpu_before_writes;
    sample("after writes");
  }
  uint64_t bytes_total = 0;
  for (int i = 0; i < options_.proxies; ++i) {
    bytes_total += state_.proxy(i).bytes;
    max_response_bytes_ = std::max<uint64_t>(max_response_bytes_, state_.proxy(i).max_response_bytes);
  }
  if (!writes.empty()) {
    write_bytes_avg_ = static_cast<double>(bytes_total - bytes_after_sync) / options_.proxies /
                       static_cast<double>(writes.size());
  }
  printSummary(writes);
  stopStreams();
  return all_synced && all_seen && static_cast<int>(writes.size()) == options_.writes ? 0 : 1;
}

base::Status LoadDriver::createMesh() {
  const auto started = Clock::now();
  for (int first = 0; first < options_.services; first += options_.services_per_apply) {
    nlohmann::json items = nlohmann::json::array();
    const int last = std::min(options_.services, first + options_.services_per_apply);
    for (int s = first; s < last; ++s) items.push_back(serviceObject(s));
    for (int s = first; s < last; ++s) {
      for (int e = 0; e < options_.endpoints_per_service; ++e) items.push_back(endpointObject(s, e, initialAddress(s, e)));
    }
    if (base::Status applied = api_->apply(items); !applied.has_value()) return applied;
  }
  create_seconds_ = std::chrono::duration<double>(Clock::now() - started).count();
  return base::Status::ok();
}

bool LoadDriver::connectAndSync() {
  const int64_t started = nowNs();
  for (int i = 0; i < options_.proxies; ++i) {
    std::unique_ptr<SimulatedProxy> stream;
    if (options_.delta) {
      stream = std::make_unique<DeltaLoadStream>(i, state_, names_);
    } else {
      stream = std::make_unique<AdsLoadStream>(i, state_, names_);
    }
    stream->start(options_.xds_address, options_.services);
    streams_.push_back(std::move(stream));
  }
  const auto deadline = Clock::now() + options_.timeout;
  int synced = 0;
  while (Clock::now() < deadline) {
    synced = 0;
    for (int i = 0; i < options_.proxies; ++i) synced += state_.proxy(i).synced_ns != 0 ? 1 : 0;
    if (synced == options_.proxies) break;
    std::this_thread::sleep_for(kPoll);
  }
  synced_ = synced;
  std::vector<double> seconds;
  for (int i = 0; i < options_.proxies; ++i) {
    const int64_t at = state_.proxy(i).synced_ns;
    if (at != 0) seconds.push_back(static_cast<double>(at - started) / 1e9);
  }
  sync_seconds_ = percentile(seconds, 100);
  sync_p50_seconds_ = percentile(seconds, 50);
  return synced == options_.proxies;
}

// Waits until no response has arrived for a second (the control plane has
// pushed everything the connections caused), so "idle" means idle.
void LoadDriver::settle() {
  const auto deadline = Clock::now() + options_.timeout;
  uint64_t last = 0;
  auto quiet_since = Clock::now();
  while (Clock::now() < deadline) {
    uint64_t responses = 0;
    for (int i = 0; i < options_.proxies; ++i) responses += state_.proxy(i).responses;
    if (responses != last) {
      last = responses;
      quiet_since = Clock::now();
    } else if (Clock::now() - quiet_since >= std::chrono::seconds(1)) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

LoadDriver::WriteResult LoadDriver::write(int index) {
  WriteResult out;
  // Spread the writes over the mesh rather than hammering one service.
  out.service = static_cast<int>((static_cast<int64_t>(index) * 389 + 17) % options_.services);
  // Offset by a per-run salt so a rerun against the same store (--no-create)
  // never "writes" an address the endpoint already has from the last run.
  const std::string address = writeAddress(write_salt_ + index);
  state_.setWatch(std::make_shared<const WriteWatch>(WriteWatch{index, address}));

  const int64_t sent = nowNs();
  base::Status put = api_->put("endpoints", endpointName(out.service, 0), endpointObject(out.service, 0, address));
  const int64_t answered = nowNs();
  out.api_ms = static_cast<double>(answered - sent) / 1e6;
  if (!put.has_value()) {
    std::fprintf(stderr, "remora-cp-load: write %d: %s\n", index, put.message().c_str());
    return out;
  }
  const auto deadline = Clock::now() + options_.timeout;
  const auto slot = static_cast<size_t>(index);
  while (true) {
    int seen = 0;
    for (int i = 0; i < options_.proxies; ++i) seen += state_.proxy(i).seen_ns[slot] != 0 ? 1 : 0;
    out.seen = seen;
    if (seen == options_.proxies || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPoll);
  }
  for (int i = 0; i < options_.proxies; ++i) {
    const int64_t at = state_.proxy(i).seen_ns[slot];
    // A proxy may hear of the write a little before the HTTP answer reaches
    // us; such a proxy counts as 0 ms.
    if (at != 0) out.latencies_ms.push_back(std::max(0.0, static_cast<double>(at - answered) / 1e6));
  }
  out.p50_ms = percentile(out.latencies_ms, 50);
  out.max_ms = percentile(out.latencies_ms, 100);
  std::printf("write %2d: svc %s api %.1f ms, proxies %d/%d, p50 %.1f ms, max %.1f ms\n", index,
              serviceName(out.service).c_str(), out.api_ms, out.seen, options_.proxies, out.p50_ms, out.max_ms);
  std::fflush(stdout);
  // Let the pushes of this write finish before the next one is timed.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  return out;
}

void LoadDriver::stopStreams() {
  if (streams_.empty()) return;
  for (auto& stream : streams_) stream->cancel();
  const int count = static_cast<int>(streams_.size());
  if (state_.waitEnded(count, Clock::now() + std::chrono::seconds(10))) {
    streams_.clear();
  } else {
    // A stream gRPC has not finished may still call into its reactor:
    // leaking it beats a use after free at exit.
    std::fprintf(stderr, "remora-cp-load: %d of %d streams did not end; leaving them\n", count - state_.ended(), count);
    for (auto& stream : streams_) (void)stream.release();
    streams_.clear();
  }
}

void LoadDriver::sample(const char* phase) {
  if (options_.cp_pid == 0) return;
  if (auto cp = sampleProcess(options_.cp_pid)) samples_.emplace_back(phase, *cp);
}

void LoadDriver::printSummary(const std::vector<WriteResult>& writes) {
  std::vector<double> all_max;
  std::vector<double> every;
  std::vector<double> api;
  for (const auto& w : writes) {
    if (w.seen == options_.proxies) all_max.push_back(w.max_ms);
    every.insert(every.end(), w.latencies_ms.begin(), w.latencies_ms.end());
    api.push_back(w.api_ms);
  }
  std::printf("\n== remora-cp-load summary ==\n");
  std::printf("mode: %s\n", options_.delta ? "delta" : "state of the world");
  std::printf("proxies: %d\nservices: %d (%d endpoints each)\n", options_.proxies, options_.services,
              options_.endpoints_per_service);
  std::printf("mesh creation through the API: %.2f s\n", create_seconds_);
  std::printf("initial sync: %d/%d proxies, all in %.2f s (p50 proxy %.2f s)\n", synced_, options_.proxies,
              sync_seconds_, sync_p50_seconds_);
  if (synced_ < options_.proxies) {
    int stage_counts[4] = {0, 0, 0, 0};
    for (int i = 0; i < options_.proxies; ++i) {
      const unsigned stages = state_.proxy(i).stages;
      for (int bit = 0; bit < 4; ++bit) stage_counts[bit] += (stages >> bit) & 1U;
    }
    std::printf("  not synced; proxies with listeners %d, clusters %d, all routes %d, all assignments %d, ended %d\n",
                stage_counts[0], stage_counts[1], stage_counts[2], stage_counts[3], state_.ended());
  }
  std::printf("writes completed (every proxy has it): %zu/%zu\n", all_max.size(), writes.size());
  std::printf("write->all: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", percentile(all_max, 50), percentile(all_max, 99),
              percentile(all_max, 100));
  std::printf("write->each proxy: p50 %.1f ms, p99 %.1f ms\n", percentile(every, 50), percentile(every, 99));
  std::printf("API write answered: p50 %.1f ms, max %.1f ms\n", percentile(api, 50), percentile(api, 100));
  std::printf("bytes received per proxy: initial %.1f KiB, per write %.1f KiB, largest response %.1f KiB\n",
              initial_bytes_avg_ / 1024, write_bytes_avg_ / 1024, static_cast<double>(max_response_bytes_) / 1024);
  std::printf("initial bytes per proxy by type: listeners %.1f KiB, clusters %.1f KiB, routes %.1f KiB, "
              "assignments %.1f KiB\n",
              initial_type_bytes_avg_[0] / 1024, initial_type_bytes_avg_[1] / 1024, initial_type_bytes_avg_[2] / 1024,
              initial_type_bytes_avg_[3] / 1024);
  std::printf("load tool CPU: sync %.1f s, writes %.1f s\n", tool_cpu_sync_, tool_cpu_writes_);
  if (!samples_.empty()) {
    for (size_t i = 0; i < samples_.size(); ++i) {
      const auto& [phase, s] = samples_[i];
      const double cpu = i == 0 ? 0 : s.cpu_seconds - samples_[i - 1].second.cpu_seconds;
      std::printf("remora-cp %-26s VmRSS %.1f MiB, VmHWM %.1f MiB, threads %d, CPU +%.1f s\n", (phase + ":").c_str(),
                  mib(s.rss_kib), mib(s.hwm_kib), s.threads, cpu);
    }
    uint64_t idle_kib = 0;
    for (const auto& [phase, s] : samples_) {
      if (phase == kIdlePhase) idle_kib = s.rss_kib;
    }
    std::printf("remora-cp RSS: idle %.1f MiB, peak %.1f MiB\n", mib(idle_kib), mib(samples_.back().second.hwm_kib));
  }
  // The control plane's own account of its snapshot builds, when it has one.
  if (auto metrics = api_->get("/metrics")) {
    std::istringstream lines(*metrics);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("remora_cp_snapshot_build", 0) == 0 || line.rfind("remora_cp_proxies_connected", 0) == 0) {
        std::printf("metric %s\n", line.c_str());
      }
    }
  }
  for (const auto& error : state_.errors()) std::printf("stream ended: %s\n", error.c_str());
  std::fflush(stdout);
}

}  // namespace remora::bench
