#include "proxy/observability/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace remora::observability {

namespace {

void appendSample(std::string& out, std::string_view name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values, std::string_view value,
                  std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  appendLabels(out, label_names, label_values, extra_name, extra_value);
  out += ' ';
  out += value;
  out += '\n';
}

void appendHistogram(std::string& out, const MetricFamily& family, const SeriesSnapshot& series) {
  const std::string bucket_name = family.name + "_bucket";
  for (size_t i = 0; i < series.cumulative_buckets.size(); ++i) {
    bool overflow = i == family.bucket_bounds.size();
    std::string le = overflow ? "+Inf" : formatValue(family.bucket_bounds[i]);
    appendSample(out, bucket_name, family.label_names, series.label_values,
                 std::to_string(series.cumulative_buckets[i]), "le", le);
  }
  appendSample(out, family.name + "_sum", family.label_names, series.label_values, formatValue(series.sum));
  appendSample(out, family.name + "_count", family.label_names, series.label_values, std::to_string(series.count));
}

}  // namespace

std::string formatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Whole numbers (gauges counting things) read best without an exponent;
  // below 1e15 a double holds them exactly.
  if (value == std::trunc(value) && std::fabs(value) < 1e15) return std::to_string(static_cast<int64_t>(value));
  char buffer[64];
  // Shortest round-trip digits in %g style: "0.0005" rather than "5e-04".
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::general);
  if (error != std::errc()) return "NaN";  // cannot happen: 64 bytes hold any double
  return std::string(buffer, end);
}

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

void appendLabels(std::string& out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view extra_name, std::string_view extra_value) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  auto one = [&](std::string_view name, std::string_view value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += escapeLabelValue(value);
    out += '"';
  };
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) one(names[i], values[i]);
  if (!extra_name.empty()) one(extra_name, extra_value);
  out += '}';
}

std::string renderPrometheusText(const StatsSnapshot& snapshot) {
  std::string out;
  for (const FamilySnapshot& entry : snapshot.families) {
    const MetricFamily& family = entry.family;
    out += "# HELP " + family.name + " " + escapeHelp(family.help) + "\n";
    out += "# TYPE " + family.name + " " + std::string(metricTypeName(family.type)) + "\n";
    for (const SeriesSnapshot& series : entry.series) {
      switch (family.type) {
        case MetricType::kCounter:
          appendSample(out, family.name, family.label_names, series.label_values, std::to_string(series.counter));
          break;
        case MetricType::kGauge:
          appendSample(out, family.name, family.label_names, series.label_values, formatValue(series.gauge));
          break;
        case MetricType::kHistogram: appendHistogram(out, family, series); break;
      }
    }
  }
  return out;
}

}  // namespace remora::observability
