#include "proxy/observability/worker_stats.h"

#include <cassert>
#include <functional>

namespace remora::observability {

namespace {

size_t mix(size_t seed, size_t value) { return seed ^ (value + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2)); }

template <typename Strings>
size_t hashKey(const MetricFamily* family, const Strings& values) {
  size_t seed = std::hash<const MetricFamily*>()(family);
  for (const auto& value : values) seed = mix(seed, std::hash<std::string_view>()(value));
  return seed;
}

std::span<const std::string_view> asSpan(std::initializer_list<std::string_view> values) {
  return {values.begin(), values.size()};
}

}  // namespace

size_t WorkerStats::KeyHash::operator()(const Key& key) const noexcept {
  return hashKey(key.family, key.label_values);
}

size_t WorkerStats::KeyHash::operator()(const KeyView& key) const noexcept {
  return hashKey(key.family, key.label_values);
}

bool WorkerStats::KeyEqual::operator()(const Key& a, const Key& b) const noexcept {
  return a.family == b.family && a.label_values == b.label_values;
}

bool WorkerStats::KeyEqual::operator()(const Key& a, const KeyView& b) const noexcept {
  if (a.family != b.family || a.label_values.size() != b.label_values.size()) return false;
  for (size_t i = 0; i < a.label_values.size(); ++i) {
    if (a.label_values[i] != b.label_values[i]) return false;
  }
  return true;
}

Series* WorkerStats::findOrCreate(const MetricFamily* family, MetricType type,
                                  std::span<const std::string_view> label_values) {
  if (family == nullptr) return nullptr;
  assert(family->type == type);
  assert(label_values.size() == family->label_names.size());
  if (family->type != type || label_values.size() != family->label_names.size()) return nullptr;

  if (auto it = index_.find(KeyView{family, label_values}); it != index_.end()) return it->second;

  std::vector<std::string> owned(label_values.begin(), label_values.end());
  Series* series = nullptr;
  {
    // The scraper walks series_ under this lock; the owner's later writes to
    // the new series' values need none.
    std::lock_guard<std::mutex> lock(list_mutex_);
    series = &series_.emplace_back(family, owned);
  }
  index_.emplace(Key{family, std::move(owned)}, series);
  return series;
}

Counter WorkerStats::counter(const CounterFamily& family, std::initializer_list<std::string_view> label_values) {
  return counter(family, asSpan(label_values));
}

Gauge WorkerStats::gauge(const GaugeFamily& family, std::initializer_list<std::string_view> label_values) {
  return gauge(family, asSpan(label_values));
}

Histogram WorkerStats::histogram(const HistogramFamily& family,
                                 std::initializer_list<std::string_view> label_values) {
  return histogram(family, asSpan(label_values));
}

Counter WorkerStats::counter(const CounterFamily& family, std::span<const std::string_view> label_values) {
  return Counter(findOrCreate(family.family(), MetricType::kCounter, label_values));
}

Gauge WorkerStats::gauge(const GaugeFamily& family, std::span<const std::string_view> label_values) {
  return Gauge(findOrCreate(family.family(), MetricType::kGauge, label_values));
}

Histogram WorkerStats::histogram(const HistogramFamily& family, std::span<const std::string_view> label_values) {
  return Histogram(findOrCreate(family.family(), MetricType::kHistogram, label_values));
}

size_t WorkerStats::seriesCount() const {
  std::lock_guard<std::mutex> lock(list_mutex_);
  return series_.size();
}

void WorkerStats::forEachSeries(const std::function<void(const Series&)>& visit) const {
  std::lock_guard<std::mutex> lock(list_mutex_);
  for (const Series& series : series_) visit(series);
}

}  // namespace remora::observability
