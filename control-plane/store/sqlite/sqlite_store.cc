#include "control-plane/store/sqlite/sqlite_store.h"

#include <charconv>
#include <cstdio>

#include "control-plane/store/sqlite/schema_migrations.h"

namespace remora::cp::store::sqlite {
namespace {

constexpr std::string_view kObjectColumns =
    "kind, namespace, name, spec_json, resource_version, uid, created_unix_ms, updated_unix_ms";

// Reads the kObjectColumns of the current row, starting at column `first`.
StoredObject readObject(const Statement& row, int first) {
  StoredObject object;
  object.key.kind = row.columnText(first);
  object.key.namespace_ = row.columnText(first + 1);
  object.key.name = row.columnText(first + 2);
  object.spec_json = row.columnText(first + 3);
  object.resource_version = static_cast<uint64_t>(row.columnInt64(first + 4));
  object.uid = row.columnText(first + 5);
  object.created_unix_ms = row.columnInt64(first + 6);
  object.updated_unix_ms = row.columnInt64(first + 7);
  return object;
}

// Binds an object to parameters first..first+7, in kObjectColumns order.
void bindObject(Statement& statement, int first, const StoredObject& object) {
  statement.bind(first, object.key.kind)
      .bind(first + 1, object.key.namespace_)
      .bind(first + 2, object.key.name)
      .bind(first + 3, object.spec_json)
      .bind(first + 4, static_cast<int64_t>(object.resource_version))
      .bind(first + 5, object.uid)
      .bind(first + 6, object.created_unix_ms)
      .bind(first + 7, object.updated_unix_ms);
}

// The first column of the first row as text ("" when there is no row).
base::Result<std::string> firstText(Database& db, std::string_view sql) {
  auto statement = db.prepare(sql);
  if (!statement) return statement.status();
  auto row = statement->step();
  if (!row) return row.status();
  return *row ? statement->columnText(0) : std::string();
}

base::Status validateKey(const ObjectKey& key) {
  if (key.kind.empty()) return base::fail(base::Error::kInvalidArgument, "object key: kind is empty");
  if (key.name.empty()) {
    return base::fail(base::Error::kInvalidArgument, describeKey(key) + ": name is empty");
  }
  return base::Status::ok();
}

base::Failure notFound(const ObjectKey& key) {
  return base::fail(base::Error::kNotFound, describeKey(key) + " not found");
}

// expected 0 means unconditional; otherwise it must match, as etcd's
// compare-and-swap on mod_revision does.
base::Status checkVersion(const StoredObject& current, uint64_t expected) {
  if (expected == 0 || expected == current.resource_version) return base::Status::ok();
  return base::fail(base::Error::kConflict, describeKey(current.key) + ": resource version " +
                                                std::to_string(expected) + " is stale (current " +
                                                std::to_string(current.resource_version) + ")");
}

}  // namespace

base::Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                             SqliteStoreOptions options) {
  if (!options.now_unix_ms) options.now_unix_ms = systemNowUnixMs;
  if (!options.new_uid) options.new_uid = randomUuid;
  auto db = Database::open(path);
  if (!db) return db.status();
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(*db), std::move(options)));
  if (auto configured = store->configure(); !configured) {
    return base::fail(configured.code(), "refusing to open the store (the file is left untouched): " +
                                             configured.message());
  }
  return store;
}

