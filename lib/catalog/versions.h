// Private to the catalog module: the prior versions deploys keep (object_versions),
// so that an import can be rolled back. Runs on the caller's connection, inside its
// transaction; may throw SQLite::Exception or nlohmann::json::exception.
#pragma once

#include <SQLiteCpp/Database.h>

#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace ferry::catalog::detail {

/// Records the state of guid before import_id changes it: the whole object, or its
/// absence with the tombstone it had then (if any). Only the first call per import
/// and GUID counts: later ones would record a state the import itself made.
void save_prior_version(SQLite::Database& db, const std::string& import_id, const std::string& guid,
                        const std::optional<Object>& object, const std::optional<Tombstone>& tombstone);

/// Everything save_prior_version recorded for import_id, in the order it was recorded.
std::vector<PriorVersion> load_prior_versions(SQLite::Database& db, const std::string& import_id);

}  // namespace ferry::catalog::detail
