// Private to the catalog module: what SQLite and the JSON library throw, turned into
// the Error every public method returns.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "sqlitedb/sqlitedb.h"
#include "util/error.h"

namespace ferry::catalog::detail {

/// Runs f (returning Expected<T> or Status). A SQLite::Exception becomes
/// sqlitedb::sqlite_error naming db_path; stored JSON that does not parse is corrupt;
/// a spec the JSON library cannot write (text that is not UTF-8) is invalid_argument.
template <typename F>
auto guarded(const std::filesystem::path& db_path, F&& f) -> decltype(f()) {
  try {
    return sqlitedb::guarded(db_path, std::forward<F>(f));
  } catch (const nlohmann::json::parse_error& e) {
    return fail(Errc::corrupt, db_path.string() + ": stored JSON is not valid: " + e.what());
  } catch (const nlohmann::json::type_error& e) {
    if (e.id == 316)
      return fail(Errc::invalid_argument, std::string("a spec holds text that is not UTF-8: ") + e.what());
    return fail(Errc::corrupt, db_path.string() + ": stored JSON has an unexpected shape: " + e.what());
  } catch (const nlohmann::json::exception& e) {
    return fail(Errc::corrupt, db_path.string() + ": stored JSON has an unexpected shape: " + e.what());
  }
}

}  // namespace ferry::catalog::detail
