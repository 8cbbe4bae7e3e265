// The SQLite store's schema, as an ordered list of migrations, and the code
// that brings a database file up to date. Called once by SqliteStore::open()
// on the thread that opens the store.
//
// The schema_version table holds one row: the version of the last migration
// applied. Migration N takes a database at version N-1 to N inside one
// transaction, so a crash mid-migration leaves the previous version intact.
// A file whose version is newer than this binary knows is refused (an older
// remora-cp must not write to a schema it does not understand).
#pragma once

#include <cstdint>
#include <string_view>

#include "control-plane/store/sqlite/sqlite_database.h"
#include "xds/base/status.h"

namespace remora::cp::store::sqlite {

struct Migration {
  int64_t version;
  std::string_view sql;
};

// The version this binary writes: the last migration's.
int64_t latestSchemaVersion();

// The schema version recorded in `db` (0 for an empty file).
base::Result<int64_t> schemaVersion(Database& db);

// Applies every migration newer than the file's version, in order.
// kUnsupported when the file's version is newer than latestSchemaVersion().
base::Status migrate(Database& db);

}  // namespace remora::cp::store::sqlite
