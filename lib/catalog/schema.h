// Private to the catalog module: the schema of catalog.db, as sqlitedb migrations.
#pragma once

#include <span>

#include "sqlitedb/sqlitedb.h"

namespace ferry::catalog::detail {

/// Every schema step of catalog.db, for sqlitedb::open_database(path, migrations(), "catalog").
std::span<const sqlitedb::Migration> migrations();

}  // namespace ferry::catalog::detail
