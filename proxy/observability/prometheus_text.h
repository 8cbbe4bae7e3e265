// Prometheus text exposition format 0.0.4 for a StatsSnapshot: what the
// admin endpoint serves at /stats/prometheus (Content-Type
// "text/plain; version=0.0.4"). Pure functions; any thread.
//
// Output per family: "# HELP", "# TYPE", then its samples; counters carry
// their _total name; histograms print cumulative name_bucket{le="..."} lines
// ending with le="+Inf", then name_sum and name_count. `promtool check
// metrics` accepts it (tested).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/observability/stats_snapshot.h"

namespace remora::observability {

std::string renderPrometheusText(const StatsSnapshot& snapshot);

// The text of a value as Prometheus reads it: shortest round-trip decimal,
// "NaN", "+Inf", "-Inf".
std::string formatValue(double value);

// Label values escape backslash, double quote and newline; HELP text
// escapes backslash and newline.
std::string escapeLabelValue(std::string_view value);
std::string escapeHelp(std::string_view help);

// Appends {name="value",...} (nothing for no labels), plus one extra label
// last when extra_name is not empty (a histogram's le).
void appendLabels(std::string& out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view extra_name = {}, std::string_view extra_value = {});

}  // namespace remora::observability
