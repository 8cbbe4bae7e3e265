#include "proxy/observability/metric_family.h"

#include <cmath>

namespace remora::observability {

using base::Error;
using base::fail;
using base::Status;

namespace {

bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string_view metricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

std::vector<double> defaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

bool isValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = isAlpha(c) || c == '_' || c == ':' || (i > 0 && isDigit(c));
    if (!ok) return false;
  }
  return true;
}

bool isValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = isAlpha(c) || c == '_' || (i > 0 && isDigit(c));
    if (!ok) return false;
  }
  return true;
}

Status validateFamily(const MetricFamily& family) {
  std::string where = "metric '" + family.name + "'";
  if (!isValidMetricName(family.name)) return fail(Error::kInvalidArgument, where + ": invalid metric name");
  for (size_t i = 0; i < family.label_names.size(); ++i) {
    const std::string& label = family.label_names[i];
    if (!isValidLabelName(label)) {
      return fail(Error::kInvalidArgument, where + ": invalid label name '" + label + "'");
    }
    if (family.type == MetricType::kHistogram && label == "le") {
      return fail(Error::kInvalidArgument, where + ": a histogram may not use the label 'le'");
    }
    for (size_t j = 0; j < i; ++j) {
      if (family.label_names[j] == label) {
        return fail(Error::kAlreadyExists, where + ": label '" + label + "' is listed twice");
      }
    }
  }
  if (family.type == MetricType::kHistogram) {
    if (family.bucket_bounds.empty()) return fail(Error::kInvalidArgument, where + ": no bucket bounds");
    for (size_t i = 0; i < family.bucket_bounds.size(); ++i) {
      double bound = family.bucket_bounds[i];
      // +Inf is implied; an explicit one would print a second le="+Inf" bucket.
      if (!std::isfinite(bound)) {
        return fail(Error::kInvalidArgument, where + ": bucket bounds must be finite (+Inf is implied)");
      }
      if (i > 0 && bound <= family.bucket_bounds[i - 1]) {
        return fail(Error::kInvalidArgument, where + ": bucket bounds must increase strictly");
      }
    }
  } else if (!family.bucket_bounds.empty()) {
    return fail(Error::kInvalidArgument, where + ": only histograms have bucket bounds");
  }
  return Status::ok();
}

std::vector<std::string> sampleNames(const MetricFamily& family) {
  if (family.type != MetricType::kHistogram) return {family.name};
  return {family.name, family.name + "_bucket", family.name + "_sum", family.name + "_count"};
}

}  // namespace remora::observability
