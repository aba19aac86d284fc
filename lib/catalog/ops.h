// Private to the catalog module: the operations behind Catalog. The write operations
// run inside the caller's write transaction and under its write lock; they may throw
// SQLite::Exception or nlohmann::json::exception, which the public methods convert.
#pragma once

#include <SQLiteCpp/Database.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/blobs.h"
#include "catalog/catalog.h"

namespace ferry::catalog::detail {

class RevisionCounter;  // rows.h

struct WriteContext {
  SQLite::Database& db;
  const types::TypeRegistry& types;
  const BlobStore& blobs;
  Clock& clock;
  RevisionCounter& revisions;  ///< every revision handed out in the transaction
};

/// Plans every draft against the others and the catalog, then writes the changes.
/// On any problem writes nothing and returns all problems, one per line.
Expected<ApplyResult> apply_drafts(const WriteContext& ctx, const std::vector<ObjectDraft>& drafts,
                                   std::string_view owner);

/// Deletes the object with this GUID and its `contains` subtree, leaving tombstones;
/// refused while anything outside the subtree still references it.
Expected<std::vector<Tombstone>> remove_subtree(const WriteContext& ctx, const std::string& guid);

/// An import's steps in order (Catalog::deploy): checked together, prior versions kept
/// under options.import_id, then written; on any problem writes nothing.
Expected<std::vector<DeployItem>> deploy_steps(const WriteContext& ctx, std::vector<DeployStep>& steps,
                                               const DeployOptions& options);

/// Undoes import_id's deploys (Catalog::rollback): checked first, every problem
/// reported; on any problem writes nothing.
Expected<RollbackResult> rollback_import(const WriteContext& ctx, const std::string& import_id);

/// Deletes one object (its refs and attachments cascade) and leaves its tombstone,
/// stamped with the next revision and the clock's time. Checks nothing.
Tombstone delete_with_tombstone(const WriteContext& ctx, const Object& object, int64_t revision = 0);

/// A Snapshot on its own read-only connection to db_path; never throws.
Expected<std::unique_ptr<Snapshot>> open_snapshot(const std::filesystem::path& db_path);

/// The GUID of the object named by an address or a GUID; not_found names what was asked.
Expected<std::string> locate(SQLite::Database& db, std::string_view address_or_guid);

}  // namespace ferry::catalog::detail
