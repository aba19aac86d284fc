#include "records/records.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "records/rep.h"
#include "records/schema.h"
#include "sqlitedb/sqlitedb.h"

namespace ferry::records {
namespace {

constexpr std::array<std::string_view, 7> kStateNames = {"queued", "waiting_window", "exporting", "succeeded",
                                                         "failed", "cancelled",      "skipped"};

constexpr std::string_view kInterruptedError = "interrupted: ferryd stopped during the export";

/// Candidates named in an ambiguous-prefix error.
constexpr int kMaxCandidates = 5;

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

constexpr detail::IdTable kPackages{"packages", "package"};

Error no_package(std::string_view id) { return detail::no_record(kPackages, id); }

bool package_exists(SQLite::Database& db, std::string_view id) { return detail::row_exists(db, kPackages, id); }

/// Ids of t starting with prefix, sorted, at most kMaxCandidates + 1 (enough to tell "more").
std::vector<std::string> ids_with_prefix(SQLite::Database& db, const detail::IdTable& t, std::string_view prefix) {
  SQLite::Statement q(
      db, std::string("SELECT id FROM ") + t.table + " WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT ?2");
  q.bind(1, std::string(prefix));
  q.bind(2, kMaxCandidates + 1);
  std::vector<std::string> ids;
  while (q.executeStep()) ids.push_back(q.getColumn(0).getString());
  return ids;
}

Error ambiguous(const detail::IdTable& t, std::string_view prefix, const std::vector<std::string>& ids) {
  std::string list;
  for (size_t i = 0; i < ids.size() && i < kMaxCandidates; ++i) list += (i == 0 ? "" : ", ") + ids[i];
  if (ids.size() > kMaxCandidates) list += ", ...";
  return Error{Errc::conflict, std::string(t.noun) + " id prefix " + std::string(prefix) +
                                   " is ambiguous: it matches " + list + "; give more characters"};
}

std::string filter_sql(const PackageFilter& f) {
  std::string sql = "SELECT " + detail::package_columns() + " FROM packages WHERE 1 = 1";
  if (f.search) sql += " AND (instr(lower(name), :search) > 0 OR instr(lower(description), :search) > 0)";
  if (f.state) sql += " AND state = :state";
  if (f.job) sql += " AND job = :job";
  return sql + " ORDER BY created_at DESC, rowid DESC LIMIT :limit";
}

constexpr std::array<std::string_view, 2> kDeliveryKinds = {"delivery", "forward"};

DeliveryRecord read_delivery(SQLite::Statement& q) {
  DeliveryRecord d;
  d.package_id = q.getColumn(0).getString();
  d.dir = q.getColumn(1).getString();
  if (!q.getColumn(2).isNull()) d.file = q.getColumn(2).getString();
  d.on_exists = q.getColumn(3).getString();
  d.state = q.getColumn(4).getString();
  d.note = q.getColumn(5).getString();
  d.at = detail::from_micros(q.getColumn(6).getInt64());
  d.kind = q.getColumn(7).getString() == "forward" ? DeliveryKind::forward : DeliveryKind::delivery;
  d.user = q.getColumn(8).getString();
  return d;
}

/// The form a folder is remembered in: absolute, normalised, no trailing '/'.
std::string folder_key(const std::filesystem::path& dir) {
  auto p = std::filesystem::absolute(dir).lexically_normal();
  if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  return p.string();
}

}  // namespace

std::string_view to_string(PackageState state) { return kStateNames[static_cast<size_t>(state)]; }

bool finished(PackageState state) {
  return state == PackageState::succeeded || state == PackageState::failed || state == PackageState::cancelled ||
         state == PackageState::skipped;
}

std::string_view to_string(DeliveryKind kind) { return kDeliveryKinds[static_cast<size_t>(kind)]; }

std::optional<PackageState> parse_package_state(std::string_view text) {
  auto it = std::ranges::find(kStateNames, text);
  if (it == kStateNames.end()) return std::nullopt;
  return static_cast<PackageState>(it - kStateNames.begin());
}

namespace detail {

Error no_record(const IdTable& t, std::string_view id) {
  return Error{Errc::not_found, "no " + std::string(t.noun) + " " + std::string(id)};
}

bool row_exists(SQLite::Database& db, const IdTable& t, std::string_view id) {
  SQLite::Statement q(db, std::string("SELECT 1 FROM ") + t.table + " WHERE id = ?");
  q.bind(1, std::string(id));
  return q.executeStep();
}

Expected<std::string> resolve_id(SQLite::Database& db, const IdTable& t, std::string_view id) {
  if (row_exists(db, t, id)) return std::string(id);
  if (id.size() < kMinIdPrefix) return std::unexpected(no_record(t, id));
  auto ids = ids_with_prefix(db, t, id);
  if (ids.empty()) return std::unexpected(no_record(t, id));
  if (ids.size() > 1) return std::unexpected(ambiguous(t, id, ids));
  return ids.front();
}

}  // namespace detail

Records::Records(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
Records::~Records() = default;

Expected<std::unique_ptr<Records>> Records::open(const std::filesystem::path& file, Clock& clock) {
  auto db = FERRY_TRY(sqlitedb::open_database(file, detail::migrations(), "records"));
  auto rep = std::unique_ptr<Rep>(new Rep{file, clock, std::move(db), {}});
  return std::unique_ptr<Records>(new Records(std::move(rep)));
}

Status Records::insert_package(const PackageRecord& record) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    if (package_exists(db, record.id)) {
      return fail(Errc::conflict, "package " + record.id + " is already recorded");
    }
    SQLite::Statement q(db, detail::insert_package_sql());
    detail::bind_package(q, record);
    q.exec();
    return {};
  });
}

