#include "control-plane/store/sqlite/schema_migrations.h"

#include <array>
#include <string>

namespace remora::cp::store::sqlite {
namespace {

// Append only: a released migration never changes, or files migrated by an
// older binary would differ from fresh ones.
constexpr std::array kMigrations = {
    // v1: the objects, the change log the mesh layer replays, and the revision
    // counter. The counter lives in `meta` rather than being max(revision) of
    // the log so the log can later be compacted without reusing revisions.
    Migration{1, R"sql(
CREATE TABLE objects (
  kind TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  resource_version INTEGER NOT NULL,
  uid TEXT NOT NULL,
  created_unix_ms INTEGER NOT NULL,
  updated_unix_ms INTEGER NOT NULL,
  PRIMARY KEY (kind, namespace, name)
) WITHOUT ROWID;
CREATE TABLE changes (
  revision INTEGER PRIMARY KEY,
  type TEXT NOT NULL CHECK (type IN ('put', 'delete')),
  kind TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  resource_version INTEGER NOT NULL,
  uid TEXT NOT NULL,
  created_unix_ms INTEGER NOT NULL,
  updated_unix_ms INTEGER NOT NULL
);
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('revision', 0);
)sql"},
};

base::Status ensureVersionTable(Database& db) {
  return db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
}

}  // namespace

base::Result<int64_t> schemaVersion(Database& db) {
  if (auto created = ensureVersionTable(db); !created) return created;
  auto select = db.prepare("SELECT max(version) FROM schema_version");
  if (!select) return select.status();
  auto row = select->step();
  if (!row) return row.status();
  if (!*row || select->columnIsNull(0)) return int64_t{0};
  return select->columnInt64(0);
}

namespace {

base::Status applyMigration(Database& db, const Migration& migration) {
  if (auto begun = db.exec("BEGIN IMMEDIATE"); !begun) return begun;
  // Read again under the write lock: another process opening the same file
  // may have migrated it since we looked.
  auto current = schemaVersion(db);
  if (current && *current >= migration.version) return db.exec("COMMIT");
  auto status = current ? db.exec(migration.sql) : current.status();
  if (status) status = db.exec("DELETE FROM schema_version");
  if (status) {
    auto insert = db.prepare("INSERT INTO schema_version (version) VALUES (?1)");
    status = insert ? insert->bind(1, migration.version).run() : insert.status();
  }
  if (status) status = db.exec("COMMIT");
  if (!status) {
    // The failure above is what the operator needs; a failed rollback
    // (the transaction already ended) adds nothing.
    (void)db.exec("ROLLBACK");
    return base::fail(status.code(), "schema migration to version " + std::to_string(migration.version) +
                                         " failed: " + status.message());
  }
  return base::Status::ok();
}

}  // namespace

int64_t latestSchemaVersion() { return kMigrations.back().version; }

base::Status migrate(Database& db) {
  auto current = schemaVersion(db);
  if (!current) return current.status();
  if (*current > latestSchemaVersion()) {
    return base::fail(base::Error::kUnsupported,
                      db.path() + ": store schema version " + std::to_string(*current) +
                          " is newer than this binary supports (" + std::to_string(latestSchemaVersion()) +
                          "); run a remora-cp at least as new as the one that wrote it");
  }
  for (const Migration& migration : kMigrations) {
    if (migration.version <= *current) continue;
    if (auto applied = applyMigration(db, migration); !applied) return applied;
  }
  return base::Status::ok();
}

}  // namespace remora::cp::store::sqlite
