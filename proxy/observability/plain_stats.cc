#include "proxy/observability/plain_stats.h"

#include <algorithm>
#include <vector>

#include "proxy/observability/prometheus_text.h"

namespace remora::observability {

namespace {

std::string line(std::string_view name, const MetricFamily& family, const SeriesSnapshot& series,
                 std::string_view value) {
  std::string out(name);
  appendLabels(out, family.label_names, series.label_values);
  out += ": ";
  out += value;
  return out;
}

}  // namespace

std::string renderPlainStats(const StatsSnapshot& snapshot) {
  std::vector<std::string> lines;
  for (const FamilySnapshot& entry : snapshot.families) {
    const MetricFamily& family = entry.family;
    for (const SeriesSnapshot& series : entry.series) {
      switch (family.type) {
        case MetricType::kCounter:
          lines.push_back(line(family.name, family, series, std::to_string(series.counter)));
          break;
        case MetricType::kGauge:
          lines.push_back(line(family.name, family, series, formatValue(series.gauge)));
          break;
        case MetricType::kHistogram:
          lines.push_back(line(family.name + "_count", family, series, std::to_string(series.count)));
          lines.push_back(line(family.name + "_sum", family, series, formatValue(series.sum)));
          break;
      }
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

}  // namespace remora::observability
