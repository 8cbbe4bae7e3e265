// SqliteStore: the embedded Store backend, one SQLite file in remora-cp's
// data directory. Built by the control plane's composition root (via
// openSqliteStore) and called from any thread: one mutex serialises every
// call on the single connection.
//
// Durability: WAL with synchronous=FULL, so the WAL is fsynced before a commit
// returns and an acknowledged write survives SIGKILL and power loss. Every
// write runs in BEGIN IMMEDIATE ... COMMIT and appends to the change log in
// the same transaction, so objects and log never disagree.
//
// One process writes a file: the revision counter is cached in memory
// between commits for revision(). Opening never repairs or recreates a file:
// a corrupt file or one written by a newer schema is refused with a message.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "control-plane/store/sqlite/sqlite_database.h"
#include "control-plane/store/store.h"

namespace remora::cp::store::sqlite {

struct SqliteStoreOptions {
  // Wall-clock time for created/updated stamps; tests inject a fake.
  std::function<int64_t()> now_unix_ms;
  // A new object's uid; the default is a random (version 4) UUID.
  std::function<std::string()> new_uid;
  // How long a statement waits for another connection's lock (another
  // process reading the file, e.g. a backup) before failing with kIo.
  std::chrono::milliseconds busy_timeout{5000};
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the file, checks it (quick_check), and migrates it to
  // the latest schema. kIo for an unreadable or corrupt file, kUnsupported
  // for a schema newer than this binary.
  static base::Result<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                         SqliteStoreOptions options = {});

  base::Result<StoredObject> create(const ObjectKey& key, std::string spec_json) override;
  base::Result<StoredObject> put(const ObjectKey& key, std::string spec_json,
                                 uint64_t expected_version) override;
  base::Result<StoredObject> get(const ObjectKey& key) override;
  base::Result<std::vector<StoredObject>> list(std::string_view kind, std::string_view namespace_) override;
  base::Status remove(const ObjectKey& key, uint64_t expected_version) override;
  base::Status transaction(const std::vector<Write>& writes) override;
  // One transaction: all objects or none. Each object gets its own revision
  // in order and one kPut to the watchers, after the commit. An object
  // without a uid gets a new one; a key given twice is kInvalidArgument.
  base::Status restore(const std::vector<StoredObject>& objects) override;
  // The changes with a revision greater than `revision`, oldest first (the
  // SQLite change log; etcd keeps its own history).
  base::Result<std::vector<Change>> changesSince(uint64_t revision);
  uint64_t revision() override;
  void watch(WatchCallback callback) override;

  // PRAGMA integrity_check (the full check, slow on big files): ok, or kIo
  // with SQLite's first findings. For operators and the durability test.
  base::Status checkIntegrity();

 private:
  SqliteStore(std::unique_ptr<Database> db, SqliteStoreOptions options)
      : db_(std::move(db)), options_(std::move(options)) {}

  base::Status configure();

  // Applies `writes` in one transaction and notifies watchers after commit.
  // Returns the object each write left (for a delete: the removed object).
  base::Result<std::vector<StoredObject>> commit(std::span<const Write> writes);
  void notify(uint64_t ticket, const std::vector<Change>& changes);

  // The helpers below run with mutex_ held, inside an open transaction.
  // restore()'s body: kConflict unless the store is empty, then every
  // object in order, each with its own revision.
  base::Status restoreLocked(const std::vector<StoredObject>& objects, std::vector<Change>& changes);
  base::Result<StoredObject> applyWrite(const Write& write, std::vector<Change>& changes);
  base::Result<std::optional<StoredObject>> load(const ObjectKey& key);
  base::Result<uint64_t> nextRevision();
  base::Status saveObject(const StoredObject& object);
  base::Status deleteObject(const ObjectKey& key);
  base::Status logChange(const Change& change);

  std::mutex mutex_;  // guards db_, revision_ and next_ticket_
  std::unique_ptr<Database> db_;
  SqliteStoreOptions options_;
  uint64_t revision_ = 0;
  uint64_t next_ticket_ = 0;

  // Watchers run outside mutex_ (so they may read the store) yet in commit
  // order: each commit takes a ticket under mutex_ and waits its turn here.
  std::mutex notify_mutex_;  // guards watchers_ and notified_tickets_
  std::condition_variable notify_turn_;
  std::vector<WatchCallback> watchers_;
  uint64_t notified_tickets_ = 0;
};

// The Store the control plane uses by default (path: <data-dir>/store.db).
base::Result<std::unique_ptr<Store>> openSqliteStore(const std::string& path);

}  // namespace remora::cp::store::sqlite

namespace remora::cp::store {
using sqlite::openSqliteStore;
}  // namespace remora::cp::store
