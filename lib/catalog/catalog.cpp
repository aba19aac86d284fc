#include "catalog/catalog.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <tuple>

#include "catalog/blobs.h"
#include "catalog/guarded.h"
#include "catalog/ops.h"
#include "catalog/rows.h"
#include "catalog/schema.h"
#include "catalog/statements.h"
#include "catalog/versions.h"
#include "sqlitedb/sqlitedb.h"
#include "util/guid.h"

namespace ferry::catalog {

std::string_view to_string(RefKind kind) { return kind == RefKind::contains ? "contains" : "uses"; }

std::string_view to_string(ApplyAction action) {
  switch (action) {
    case ApplyAction::created:
      return "created";
    case ApplyAction::updated:
      return "updated";
    case ApplyAction::unchanged:
      return "unchanged";
  }
  return "unknown";
}

Expected<RefKind> parse_ref_kind(std::string_view text) {
  if (text == "uses") return RefKind::uses;
  if (text == "contains") return RefKind::contains;
  return fail(Errc::invalid_argument, "reference kind '" + std::string(text) + "' is not uses or contains");
}

std::string_view to_string(DeployAction action) {
  switch (action) {
    case DeployAction::created:
      return "created";
    case DeployAction::updated:
      return "updated";
    case DeployAction::unchanged:
      return "unchanged";
    case DeployAction::deleted:
      return "deleted";
  }
  return "unknown";
}

std::string_view to_string(RollbackAction action) {
  switch (action) {
    case RollbackAction::restored:
      return "restored";
    case RollbackAction::recreated:
      return "recreated";
    case RollbackAction::removed:
      return "removed";
  }
  return "unknown";
}

namespace {

using detail::guarded;

/// "finance/" -> "/finance", "/finance/**" stays; so a filter matches stored folders.
Expected<std::string> normalize_pattern(std::string_view pattern) {
  bool subtree = pattern.ends_with("/**") || pattern == "**";
  if (subtree) pattern.remove_suffix(pattern.size() == 2 ? 2 : 3);
  auto folder = normalize_folder(pattern);
  if (!folder) return fail(Errc::invalid_argument, "folder filter: " + folder.error().message);
  if (!subtree) return *folder;
  return (*folder == "/" ? std::string() : *folder) + "/**";
}

/// A GUID in canonical form, or invalid_argument naming what was given.
Expected<std::string> canonical_guid(std::string_view text) {
  if (auto guid = parse_guid(text)) return *guid;
  return fail(Errc::invalid_argument, "'" + std::string(text) + "' is not a GUID");
}

/// The catalog on one SQLite connection. mutex_ guards the connection for reads and
/// writes alike: SQLite connections are not for concurrent use, and the catalog's
/// reads are short. (A long consistent read, an export's Snapshot, opens its own
/// read-only connection: WAL lets it run beside writers.)
class SqliteCatalog final : public Catalog {
 public:
  SqliteCatalog(std::filesystem::path db_path, detail::BlobStore blobs, std::unique_ptr<SQLite::Database> db,
                const types::TypeRegistry& types, Clock& clock)
      : db_path_(std::move(db_path)), blobs_(std::move(blobs)), types_(types), clock_(clock), db_(std::move(db)) {}

  Expected<Attachment> store_blob(int fd, std::string_view name) override { return blobs_.store(fd, name); }
  std::filesystem::path blob_path(std::string_view sha256) const override { return blobs_.path(sha256); }

  Expected<ApplyResult> apply(const std::vector<ObjectDraft>& drafts, std::string_view owner) override {
    return write([&](const detail::WriteContext& ctx) { return detail::apply_drafts(ctx, drafts, owner); });
  }

  Expected<std::vector<Tombstone>> remove(std::string_view address_or_guid) override {
    return write([&](const detail::WriteContext& ctx) -> Expected<std::vector<Tombstone>> {
      auto guid = FERRY_TRY(detail::locate(ctx.db, address_or_guid));
      return detail::remove_subtree(ctx, guid);
    });
  }

  Expected<std::vector<DeployItem>> deploy(std::vector<DeployStep> steps, const DeployOptions& options) override {
    return write([&](const detail::WriteContext& ctx) { return detail::deploy_steps(ctx, steps, options); });
  }

  Expected<RollbackResult> rollback(std::string_view import_id) override {
    if (import_id.empty()) return fail(Errc::invalid_argument, "a rollback needs an import id");
    return write([&](const detail::WriteContext& ctx) { return detail::rollback_import(ctx, std::string(import_id)); });
  }

  Expected<std::vector<PriorVersion>> prior_versions(std::string_view import_id) const override {
    return read([&]() -> Expected<std::vector<PriorVersion>> {
      return detail::load_prior_versions(*db_, std::string(import_id));
    });
  }

  Expected<std::optional<Object>> find(std::string_view address_or_guid) const override {
    return read([&]() -> Expected<std::optional<Object>> {
      auto guid = detail::locate(*db_, address_or_guid);
      if (!guid && guid.error().code == Errc::not_found) return std::nullopt;
      if (!guid) return std::unexpected(guid.error());
      return detail::load_object(*db_, *guid);
    });
  }

  Expected<std::optional<Tombstone>> tombstone(std::string_view guid) const override {
    auto canonical = FERRY_TRY(canonical_guid(guid));
    return read([&]() -> Expected<std::optional<Tombstone>> { return detail::load_tombstone(*db_, canonical); });
  }

