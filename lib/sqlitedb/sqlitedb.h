// The one way ferry opens a SQLite state database (catalog.db, records.db): WAL,
// foreign keys, synchronous FULL, a busy timeout, and append-only schema migrations
// tracked in PRAGMA user_version. Also the conversion of what SQLiteCpp throws into
// ferry::Error, for the modules that keep their state in SQLite.
//
// Threads: every function blocks on disk; call from the worker pool. A returned
// connection is not for concurrent use; its owner guards it (usually with a mutex).
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>

#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "util/error.h"

namespace ferry::sqlitedb {

/// One schema step. A module's list is append-only: a released migration is never
/// edited, a change is a new entry with the next version. Versions start at 1 and
/// increase by one.
struct Migration {
  int version;
  const char* sql;  ///< one or more statements, run inside the migrating transaction
};

/// Writers wait this long for another connection's write lock before failing.
inline constexpr int kBusyTimeoutMs = 10'000;

/// The page cache of each connection (negative: KiB), in place of SQLite's 2 MiB: an
/// import of 100k objects looks up and inserts GUIDs all over a catalog of a few
/// hundred MiB, and with 2 MiB most of those pages were read again from the OS.
inline constexpr const char* kCacheSizePragma = "PRAGMA cache_size = -65536";

/// Opens (creating if absent) the SQLite file at path: WAL mode (verified), foreign
/// keys on, synchronous FULL, kCacheSizePragma, kBusyTimeoutMs, then every migration newer than the
/// stored PRAGMA user_version in one IMMEDIATE transaction, so two processes opening
/// an old file at once migrate it once, in turn. A file with a newer version than
/// the last migration is refused (Errc::invalid_argument), naming path and `what`
/// ("catalog", "records"). Never throws.
Expected<std::unique_ptr<SQLite::Database>> open_database(const std::filesystem::path& path,
                                                          std::span<const Migration> migrations, std::string_view what);

/// The last version in migrations (0 for none): what open_database() migrates to.
int latest_version(std::span<const Migration> migrations);

/// The schema version stored in the file (PRAGMA user_version). May throw.
int stored_version(SQLite::Database& db);

/// "PATH: SQLite's message", Errc::corrupt for a damaged or foreign file, Errc::conflict
/// when the database stayed locked past the busy timeout, Errc::io otherwise.
Error sqlite_error(const std::filesystem::path& path, const SQLite::Exception& e);

/// Runs f (returning Expected<T> or Status) and turns a SQLite::Exception into
/// sqlite_error(path, e). Wrap each public method of a SQLite-backed class with it.
template <typename F>
auto guarded(const std::filesystem::path& path, F&& f) -> decltype(f()) {
  try {
    return std::forward<F>(f)();
  } catch (const SQLite::Exception& e) {
    return std::unexpected(sqlite_error(path, e));
  }
}

}  // namespace ferry::sqlitedb
