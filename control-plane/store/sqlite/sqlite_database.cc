#include "control-plane/store/sqlite/sqlite_database.h"

#include <sqlite3.h>

#include <utility>

namespace remora::cp::store::sqlite {

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::string_view text) {
  // A bind error can only be a bad index or SQLITE_NOMEM; both surface again
  // from step(), which is where callers check.
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

base::Result<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->failure(sqlite3_sql(stmt_));
}

base::Status Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.status();
    if (!*row) return base::Status::ok();
  }
}

std::string Statement::columnText(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  if (text == nullptr) return {};
  return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

int64_t Statement::columnInt64(int index) const { return sqlite3_column_int64(stmt_, index); }

bool Statement::columnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

base::Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  sqlite3* handle = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "opening " + path + ": ";
    message += handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    sqlite3_close(handle);
    return base::fail(base::Error::kIo, std::move(message));
  }
  // Extended codes tell SQLITE_IOERR_FSYNC from SQLITE_IOERR_WRITE in messages.
  sqlite3_extended_result_codes(handle, 1);
  return std::unique_ptr<Database>(new Database(handle, path));
}

Database::~Database() {
  // Statements are all scoped to a call, so none is left open here and
  // sqlite3_close cannot fail with SQLITE_BUSY.
  sqlite3_close(handle_);
}

base::Status Database::exec(std::string_view sql) {
  const std::string text(sql);
  char* error = nullptr;
  const int rc = sqlite3_exec(handle_, text.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return base::Status::ok();
  sqlite3_free(error);
  return failure(sql);
}

base::Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(handle_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return failure(sql);
  }
  return Statement(this, stmt);
}

base::Failure Database::failure(std::string_view what) const {
  std::string message = path_ + ": ";
  message += sqlite3_errmsg(handle_);
  message += " (sqlite error " + std::to_string(sqlite3_extended_errcode(handle_)) + ", while: ";
  message += what;
  message += ')';
  return base::fail(base::Error::kIo, std::move(message));
}

}  // namespace remora::cp::store::sqlite