  Expected<std::vector<Object>> referrers(std::string_view guid) const override {
    auto canonical = FERRY_TRY(canonical_guid(guid));
    return read([&]() -> Expected<std::vector<Object>> { return load_referrers(canonical); });
  }

  Expected<std::unique_ptr<Snapshot>> snapshot() const override { return detail::open_snapshot(db_path_); }

  Expected<Object> get(std::string_view address_or_guid) const override {
    return read([&]() -> Expected<Object> {
      auto guid = FERRY_TRY(detail::locate(*db_, address_or_guid));
      auto object = detail::load_object(*db_, guid);
      if (!object) return fail(Errc::internal, "object " + guid + " vanished while being read");
      return std::move(*object);
    });
  }

  Expected<std::vector<Object>> list(const ListFilter& filter) const override {
    ListFilter normal = filter;
    if (filter.folder) normal.folder = FERRY_TRY(normalize_pattern(*filter.folder));
    return read([&]() -> Expected<std::vector<Object>> { return detail::list_objects(*db_, normal); });
  }

  Expected<std::vector<Tombstone>> tombstones(int64_t after_revision) const override {
    return read([&]() -> Expected<std::vector<Tombstone>> { return detail::tombstones_after(*db_, after_revision); });
  }

  Expected<int64_t> revision() const override {
    return read([&]() -> Expected<int64_t> { return detail::current_revision(*db_); });
  }

  Status reading(const std::function<Status()>& f) const override {
    if (reader_ == std::this_thread::get_id()) return fail(Errc::internal, "catalog reading() nested");
    return read([&]() -> Status {
      reader_ = std::this_thread::get_id();
      struct Done {
        std::atomic<std::thread::id>& reader;
        ~Done() { reader = std::thread::id(); }
      } done{reader_};
      return f();
    });
  }

 private:
  /// Each referrer once (an object may both use and contain the target), sorted like list().
  /// Runs inside read().
  std::vector<Object> load_referrers(const std::string& guid) const {
    std::vector<Object> out;
    for (const auto& [from, kind] : detail::referrers_of(*db_, guid)) {
      if (!out.empty() && out.back().guid == from) continue;  // referrers_of sorts by GUID
      if (auto o = detail::load_object(*db_, from)) out.push_back(std::move(*o));
    }
    std::ranges::sort(out, {}, [](const Object& o) { return std::tie(o.type, o.folder, o.name); });
    return out;
  }

  /// One IMMEDIATE transaction under the lock, committed only when f succeeds.
  template <typename F>
  auto write(F&& f) -> decltype(f(std::declval<const detail::WriteContext&>())) {
    if (reader_ == std::this_thread::get_id()) return fail(Errc::internal, "catalog write inside reading()");
    std::lock_guard lock(mutex_);
    return guarded(db_path_, [&]() -> decltype(f(std::declval<const detail::WriteContext&>())) {
      SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
      detail::RevisionCounter revisions(*db_);
      auto result = f(detail::WriteContext{*db_, types_, blobs_, clock_, revisions});
      if (!result) return result;  // tx's destructor rolls everything back
      revisions.store();
      tx.commit();
      return result;
    });
  }

  /// One DEFERRED (read) transaction under the lock, so multi-query reads agree.
  template <typename F>
  auto read(F&& f) const -> decltype(f()) {
    // Inside reading() on this thread: its lock and transaction are this read's.
    if (reader_ == std::this_thread::get_id()) return guarded(db_path_, std::forward<F>(f));
    std::lock_guard lock(mutex_);
    return guarded(db_path_, [&]() -> decltype(f()) {
      // Prepared once: an import's plan makes a few reads per object, and parsing
      // BEGIN and COMMIT each time was a share of it.
      detail::Prepared(*db_, "BEGIN DEFERRED")->exec();
      try {
        auto result = f();
        detail::Prepared(*db_, "COMMIT")->exec();
        return result;
      } catch (...) {
        detail::Prepared(*db_, "ROLLBACK")->tryExecuteStep();
        throw;
      }
    });
  }

  const std::filesystem::path db_path_;
  const detail::BlobStore blobs_;
  const types::TypeRegistry& types_;
  Clock& clock_;
  mutable std::mutex mutex_;
  /// The thread inside reading(), which holds mutex_ and a read transaction; read
  /// unlocked by the other threads (which only compare it with their own id).
  mutable std::atomic<std::thread::id> reader_;
  std::unique_ptr<SQLite::Database> db_;     // guarded by mutex_
  detail::StatementCache statements_{*db_};  // db_'s prepared statements; destroyed before db_
};

}  // namespace

Expected<std::unique_ptr<Catalog>> Catalog::open(const std::filesystem::path& dir, const types::TypeRegistry& types,
                                                 Clock& clock) {
  detail::BlobStore blobs(dir / "blobs");
  FERRY_TRY(blobs.prepare());          // also creates dir
  FERRY_TRY(blobs.remove_partials());  // a crash's leftovers; no store() can run yet
  auto db_path = dir / "catalog.db";
  auto db = FERRY_TRY(sqlitedb::open_database(db_path, detail::migrations(), "catalog"));
  return std::make_unique<SqliteCatalog>(db_path, std::move(blobs), std::move(db), types, clock);
}

}  // namespace ferry::catalog
