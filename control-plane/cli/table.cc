#include "control-plane/cli/table.h"

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>

namespace remora::cli {

void Table::addRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = headers_[c].size();
    for (const auto& row : rows_) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      text += cells[c];
      if (c + 1 < cells.size()) text += std::string(widths[c] - cells[c].size() + 3, ' ');
    }
    // A last column left empty would leave the padding of the one before.
    text.erase(text.find_last_not_of(' ') + 1);
    out += text + "\n";
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
  return out;
}

std::string formatAge(std::chrono::seconds age) {
  const long long s = std::max<long long>(0, age.count());
  const long long m = s / 60, h = s / 3600, d = s / 86400;
  auto str = [](long long n) { return std::to_string(n); };
  if (s < 120) return str(s) + "s";
  if (m < 10) return s % 60 == 0 ? str(m) + "m" : str(m) + "m" + str(s % 60) + "s";
  if (h < 3) return str(m) + "m";
  if (h < 8) return m % 60 == 0 ? str(h) + "h" : str(h) + "h" + str(m % 60) + "m";
  if (h < 48) return str(h) + "h";
  if (d < 8) return h % 24 == 0 ? str(d) + "d" : str(d) + "d" + str(h % 24) + "h";
  return str(d) + "d";
}

std::optional<TimePoint> parseTimestamp(std::string_view rfc3339) {
  google::protobuf::Timestamp ts;
  if (rfc3339.empty() || !google::protobuf::util::TimeUtil::FromString(std::string(rfc3339), &ts)) {
    return std::nullopt;
  }
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::seconds(ts.seconds()) +
                                                                   std::chrono::nanoseconds(ts.nanos())));
}

std::string ageSince(std::string_view rfc3339, TimePoint now) {
  const std::optional<TimePoint> t = parseTimestamp(rfc3339);
  if (!t) return "<unknown>";
  return formatAge(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

}  // namespace remora::cli
