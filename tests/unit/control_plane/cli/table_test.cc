#include "control-plane/cli/table.h"

#include <catch2/catch.hpp>

namespace remora::cli {

TEST_CASE("columns are left-aligned, three spaces apart, with no trailing spaces", "[cli][table]") {
  Table table({"NAMESPACE", "NAME", "AGE"});
  table.addRow({"default", "reviews-long-name", "5s"});
  table.addRow({"shop", "a", ""});
  CHECK(table.rows() == 2);
  CHECK(table.render() ==
        "NAMESPACE   NAME                AGE\n"
        "default     reviews-long-name   5s\n"
        "shop        a\n");
}

TEST_CASE("a table without rows is its header line", "[cli][table]") {
  CHECK(Table({"NODE", "LAST SEEN"}).render() == "NODE   LAST SEEN\n");
}

TEST_CASE("missing cells print empty and extra cells are dropped", "[cli][table]") {
  Table table({"A", "B"});
  table.addRow({"1"});
  table.addRow({"2", "3", "4"});
  CHECK(table.render() == "A   B\n1\n2   3\n");
}

TEST_CASE("ages are rounded as kubectl rounds them", "[cli][table]") {
  using std::chrono::seconds;
  CHECK(formatAge(seconds(-5)) == "0s");
  CHECK(formatAge(seconds(45)) == "45s");
  CHECK(formatAge(seconds(119)) == "119s");
  CHECK(formatAge(seconds(192)) == "3m12s");
  CHECK(formatAge(seconds(300)) == "5m");
  CHECK(formatAge(seconds(45 * 60)) == "45m");
  CHECK(formatAge(seconds(5 * 3600 + 120)) == "5h2m");
  CHECK(formatAge(seconds(20 * 3600)) == "20h");
  CHECK(formatAge(seconds(3 * 86400 + 4 * 3600)) == "3d4h");
  CHECK(formatAge(seconds(12 * 86400)) == "12d");
}

TEST_CASE("RFC 3339 timestamps are read, with or without fractions", "[cli][table]") {
  const auto t = parseTimestamp("2024-05-01T12:00:00Z");
  REQUIRE(t.has_value());
  CHECK(std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count() == 1714564800);
  CHECK(parseTimestamp("2024-05-01T12:00:00.250Z").has_value());
  CHECK_FALSE(parseTimestamp("yesterday").has_value());
  CHECK_FALSE(parseTimestamp("").has_value());
  CHECK(ageSince("2024-05-01T12:00:00Z", *t + std::chrono::seconds(90)) == "90s");
  CHECK(ageSince("", *t) == "<unknown>");
}

}  // namespace remora::cli
