// kubectl-style plain-text tables: upper-case headers, columns left-aligned
// and separated by three spaces, no colour, no trailing spaces; and the
// human ages ("45s", "3m12s", "5h", "12d") their AGE columns show.
//
// Values; pure; any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace remora::cli {

using TimePoint = std::chrono::system_clock::time_point;

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

  // Missing cells print empty; extra cells are dropped.
  void addRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // Header line, then one line per row, each ending in '\n'.
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// kubectl's rounding: seconds under 2 minutes, minutes and seconds under 10
// minutes, minutes under 3 hours, hours and minutes under 8 hours, hours
// under 2 days, days and hours under 8 days, then days. Negative (clock
// skew) prints as "0s".
std::string formatAge(std::chrono::seconds age);

// "2024-05-01T12:00:00Z" or with fractions/offsets, as protobuf's Timestamp
// JSON mapping prints them; nullopt when unreadable.
std::optional<TimePoint> parseTimestamp(std::string_view rfc3339);

// formatAge(now - parseTimestamp(t)), or "<unknown>" when t is unreadable.
std::string ageSince(std::string_view rfc3339, TimePoint now);

}  // namespace remora::cli
