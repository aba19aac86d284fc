// Catalog::snapshot(): a read transaction held open on a connection of its own.
#include <SQLiteCpp/Database.h>

#include <stdexcept>

#include "catalog/guarded.h"
#include "catalog/ops.h"
#include "catalog/rows.h"
#include "util/guid.h"

namespace ferry::catalog::detail {
namespace {

/// Owns its connection and the read transaction on it. Thread: one at a time (see
/// Snapshot); no lock, as the connection is used by nobody else.
class SqliteSnapshot final : public Snapshot {
 public:
  SqliteSnapshot(std::filesystem::path db_path, std::unique_ptr<SQLite::Database> db, int64_t revision)
      : db_path_(std::move(db_path)), db_(std::move(db)), revision_(revision) {}

  ~SqliteSnapshot() override {
    try {
      db_->exec("ROLLBACK");  // ends the read transaction; closing the connection would too
    } catch (const SQLite::Exception&) {
    }
  }

  int64_t revision() const override { return revision_; }

  Expected<std::vector<Object>> objects() const override {
    return guarded(db_path_, [&]() -> Expected<std::vector<Object>> { return list_objects(*db_, {}, WithSpec::no); });
  }

  Expected<ObjectTable> object_table() const override {
    return guarded(db_path_, [&]() -> Expected<ObjectTable> {
      ObjectTable table;
      try {
        visit_objects(*db_, {}, WithSpec::no, [&](Object&& o) { table.add(o); });
      } catch (const std::length_error& e) {
        return fail(Errc::invalid_argument, db_path_.string() + ": too many objects for one export (" + e.what() + ")");
      }
      table.seal();
      return table;
    });
  }

  Expected<nlohmann::json> spec(std::string_view guid) const override {
    auto canonical = parse_guid(guid);
    if (!canonical) return fail(Errc::invalid_argument, "'" + std::string(guid) + "' is not a GUID");
    return guarded(db_path_, [&]() -> Expected<nlohmann::json> {
      if (auto spec = load_spec(*db_, *canonical)) return std::move(*spec);
      return fail(Errc::not_found,
                  "no object with GUID " + *canonical + " in the catalog at revision " + std::to_string(revision_));
    });
  }

  Expected<std::vector<Tombstone>> tombstones(int64_t after_revision) const override {
    return guarded(db_path_,
                   [&]() -> Expected<std::vector<Tombstone>> { return tombstones_after(*db_, after_revision); });
  }

 private:
  const std::filesystem::path db_path_;
  const std::unique_ptr<SQLite::Database> db_;
  const int64_t revision_;
};

}  // namespace

Expected<std::unique_ptr<Snapshot>> open_snapshot(const std::filesystem::path& db_path) {
  return guarded(db_path, [&]() -> Expected<std::unique_ptr<Snapshot>> {
    auto db = std::make_unique<SQLite::Database>(db_path.string(), SQLite::OPEN_READONLY, sqlitedb::kBusyTimeoutMs);
    // BEGIN (deferred) starts no read by itself: the first read fixes the state that
    // every later read of this transaction sees, whatever writers commit meanwhile.
    db->exec("BEGIN");
    int64_t revision = current_revision(*db);
    return std::make_unique<SqliteSnapshot>(db_path, std::move(db), revision);
  });
}

}  // namespace ferry::catalog::detail
