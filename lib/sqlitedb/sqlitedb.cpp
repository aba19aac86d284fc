#include "sqlitedb/sqlitedb.h"

#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <string>

namespace ferry::sqlitedb {
namespace {

std::string too_new_message(const std::filesystem::path& path, std::string_view what, int stored, int latest) {
  return path.string() + ": the " + std::string(what) + " database has schema version " + std::to_string(stored) +
         ", but this ferry supports schema versions up to " + std::to_string(latest) +
         "; run a newer ferry or restore a backup made by this version";
}

/// A bug in the caller's migration table, caught before any of it is applied.
Status check_migrations(std::span<const Migration> migrations, std::string_view what) {
  int expected = 1;
  for (const auto& m : migrations) {
    if (m.version != expected || m.sql == nullptr) {
      return fail(Errc::internal, "the " + std::string(what) + " migrations are not numbered 1, 2, 3...: found " +
                                      std::to_string(m.version) + " where " + std::to_string(expected) +
                                      " was expected");
    }
    ++expected;
  }
  return {};
}

Status configure(SQLite::Database& db, const std::filesystem::path& path) {
  // journal_mode cannot change inside a transaction, so it comes before migrating.
  std::string mode = db.execAndGet("PRAGMA journal_mode = WAL").getString();
  if (mode != "wal") {
    return fail(Errc::io, path.string() + ": cannot switch the database to WAL mode (got '" + mode +
                              "'); put the state folder on a local file system");
  }
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA synchronous = FULL");
  db.exec(kCacheSizePragma);
  return {};
}

Status migrate(SQLite::Database& db, const std::filesystem::path& path, std::span<const Migration> migrations,
               std::string_view what) {
  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  int stored = stored_version(db);
  int latest = latest_version(migrations);
  if (stored > latest) return fail(Errc::invalid_argument, too_new_message(path, what, stored, latest));
  for (const auto& m : migrations) {
    if (m.version <= stored) continue;
    db.exec(m.sql);
    db.exec("PRAGMA user_version = " + std::to_string(m.version));
  }
  tx.commit();
  return {};
}

}  // namespace

int latest_version(std::span<const Migration> migrations) { return migrations.empty() ? 0 : migrations.back().version; }

int stored_version(SQLite::Database& db) { return db.execAndGet("PRAGMA user_version").getInt(); }

Error sqlite_error(const std::filesystem::path& path, const SQLite::Exception& e) {
  int code = e.getErrorCode() & 0xff;  // primary result code
  Errc errc = Errc::io;
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) errc = Errc::corrupt;
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) errc = Errc::conflict;
  return Error{errc, path.string() + ": " + e.what()};
}

Expected<std::unique_ptr<SQLite::Database>> open_database(const std::filesystem::path& path,
                                                          std::span<const Migration> migrations,
                                                          std::string_view what) {
  FERRY_TRY(check_migrations(migrations, what));
  return guarded(path, [&]() -> Expected<std::unique_ptr<SQLite::Database>> {
    auto db =
        std::make_unique<SQLite::Database>(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, kBusyTimeoutMs);
    FERRY_TRY(configure(*db, path));
    FERRY_TRY(migrate(*db, path, migrations, what));
    return db;
  });
}

}  // namespace ferry::sqlitedb
