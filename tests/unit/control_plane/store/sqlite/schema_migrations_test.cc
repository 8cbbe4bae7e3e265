#include "control-plane/store/sqlite/schema_migrations.h"

#include <catch2/catch.hpp>

#include "control-plane/store/sqlite/sqlite_store.h"
#include "tests/integration/harness/temp_dir.h"

using remora::base::Error;
using remora::cp::store::sqlite::Database;
using remora::cp::store::sqlite::latestSchemaVersion;
using remora::cp::store::sqlite::migrate;
using remora::cp::store::sqlite::schemaVersion;
using remora::cp::store::sqlite::SqliteStore;
using remora::harness::TempDir;

TEST_CASE("migrating an empty file creates the latest schema", "[cp][store][sqlite]") {
  TempDir dir("remora-store");
  auto db = Database::open(dir.file("store.db"));
  REQUIRE(db);
  CHECK(*schemaVersion(**db) == 0);
  REQUIRE(migrate(**db));
  CHECK(*schemaVersion(**db) == latestSchemaVersion());
  // v1's tables are there and the revision counter starts at zero.
  REQUIRE((*db)->exec("SELECT count(*) FROM objects; SELECT count(*) FROM changes"));
  auto counter = (*db)->prepare("SELECT value FROM meta WHERE key = 'revision'");
  REQUIRE(counter);
  REQUIRE(*counter->step());
  CHECK(counter->columnInt64(0) == 0);
}

TEST_CASE("migrating an up-to-date file changes nothing", "[cp][store][sqlite]") {
  TempDir dir("remora-store");
  auto db = Database::open(dir.file("store.db"));
  REQUIRE(db);
  REQUIRE(migrate(**db));
  REQUIRE((*db)->exec("UPDATE meta SET value = 41 WHERE key = 'revision'"));
  REQUIRE(migrate(**db));
  CHECK(*schemaVersion(**db) == latestSchemaVersion());
  auto counter = (*db)->prepare("SELECT value FROM meta WHERE key = 'revision'");
  REQUIRE(counter);
  REQUIRE(*counter->step());
  CHECK(counter->columnInt64(0) == 41);
  auto rows = (*db)->prepare("SELECT count(*) FROM schema_version");
  REQUIRE(rows);
  REQUIRE(*rows->step());
  CHECK(rows->columnInt64(0) == 1);
}

TEST_CASE("a schema version newer than the binary is refused", "[cp][store][sqlite]") {
  TempDir dir("remora-store");
  const std::string path = dir.file("store.db");
  {
    auto db = Database::open(path);
    REQUIRE(db);
    REQUIRE(migrate(**db));
    REQUIRE((*db)->exec("UPDATE schema_version SET version = " + std::to_string(latestSchemaVersion() + 1)));
    auto status = migrate(**db);
    REQUIRE_FALSE(status);
    CHECK(status.code() == Error::kUnsupported);
    CHECK_THAT(status.message(), Catch::Contains("schema version " + std::to_string(latestSchemaVersion() + 1) +
                                                 " is newer than this binary supports (" +
                                                 std::to_string(latestSchemaVersion()) + ")"));
  }
  auto store = SqliteStore::open(path);
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Error::kUnsupported);
  CHECK_THAT(store.error().message, Catch::Contains(path));
}