Status Records::update_package(const PackageRecord& record) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    SQLite::Statement q(db, detail::update_package_sql());
    detail::bind_package(q, record);
    if (q.exec() == 0) return std::unexpected(no_package(record.id));
    return {};
  });
}

Status Records::set_progress(std::string_view id, int64_t objects_done, int64_t objects_total, uint64_t bytes_done,
                             uint64_t bytes_total) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    SQLite::Statement q(db,
                        "UPDATE packages SET objects_done = ?2, objects_total = ?3, bytes_done = ?4, "
                        "bytes_total = ?5 WHERE id = ?1");
    q.bind(1, std::string(id));
    q.bind(2, objects_done);
    q.bind(3, objects_total);
    q.bind(4, static_cast<int64_t>(bytes_done));
    q.bind(5, static_cast<int64_t>(bytes_total));
    if (q.exec() == 0) return std::unexpected(no_package(id));
    return {};
  });
}

Expected<PackageRecord> Records::package(std::string_view id) const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<PackageRecord> {
    auto full_id = FERRY_TRY(detail::resolve_id(db, kPackages, id));
    SQLite::Statement q(db, "SELECT " + detail::package_columns() + " FROM packages WHERE id = ?");
    q.bind(1, full_id);
    if (!q.executeStep()) return std::unexpected(no_package(id));
    return detail::read_package(q, rep_->path);
  });
}

Expected<std::vector<PackageRecord>> Records::packages(const PackageFilter& filter) const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::vector<PackageRecord>> {
    SQLite::Statement q(db, filter_sql(filter));
    if (filter.search) q.bind(":search", ascii_lower(*filter.search));
    if (filter.state) q.bind(":state", std::string(to_string(*filter.state)));
    if (filter.job) q.bind(":job", *filter.job);
    q.bind(":limit", static_cast<int64_t>(std::min<size_t>(filter.limit, INT64_MAX)));
    std::vector<PackageRecord> out;
    while (q.executeStep()) out.push_back(FERRY_TRY(detail::read_package(q, rep_->path)));
    return out;
  });
}

Status Records::delete_package(std::string_view id) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    SQLite::Statement q(db, "DELETE FROM packages WHERE id = ?");  // deliveries go by ON DELETE CASCADE
    q.bind(1, std::string(id));
    if (q.exec() == 0) return std::unexpected(no_package(id));
    return {};
  });
}

// The newest keep_last packages stay whatever their age; of the rest, finished ones
// older than the cutoff go.
Expected<std::vector<PackageRecord>> Records::expired_packages(TimePoint cutoff, int64_t keep_last) const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::vector<PackageRecord>> {
    SQLite::Statement q(db, "SELECT " + detail::package_columns() +
                                " FROM packages WHERE created_at < ?1 AND state IN "
                                "('succeeded', 'failed', 'cancelled', 'skipped') AND rowid NOT IN "
                                "(SELECT rowid FROM packages ORDER BY created_at DESC, rowid DESC LIMIT ?2) "
                                "ORDER BY created_at, rowid");
    q.bind(1, detail::to_micros(cutoff));
    q.bind(2, std::max<int64_t>(keep_last, 0));
    std::vector<PackageRecord> out;
    while (q.executeStep()) out.push_back(FERRY_TRY(detail::read_package(q, rep_->path)));
    return out;
  });
}

