#include "control-plane/store/sqlite/sqlite_database.h"

#include <catch2/catch.hpp>

#include "tests/integration/harness/temp_dir.h"

using remora::base::Error;
using remora::cp::store::sqlite::Database;
using remora::harness::TempDir;

TEST_CASE("a statement binds parameters and reads back rows", "[cp][store][sqlite]") {
  TempDir dir("remora-store");
  auto db = Database::open(dir.file("t.db"));
  REQUIRE(db);
  REQUIRE((*db)->exec("CREATE TABLE t (a TEXT, b INTEGER)"));
  auto insert = (*db)->prepare("INSERT INTO t VALUES (?1, ?2)");
  REQUIRE(insert);
  REQUIRE(insert->bind(1, std::string_view("x\0y", 3)).bind(2, int64_t{1} << 40).run());

  auto select = (*db)->prepare("SELECT a, b, NULL FROM t");
  REQUIRE(select);
  auto row = select->step();
  REQUIRE(row);
  REQUIRE(*row);
  CHECK(select->columnText(0) == std::string("x\0y", 3));
  CHECK(select->columnInt64(1) == int64_t{1} << 40);
  CHECK(select->columnIsNull(2));
  auto end = select->step();
  REQUIRE(end);
  CHECK_FALSE(*end);
}

TEST_CASE("a failing statement reports sqlite's message as an io error", "[cp][store][sqlite]") {
  TempDir dir("remora-store");
  auto db = Database::open(dir.file("t.db"));
  REQUIRE(db);
  auto status = (*db)->exec("SELECT * FROM missing_table");
  REQUIRE_FALSE(status);
  CHECK(status.code() == Error::kIo);
  CHECK_THAT(status.message(), Catch::Contains("no such table: missing_table"));
  CHECK_THAT(status.message(), Catch::Contains(dir.file("t.db")));
}

TEST_CASE("opening a path in a missing directory fails with an io error", "[cp][store][sqlite]") {
  TempDir dir("remora-store");
  auto db = Database::open(dir.file("no/such/dir/t.db"));
  REQUIRE_FALSE(db);
  CHECK(db.error().code == Error::kIo);
}