base::Status SqliteStore::configure() {
  if (auto s = db_->exec("PRAGMA busy_timeout = " + std::to_string(options_.busy_timeout.count())); !s) {
    return s;
  }
  // The first statement that reads the file: a file that is not SQLite
  // fails here ("file is not a database").
  auto journal = firstText(*db_, "PRAGMA journal_mode = WAL");
  if (!journal) return journal.status();
  // An in-memory database (tests only) reports "memory" and cannot use WAL.
  if (*journal != "wal" && !(db_->path() == ":memory:" && *journal == "memory")) {
    return base::fail(base::Error::kIo, "journal_mode is \"" + *journal +
                                            "\", not \"wal\" (does the file system support shared memory?)");
  }
  if (auto s = db_->exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON"); !s) return s;
  // quick_check reads every page once (milliseconds for a mesh's worth of
  // objects) and catches a damaged file before we write into it.
  auto check = firstText(*db_, "PRAGMA quick_check");
  if (!check) return check.status();
  if (*check != "ok") return base::fail(base::Error::kIo, "the file is corrupt: " + *check);

  if (auto migrated = migrate(*db_); !migrated) return migrated;
  auto counter = firstText(*db_, "SELECT value FROM meta WHERE key = 'revision'");
  if (!counter) return counter.status();
  const auto parsed = std::from_chars(counter->data(), counter->data() + counter->size(), revision_);
  if (counter->empty() || parsed.ec != std::errc()) {
    return base::fail(base::Error::kIo, "the revision counter in table meta is missing or not a number");
  }
  return base::Status::ok();
}

base::Result<StoredObject> SqliteStore::create(const ObjectKey& key, std::string spec_json) {
  const Write write{Write::Type::kCreate, key, std::move(spec_json), 0};
  auto results = commit({&write, 1});
  if (!results) return results.status();
  return std::move(results->front());
}

base::Result<StoredObject> SqliteStore::put(const ObjectKey& key, std::string spec_json,
                                            uint64_t expected_version) {
  const Write write{Write::Type::kPut, key, std::move(spec_json), expected_version};
  auto results = commit({&write, 1});
  if (!results) return results.status();
  return std::move(results->front());
}

base::Status SqliteStore::remove(const ObjectKey& key, uint64_t expected_version) {
  const Write write{Write::Type::kDelete, key, "", expected_version};
  return commit({&write, 1}).status();
}

base::Status SqliteStore::transaction(const std::vector<Write>& writes) {
  return commit(writes).status();
}

base::Status SqliteStore::restore(const std::vector<StoredObject>& objects) {
  std::vector<Change> changes;
  uint64_t ticket = 0;
  {
    std::lock_guard lock(mutex_);
    if (auto begun = db_->exec("BEGIN IMMEDIATE"); !begun) return begun;
    base::Status status = restoreLocked(objects, changes);
    if (status) status = db_->exec("COMMIT");
    if (!status) {
      (void)db_->exec("ROLLBACK");
      return status;
    }
    if (changes.empty()) return base::Status::ok();
    revision_ = changes.back().revision;
    ticket = next_ticket_++;
  }
  notify(ticket, changes);
  return base::Status::ok();
}

base::Status SqliteStore::restoreLocked(const std::vector<StoredObject>& objects, std::vector<Change>& changes) {
  // Counted inside the write transaction, so no write can slip in between
  // the check and the import.
  auto count = firstText(*db_, "SELECT COUNT(*) FROM objects");
  if (!count) return count.status();
  if (*count != "0") {
    return base::fail(base::Error::kConflict, "store is not empty: it holds " + *count +
                                                  " objects; an import needs an empty store");
  }
  for (size_t i = 0; i < objects.size(); ++i) {
    const StoredObject& source = objects[i];
    const std::string where = "objects[" + std::to_string(i) + "]: ";
    if (auto valid = validateKey(source.key); !valid) return base::fail(valid.code(), where + valid.message());
    auto existing = load(source.key);
    if (!existing) return existing.status();
    if (existing->has_value()) {
      return base::fail(base::Error::kInvalidArgument, where + describeKey(source.key) + " appears twice");
    }
    auto revision = nextRevision();
    if (!revision) return revision.status();
    StoredObject object = source;
    // The uid and timestamps are the object's history and travel with it;
    // the version is this store's, so later compare-and-swaps line up with
    // its own counter.
    if (object.uid.empty()) object.uid = options_.new_uid();
    object.resource_version = *revision;
    if (auto s = saveObject(object); !s) return s;
    Change change{Change::Type::kPut, object, *revision};
    if (auto s = logChange(change); !s) return s;
    changes.push_back(std::move(change));
  }
  return base::Status::ok();
}

base::Result<StoredObject> SqliteStore::get(const ObjectKey& key) {
  std::lock_guard lock(mutex_);
  auto object = load(key);
  if (!object) return object.status();
  if (!object->has_value()) return notFound(key);
  return std::move(**object);
}

base::Result<std::vector<StoredObject>> SqliteStore::list(std::string_view kind, std::string_view namespace_) {
  // Separate statements rather than "(?1 = '' OR kind = ?1)", which would
  // keep SQLite from using the primary key's index.
  std::string sql = "SELECT " + std::string(kObjectColumns) + " FROM objects";
  if (!kind.empty() && !namespace_.empty()) {
    sql += " WHERE kind = ?1 AND namespace = ?2";
  } else if (!kind.empty()) {
    sql += " WHERE kind = ?1";
  } else if (!namespace_.empty()) {
    sql += " WHERE namespace = ?2";
  }
  sql += " ORDER BY kind, namespace, name";

  std::lock_guard lock(mutex_);
  auto select = db_->prepare(sql);
  if (!select) return select.status();
  if (!kind.empty()) select->bind(1, kind);
  if (!namespace_.empty()) select->bind(2, namespace_);
  std::vector<StoredObject> objects;
  for (;;) {
    auto row = select->step();
    if (!row) return row.status();
    if (!*row) return objects;
    objects.push_back(readObject(*select, 0));
  }
}

base::Result<std::vector<Change>> SqliteStore::changesSince(uint64_t revision) {
  std::lock_guard lock(mutex_);
  auto select = db_->prepare("SELECT revision, type, " + std::string(kObjectColumns) +
                             " FROM changes WHERE revision > ?1 ORDER BY revision");
  if (!select) return select.status();
  select->bind(1, static_cast<int64_t>(revision));
  std::vector<Change> changes;
  for (;;) {
    auto row = select->step();
    if (!row) return row.status();
    if (!*row) return changes;
    Change change;
    change.revision = static_cast<uint64_t>(select->columnInt64(0));
    change.type = select->columnText(1) == "delete" ? Change::Type::kDelete : Change::Type::kPut;
    change.object = readObject(*select, 2);
    changes.push_back(std::move(change));
  }
}

uint64_t SqliteStore::revision() {
  std::lock_guard lock(mutex_);
  return revision_;
}

void SqliteStore::watch(WatchCallback callback) {
  std::lock_guard lock(notify_mutex_);
  watchers_.push_back(std::move(callback));
}

base::Status SqliteStore::checkIntegrity() {
  std::lock_guard lock(mutex_);
  auto check = db_->prepare("PRAGMA integrity_check");
  if (!check) return check.status();
  std::string findings;
  for (;;) {
    auto row = check->step();
    if (!row) return row.status();
    if (!*row) break;
    const std::string line = check->columnText(0);
    if (line == "ok") continue;
    if (!findings.empty()) findings += "; ";
    findings += line;
  }
  if (findings.empty()) return base::Status::ok();
  return base::fail(base::Error::kIo, db_->path() + ": integrity check failed: " + findings);
}

base::Result<std::vector<StoredObject>> SqliteStore::commit(std::span<const Write> writes) {
  std::vector<StoredObject> results;
  std::vector<Change> changes;
  uint64_t ticket = 0;
  {
    std::lock_guard lock(mutex_);
    // IMMEDIATE takes the write lock up front, so a read-then-write inside
    // the transaction cannot fail half way with SQLITE_BUSY.
    if (auto begun = db_->exec("BEGIN IMMEDIATE"); !begun) return begun;
    base::Status status;
    for (size_t i = 0; i < writes.size() && status; ++i) {
      auto result = applyWrite(writes[i], changes);
      if (!result) {
        status = writes.size() == 1 ? result.status()
                                    : base::fail(result.error().code, "writes[" + std::to_string(i) +
                                                                          "]: " + result.error().message);
      } else {
        results.push_back(std::move(*result));
      }
    }
    // synchronous=FULL: COMMIT returns only after the WAL is fsynced.
    if (status) status = db_->exec("COMMIT");
    if (!status) {
      // Nothing of this call may stay; the first failure is the one to report.
      (void)db_->exec("ROLLBACK");
      return status.error();
    }
    if (changes.empty()) return results;
    revision_ = changes.back().revision;
    ticket = next_ticket_++;
  }
  notify(ticket, changes);
  return results;
}

void SqliteStore::notify(uint64_t ticket, const std::vector<Change>& changes) {
  std::unique_lock lock(notify_mutex_);
  notify_turn_.wait(lock, [&] { return notified_tickets_ == ticket; });
  const std::vector<WatchCallback> watchers = watchers_;
  lock.unlock();
  for (const Change& change : changes) {
    for (const WatchCallback& watcher : watchers) watcher(change);
  }
  lock.lock();
  ++notified_tickets_;
  notify_turn_.notify_all();
}

base::Result<StoredObject> SqliteStore::applyWrite(const Write& write, std::vector<Change>& changes) {
  if (auto valid = validateKey(write.key); !valid) return valid;
  auto existing = load(write.key);
  if (!existing) return existing.status();
  std::optional<StoredObject>& current = *existing;

  if (write.type == Write::Type::kDelete) {
    if (!current) return notFound(write.key);
    if (auto fresh = checkVersion(*current, write.expected_version); !fresh) return fresh;
    auto revision = nextRevision();
    if (!revision) return revision.status();
    if (auto s = deleteObject(write.key); !s) return s;
    Change change{Change::Type::kDelete, *current, *revision};
    if (auto s = logChange(change); !s) return s;
    changes.push_back(std::move(change));
    return std::move(*current);
  }

  if (write.type == Write::Type::kCreate && current) {
    return base::fail(base::Error::kAlreadyExists, describeKey(write.key) + " already exists");
  }
  if (write.type == Write::Type::kPut && write.expected_version != 0 && !current) {
    return base::fail(base::Error::kNotFound, describeKey(write.key) + " not found (expected resource version " +
                                                  std::to_string(write.expected_version) + ")");
  }
  if (current) {
    if (auto fresh = checkVersion(*current, write.expected_version); !fresh) return fresh;
    // An unchanged spec is not a change: re-applying the same file must not
    // bump versions and make the mesh layer push identical config.
    if (current->spec_json == write.spec_json) return std::move(*current);
  }

  auto revision = nextRevision();
  if (!revision) return revision.status();
  const int64_t now = options_.now_unix_ms();
  StoredObject object;
  if (current) {
    object = std::move(*current);
  } else {
    object.key = write.key;
    object.uid = options_.new_uid();
    object.created_unix_ms = now;
  }
  object.spec_json = write.spec_json;
  object.resource_version = *revision;
  object.updated_unix_ms = now;
  if (auto s = saveObject(object); !s) return s;
  Change change{Change::Type::kPut, object, *revision};
  if (auto s = logChange(change); !s) return s;
  changes.push_back(std::move(change));
  return object;
}

base::Result<std::optional<StoredObject>> SqliteStore::load(const ObjectKey& key) {
  auto select = db_->prepare("SELECT " + std::string(kObjectColumns) +
                             " FROM objects WHERE kind = ?1 AND namespace = ?2 AND name = ?3");
  if (!select) return select.status();
  select->bind(1, key.kind).bind(2, key.namespace_).bind(3, key.name);
  auto row = select->step();
  if (!row) return row.status();
  if (!*row) return std::optional<StoredObject>();
  return std::optional<StoredObject>(readObject(*select, 0));
}

base::Result<uint64_t> SqliteStore::nextRevision() {
  auto update = db_->prepare("UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value");
  if (!update) return update.status();
  auto row = update->step();
  if (!row) return row.status();
  if (!*row) return base::fail(base::Error::kIo, db_->path() + ": the revision counter is missing");
  const auto revision = static_cast<uint64_t>(update->columnInt64(0));
  // RETURNING rows are produced before the statement finishes; run it to the
  // end so the update is applied before the statement is finalized.
  if (auto done = update->run(); !done) return done;
  return revision;
}

base::Status SqliteStore::saveObject(const StoredObject& object) {
  auto upsert = db_->prepare("INSERT OR REPLACE INTO objects (" + std::string(kObjectColumns) +
                             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!upsert) return upsert.status();
  bindObject(*upsert, 1, object);
  return upsert->run();
}

base::Status SqliteStore::deleteObject(const ObjectKey& key) {
  auto erase = db_->prepare("DELETE FROM objects WHERE kind = ?1 AND namespace = ?2 AND name = ?3");
  if (!erase) return erase.status();
  erase->bind(1, key.kind).bind(2, key.namespace_).bind(3, key.name);
  return erase->run();
}

base::Status SqliteStore::logChange(const Change& change) {
  auto insert = db_->prepare("INSERT INTO changes (revision, type, " + std::string(kObjectColumns) +
                             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!insert) return insert.status();
  insert->bind(1, static_cast<int64_t>(change.revision))
      .bind(2, std::string_view(change.type == Change::Type::kDelete ? "delete" : "put"));
  bindObject(*insert, 3, change.object);
  return insert->run();
}

base::Result<std::unique_ptr<Store>> openSqliteStore(const std::string& path) {
  auto store = SqliteStore::open(path);
  if (!store) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace remora::cp::store::sqlite
