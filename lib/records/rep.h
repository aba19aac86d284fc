// Private to the records module: the state behind Records, shared by the files that
// implement its methods (records.cpp for packages, imports.cpp for imports).
#pragma once

#include <SQLiteCpp/Database.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "records/records.h"
#include "sqlitedb/sqlitedb.h"

namespace ferry::records {

/// One connection; mutex guards it for reads and writes alike (SQLite connections are
/// not for concurrent use, and every query here is short).
struct Records::Rep {
  std::filesystem::path path;
  Clock& clock;
  std::unique_ptr<SQLite::Database> db;
  mutable std::mutex mutex;

  /// Runs f(db) under the mutex; what SQLite or the JSON parser throws becomes an Error.
  template <typename F>
  auto locked(F&& f) const -> decltype(f(*db)) {
    std::lock_guard lock(mutex);
    try {
      return sqlitedb::guarded(path, [&] { return f(*db); });
    } catch (const nlohmann::json::exception& e) {
      return fail(Errc::corrupt, path.string() + ": a stored JSON column is not valid JSON: " + e.what());
    }
  }
};

namespace detail {

/// A table whose rows have a TEXT id that operators may abbreviate.
struct IdTable {
  const char* table;  ///< "packages", "imports"
  const char* noun;   ///< "package", "import": names the record in errors
};

/// "no NOUN ID" (Errc::not_found).
Error no_record(const IdTable& t, std::string_view id);

/// The full id for id or a unique prefix of it (at least kMinIdPrefix characters).
/// Errc::not_found "no NOUN ID"; Errc::conflict naming the candidates for an
/// ambiguous prefix. Caller holds Rep::mutex.
Expected<std::string> resolve_id(SQLite::Database& db, const IdTable& t, std::string_view id);

/// True if t has a row with exactly this id. Caller holds Rep::mutex.
bool row_exists(SQLite::Database& db, const IdTable& t, std::string_view id);

}  // namespace detail
}  // namespace ferry::records
