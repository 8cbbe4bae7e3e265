// RAII adapters over SQLite's C API: one connection (Database) and its
// prepared statements (Statement). Only store/sqlite uses them; sqlite3 types
// never leave this folder.
//
// Not thread-safe: the owner (SqliteStore) serialises every call with its own
// mutex, which is why connections are opened with SQLITE_OPEN_NOMUTEX.
// Every failure is a kIo Failure carrying SQLite's own message, prefixed with
// what we were doing, so a disk or corruption error reaches the operator
// as SQLite worded it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "xds/base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace remora::cp::store::sqlite {

class Database;

// One prepared statement. Move-only; finalized on destruction.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite. Text is copied (SQLITE_TRANSIENT),
  // so the argument need not outlive the call.
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);

  // Runs one step: true when a row is ready to read, false when done.
  base::Result<bool> step();
  // Runs to completion, ignoring rows.
  base::Status run();

  std::string columnText(int index) const;
  int64_t columnInt64(int index) const;
  bool columnIsNull(int index) const;

 private:
  friend class Database;
  Statement(Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  Database* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  // Opens (creating if absent) the file at `path`. SQLite opens lazily, so a
  // corrupt file is only detected by the first statement.
  static base::Result<std::unique_ptr<Database>> open(const std::string& path);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without results.
  base::Status exec(std::string_view sql);
  base::Result<Statement> prepare(std::string_view sql);

  // A kIo Failure: "<what>: <sqlite's message> (sqlite error <code>)".
  base::Failure failure(std::string_view what) const;

  const std::string& path() const { return path_; }

 private:
  Database(sqlite3* handle, std::string path) : handle_(handle), path_(std::move(path)) {}

  sqlite3* handle_ = nullptr;
  std::string path_;
};

}  // namespace remora::cp::store::sqlite
