// Private to the records module: the schema of records.db and the mapping between
// its rows and the public record structs. Functions here may throw
// SQLite::Exception or nlohmann::json::exception; the public methods convert.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <span>
#include <string>

#include "records/records.h"
#include "sqlitedb/sqlitedb.h"

namespace ferry::records::detail {

/// records.db's migrations, in order (append-only).
std::span<const sqlitedb::Migration> migrations();

/// "id, name, ...": the packages columns in the order bind_package/read_package use.
const std::string& package_columns();
/// "INSERT INTO packages (...) VALUES (?1, ...)".
const std::string& insert_package_sql();
/// "UPDATE packages SET name = ?2, ... WHERE id = ?1".
const std::string& update_package_sql();

/// Binds every field of r to parameters ?1..?N in package_columns() order.
void bind_package(SQLite::Statement& stmt, const PackageRecord& r);
/// Reads a row selected with package_columns(); Errc::corrupt for an unknown state.
Expected<PackageRecord> read_package(SQLite::Statement& stmt, const std::filesystem::path& db_path);

int64_t to_micros(TimePoint t);
TimePoint from_micros(int64_t us);

}  // namespace ferry::records::detail
