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
/// absence with the tombstone it had then (if any), and the revision the change
/// leaves it (or its tombstone) at. Only the first state per import and GUID counts
/// (a later one would be a state the import itself made); the revision is the latest.
void save_prior_version(SQLite::Database& db, const std::string& import_id, const std::string& guid,
                        const std::optional<Object>& object, const std::optional<Tombstone>& tombstone,
                        int64_t after_revision);

/// Everything save_prior_version recorded for import_id, in the order it was recorded.
std::vector<PriorVersion> load_prior_versions(SQLite::Database& db, const std::string& import_id);

/// The prior versions every import that is not rolled back kept of guid.
std::vector<PriorVersion> versions_of_object(SQLite::Database& db, const std::string& guid);

/// When import_id was rolled back: the catalog revision after it; nullopt if it was not.
std::optional<int64_t> rolled_back_at_revision(SQLite::Database& db, const std::string& import_id);
void record_rollback(SQLite::Database& db, const std::string& import_id, int64_t revision, TimePoint at);

/// A rollback brought back, under new_revision, the state of guid that was at
/// old_revision: imports that had left it at old_revision left it at new_revision now.
void move_after_revision(SQLite::Database& db, const std::string& guid, int64_t old_revision, int64_t new_revision);

}  // namespace ferry::catalog::detail