Expected<std::optional<TimePoint>> Records::oldest_beyond(int64_t keep_last) const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::optional<TimePoint>> {
    SQLite::Statement q(db,
                        "SELECT min(created_at) FROM packages WHERE rowid NOT IN "
                        "(SELECT rowid FROM packages ORDER BY created_at DESC, rowid DESC LIMIT ?1)");
    q.bind(1, std::max<int64_t>(keep_last, 0));
    if (!q.executeStep() || q.getColumn(0).isNull()) return std::optional<TimePoint>();
    return std::optional<TimePoint>(detail::from_micros(q.getColumn(0).getInt64()));
  });
}

Expected<std::optional<ManualMaintenance>> Records::maintenance() const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::optional<ManualMaintenance>> {
    SQLite::Statement q(db, "SELECT reason, user_name, since FROM maintenance WHERE id = 1");
    if (!q.executeStep()) return std::optional<ManualMaintenance>();
    return ManualMaintenance{q.getColumn(0).getString(), q.getColumn(1).getString(),
                             detail::from_micros(q.getColumn(2).getInt64())};
  });
}

Status Records::set_maintenance(const std::optional<ManualMaintenance>& state) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    if (!state) {
      db.exec("DELETE FROM maintenance");
      return {};
    }
    SQLite::Statement q(db,
                        "INSERT INTO maintenance (id, reason, user_name, since) VALUES (1, ?, ?, ?) "
                        "ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, user_name = excluded.user_name, "
                        "since = excluded.since");
    q.bind(1, state->reason);
    q.bind(2, state->user);
    q.bind(3, detail::to_micros(state->since));
    q.exec();
    return {};
  });
}

Status Records::add_delivery(const DeliveryRecord& record) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    if (!package_exists(db, record.package_id)) return std::unexpected(no_package(record.package_id));
    SQLite::Statement q(db,
                        "INSERT INTO deliveries (package_id, dir, file, on_exists, state, note, at, kind, user_name) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, record.package_id);
    q.bind(2, record.dir);
    if (record.file) q.bind(3, *record.file);  // left unbound: NULL
    q.bind(4, record.on_exists);
    q.bind(5, record.state);
    q.bind(6, record.note);
    q.bind(7, detail::to_micros(record.at));
    q.bind(8, std::string(to_string(record.kind)));
    q.bind(9, record.user);
    q.exec();
    return {};
  });
}

Expected<std::vector<DeliveryRecord>> Records::deliveries(std::string_view package_id) const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::vector<DeliveryRecord>> {
    SQLite::Statement q(db,
                        "SELECT package_id, dir, file, on_exists, state, note, at, kind, user_name FROM deliveries "
                        "WHERE package_id = ? ORDER BY seq");
    q.bind(1, std::string(package_id));
    std::vector<DeliveryRecord> out;
    while (q.executeStep()) out.push_back(read_delivery(q));
    return out;
  });
}

Status Records::remember_folder(const std::filesystem::path& dir) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    SQLite::Statement q(db, "INSERT INTO folders (dir, first_used) VALUES (?, ?) ON CONFLICT (dir) DO NOTHING");
    q.bind(1, folder_key(dir));
    q.bind(2, detail::to_micros(rep_->clock.now()));
    q.exec();
    return {};
  });
}

Expected<std::vector<std::filesystem::path>> Records::folders() const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::vector<std::filesystem::path>> {
    SQLite::Statement q(db, "SELECT dir FROM folders ORDER BY dir");
    std::vector<std::filesystem::path> out;
    while (q.executeStep()) out.emplace_back(q.getColumn(0).getString());
    return out;
  });
}

Expected<std::vector<std::string>> Records::fail_interrupted() {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::vector<std::string>> {
    constexpr const char* kWhere = " WHERE state IN ('queued', 'waiting_window', 'exporting')";
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement select(db, std::string("SELECT id FROM packages") + kWhere + " ORDER BY created_at, rowid");
    std::vector<std::string> ids;
    while (select.executeStep()) ids.push_back(select.getColumn(0).getString());
    SQLite::Statement update(db, std::string("UPDATE packages SET state = 'failed', error = ?, ended_at = ?") + kWhere);
    update.bind(1, std::string(kInterruptedError));
    update.bind(2, detail::to_micros(rep_->clock.now()));
    update.exec();
    tx.commit();
    return ids;
  });
}

Expected<int64_t> Records::next_sequence(std::string_view key) {
  return rep_->locked([&](SQLite::Database& db) -> Expected<int64_t> {
    SQLite::Statement q(db,
                        "INSERT INTO sequences (key, value) VALUES (?, 1) "
                        "ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value");
    q.bind(1, std::string(key));
    if (!q.executeStep()) return fail(Errc::internal, rep_->path.string() + ": no sequence value returned");
    int64_t value = q.getColumn(0).getInt64();
    q.reset();  // finish the statement so the write commits now
    return value;
  });
}

}  // namespace ferry::records
