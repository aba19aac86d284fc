// Records of imports: the imports table (one row per import) and import_objects (one
// row per object of its plan, in order). Both are written together in a transaction.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <array>
#include <map>

#include "records/records.h"
#include "records/rep.h"
#include "records/schema.h"

namespace ferry::records {
namespace {

constexpr detail::IdTable kImports{"imports", "import"};

constexpr std::array<std::string_view, 11> kImportStateNames = {
    "received",           "waiting_window", "staged",   "deploying",   "deployed",           "unchanged",
    "partially_deployed", "failed",         "rejected", "rolled_back", "waiting_predecessor"};

/// Imports whose package counts as imported here (for duplicates and gaps).
constexpr const char* kLanded = "('deployed', 'unchanged', 'partially_deployed')";

constexpr std::string_view kInterruptedError = "interrupted: ferryd stopped during the import";
constexpr std::string_view kInterruptedSubmission = "interrupted: ferryd stopped";

constexpr const char* kColumns =
    "id, package_id, package_name, package_sha256, source_environment, file, origin, user_name, state, "
    "created_at, ended_at, error, warnings, report_file, revision_from, revision_to, previous_package_id, "
    "package_file, policy";

constexpr const char* kInsertSql =
    "INSERT INTO imports (id, package_id, package_name, package_sha256, source_environment, file, origin, "
    "user_name, state, created_at, ended_at, error, warnings, report_file, revision_from, revision_to, "
    "previous_package_id, package_file, policy) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

constexpr const char* kUpdateSql =
    "UPDATE imports SET package_id = ?2, package_name = ?3, package_sha256 = ?4, source_environment = ?5, "
    "file = ?6, origin = ?7, user_name = ?8, state = ?9, created_at = ?10, ended_at = ?11, error = ?12, "
    "warnings = ?13, report_file = ?14, revision_from = ?15, revision_to = ?16, previous_package_id = ?17, "
    "package_file = ?18, policy = ?19 WHERE id = ?1";

std::string strings_json(const std::vector<std::string>& list) { return nlohmann::json(list).dump(); }

std::vector<std::string> parse_strings(const std::string& text) {
  return nlohmann::json::parse(text).get<std::vector<std::string>>();
}

void bind_import(SQLite::Statement& q, const ImportRecord& r) {
  q.bind(1, r.id);
  q.bind(2, r.package_id);
  q.bind(3, r.package_name);
  q.bind(4, r.package_sha256);
  q.bind(5, r.source_environment);
  q.bind(6, r.file);
  q.bind(7, r.origin);
  q.bind(8, r.user);
  q.bind(9, std::string(to_string(r.state)));
  q.bind(10, detail::to_micros(r.created_at));
  if (r.ended_at) q.bind(11, detail::to_micros(*r.ended_at));  // left unbound: NULL
  q.bind(12, r.error);
  q.bind(13, strings_json(r.warnings));
  if (r.report_file) q.bind(14, *r.report_file);
  if (r.revision_from) q.bind(15, *r.revision_from);
  if (r.revision_to) q.bind(16, *r.revision_to);
  if (r.previous_package_id) q.bind(17, *r.previous_package_id);
  if (r.package_file) q.bind(18, *r.package_file);
  q.bind(19, r.policy.dump());
}

/// Reads a row selected with kColumns (objects are read separately).
Expected<ImportRecord> read_import(SQLite::Statement& q, const std::filesystem::path& db_path) {
  ImportRecord r;
  r.id = q.getColumn(0).getString();
  auto state = parse_import_state(q.getColumn(8).getString());
  if (!state) {
    return fail(Errc::corrupt, db_path.string() + ": import " + r.id + " has the unknown state '" +
                                   q.getColumn(8).getString() + "'; was it written by a newer ferry?");
  }
  r.package_id = q.getColumn(1).getString();
  r.package_name = q.getColumn(2).getString();
  r.package_sha256 = q.getColumn(3).getString();
  r.source_environment = q.getColumn(4).getString();
  r.file = q.getColumn(5).getString();
  r.origin = q.getColumn(6).getString();
  r.user = q.getColumn(7).getString();
  r.state = *state;
  r.created_at = detail::from_micros(q.getColumn(9).getInt64());
  if (!q.getColumn(10).isNull()) r.ended_at = detail::from_micros(q.getColumn(10).getInt64());
  r.error = q.getColumn(11).getString();
  r.warnings = parse_strings(q.getColumn(12).getString());
  if (!q.getColumn(13).isNull()) r.report_file = q.getColumn(13).getString();
  if (!q.getColumn(14).isNull()) r.revision_from = q.getColumn(14).getInt64();
  if (!q.getColumn(15).isNull()) r.revision_to = q.getColumn(15).getInt64();
  if (!q.getColumn(16).isNull()) r.previous_package_id = q.getColumn(16).getString();
  if (!q.getColumn(17).isNull()) r.package_file = q.getColumn(17).getString();
  r.policy = nlohmann::json::parse(q.getColumn(18).getString());
  return r;
}

/// Replaces the object rows of r.id with r.objects. Caller holds a transaction.
void write_objects(SQLite::Database& db, const ImportRecord& r) {
  SQLite::Statement clear(db, "DELETE FROM import_objects WHERE import_id = ?");
  clear.bind(1, r.id);
  clear.exec();
  SQLite::Statement q(db,
                      "INSERT INTO import_objects (import_id, seq, type, address, source_guid, dest_guid, action, "
                      "result, reason, warnings) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  for (size_t i = 0; i < r.objects.size(); ++i) {
    const auto& o = r.objects[i];
    q.bind(1, r.id);
    q.bind(2, static_cast<int64_t>(i));
    q.bind(3, o.type);
    q.bind(4, o.address);
    q.bind(5, o.source_guid);
    q.bind(6, o.dest_guid);
    q.bind(7, o.action);
    q.bind(8, o.result);
    q.bind(9, o.reason);
    q.bind(10, strings_json(o.warnings));
    q.exec();
    q.reset();
  }
}

std::optional<TimePoint> optional_time(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return detail::from_micros(c.getInt64());
}

/// The submission columns of read_objects' query, from column `at` on.
Submission read_submission(SQLite::Statement& q, int at) {
  Submission s;
  if (q.getColumn(at).isNull()) return s;  // no row: no hook ran for the object
  s.state = q.getColumn(at).getString();
  s.reason = q.getColumn(at + 1).getString();
  if (!q.getColumn(at + 2).isNull()) s.exit_status = q.getColumn(at + 2).getInt();
  s.stderr_tail = q.getColumn(at + 3).getString();
  s.attempts = q.getColumn(at + 4).getInt64();
  s.started_at = optional_time(q.getColumn(at + 5));
  s.ended_at = optional_time(q.getColumn(at + 6));
  return s;
}

std::vector<ImportObjectResult> read_objects(SQLite::Database& db, const std::string& import_id) {
  SQLite::Statement q(db,
                      "SELECT o.type, o.address, o.source_guid, o.dest_guid, o.action, o.result, o.reason, o.warnings, "
                      "s.state, s.reason, s.exit_status, s.stderr_tail, s.attempts, s.started_at, s.ended_at "
                      "FROM import_objects o LEFT JOIN import_submissions s ON s.import_id = o.import_id AND s.seq = "
                      "o.seq WHERE o.import_id = ? ORDER BY o.seq");
  q.bind(1, import_id);
  std::vector<ImportObjectResult> out;
  while (q.executeStep()) {
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                   q.getColumn(3).getString(), q.getColumn(4).getString(), q.getColumn(5).getString(),
                   q.getColumn(6).getString(), parse_strings(q.getColumn(7).getString()), read_submission(q, 8)});
  }
  return out;
}

std::map<std::string, int64_t> submission_counts(SQLite::Database& db, const std::string& import_id) {
  SQLite::Statement q(db, "SELECT state, COUNT(*) FROM import_submissions WHERE import_id = ? GROUP BY state");
  q.bind(1, import_id);
  std::map<std::string, int64_t> out;
  while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getInt64();
  return out;
}

/// Every row q selects (with kColumns), objects loaded when asked.
Expected<std::vector<ImportRecord>> read_all(SQLite::Database& db, SQLite::Statement& q,
                                             const std::filesystem::path& db_path, ImportObjects objects) {
  std::vector<ImportRecord> out;
  while (q.executeStep()) out.push_back(FERRY_TRY(read_import(q, db_path)));
  for (auto& r : out) r.submissions = submission_counts(db, r.id);
  if (objects == ImportObjects::included) {
    for (auto& r : out) r.objects = read_objects(db, r.id);
  }
  return out;
}

}  // namespace

std::string_view to_string(ImportState state) { return kImportStateNames[static_cast<size_t>(state)]; }

std::optional<ImportState> parse_import_state(std::string_view text) {
  auto it = std::ranges::find(kImportStateNames, text);
  if (it == kImportStateNames.end()) return std::nullopt;
  return static_cast<ImportState>(it - kImportStateNames.begin());
}

Status Records::insert_import(const ImportRecord& record) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    if (detail::row_exists(db, kImports, record.id)) {
      return fail(Errc::conflict, "import " + record.id + " is already recorded");
    }
    SQLite::Statement q(db, kInsertSql);
    bind_import(q, record);
    q.exec();
    write_objects(db, record);
    tx.commit();
    return {};
  });
}

Status Records::update_import(const ImportRecord& record) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement q(db, kUpdateSql);
    bind_import(q, record);
    if (q.exec() == 0) return std::unexpected(detail::no_record(kImports, record.id));
    write_objects(db, record);
    tx.commit();
    return {};
  });
}

Expected<ImportRecord> Records::import(std::string_view id) const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<ImportRecord> {
    auto full_id = FERRY_TRY(detail::resolve_id(db, kImports, id));
    SQLite::Statement q(db, std::string("SELECT ") + kColumns + " FROM imports WHERE id = ?");
    q.bind(1, full_id);
    auto found = FERRY_TRY(read_all(db, q, rep_->path, ImportObjects::included));
    if (found.empty()) return std::unexpected(detail::no_record(kImports, id));
    return std::move(found.front());
  });
}

Expected<std::vector<ImportRecord>> Records::imports(const ImportFilter& filter) const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::vector<ImportRecord>> {
    std::string sql = std::string("SELECT ") + kColumns + " FROM imports";
    if (filter.state) sql += " WHERE state = :state";
    SQLite::Statement q(db, sql + " ORDER BY created_at DESC, rowid DESC LIMIT :limit");
    if (filter.state) q.bind(":state", std::string(to_string(*filter.state)));
    q.bind(":limit", static_cast<int64_t>(std::min<size_t>(filter.limit, INT64_MAX)));
    return read_all(db, q, rep_->path, filter.objects);
  });
}

Expected<std::optional<ImportRecord>> Records::find_import(std::string_view package_id, std::string_view sha256) const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::optional<ImportRecord>> {
    SQLite::Statement q(db, std::string("SELECT ") + kColumns +
                                " FROM imports WHERE package_id = ? AND package_sha256 = ? "
                                "AND state IN ('deployed', 'unchanged') ORDER BY created_at, rowid LIMIT 1");
    q.bind(1, std::string(package_id));
    q.bind(2, std::string(sha256));
    auto found = FERRY_TRY(read_all(db, q, rep_->path, ImportObjects::included));
    if (found.empty()) return std::optional<ImportRecord>();
    return std::optional<ImportRecord>(std::move(found.front()));
  });
}

Expected<std::optional<int64_t>> Records::last_imported_revision(std::string_view source_environment) const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::optional<int64_t>> {
    SQLite::Statement q(
        db, std::string("SELECT MAX(revision_to) FROM imports WHERE source_environment = ? AND state IN ") + kLanded);
    q.bind(1, std::string(source_environment));
    if (!q.executeStep() || q.getColumn(0).isNull()) return std::optional<int64_t>();
    return std::optional<int64_t>(q.getColumn(0).getInt64());
  });
}

Expected<bool> Records::package_imported(std::string_view package_id) const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<bool> {
    SQLite::Statement q(db,
                        std::string("SELECT 1 FROM imports WHERE package_id = ? AND state IN ") + kLanded + " LIMIT 1");
    q.bind(1, std::string(package_id));
    return q.executeStep();
  });
}

Expected<std::vector<std::string>> Records::fail_interrupted_imports() {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::vector<std::string>> {
    // A package that waited for its predecessor is still in its watched folder and
    // is taken again (as a new import) when ferryd starts.
    constexpr const char* kWhere = " WHERE state IN ('received', 'waiting_window', 'deploying', 'waiting_predecessor')";
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement select(db, std::string("SELECT id FROM imports") + kWhere + " ORDER BY created_at, rowid");
    std::vector<std::string> ids;
    while (select.executeStep()) ids.push_back(select.getColumn(0).getString());
    SQLite::Statement update(db, std::string("UPDATE imports SET state = 'failed', error = ?, ended_at = ?") + kWhere);
    update.bind(1, std::string(kInterruptedError));
    update.bind(2, detail::to_micros(rep_->clock.now()));
    update.exec();
    tx.commit();
    return ids;
  });
}

Status Records::set_submissions(std::string_view import_id,
                                const std::vector<std::pair<size_t, Submission>>& submissions) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement exists(db, "SELECT 1 FROM import_objects WHERE import_id = ? AND seq = ?");
    SQLite::Statement q(db,
                        "INSERT OR REPLACE INTO import_submissions (import_id, seq, state, reason, exit_status, "
                        "stderr_tail, attempts, started_at, ended_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    for (const auto& [seq, s] : submissions) {
      exists.bind(1, std::string(import_id));
      exists.bind(2, static_cast<int64_t>(seq));
      if (!exists.executeStep()) {
        return fail(Errc::not_found, "import " + std::string(import_id) + " has no object " + std::to_string(seq));
      }
      exists.reset();
      q.bind(1, std::string(import_id));
      q.bind(2, static_cast<int64_t>(seq));
      q.bind(3, s.state);
      q.bind(4, s.reason);
      if (s.exit_status) q.bind(5, *s.exit_status);  // left unbound: NULL
      q.bind(6, s.stderr_tail);
      q.bind(7, s.attempts);
      if (s.started_at) q.bind(8, detail::to_micros(*s.started_at));
      if (s.ended_at) q.bind(9, detail::to_micros(*s.ended_at));
      q.exec();
      q.reset();
      q.clearBindings();
    }
    tx.commit();
    return {};
  });
}

Expected<std::vector<std::string>> Records::fail_interrupted_submissions() {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::vector<std::string>> {
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement select(db,
                             "SELECT DISTINCT import_id FROM import_submissions WHERE state = 'submitting' "
                             "ORDER BY import_id");
    std::vector<std::string> ids;
    while (select.executeStep()) ids.push_back(select.getColumn(0).getString());
    SQLite::Statement update(db,
                             "UPDATE import_submissions SET state = 'submission_failed', reason = ?, ended_at = ? "
                             "WHERE state = 'submitting'");
    update.bind(1, std::string(kInterruptedSubmission));
    update.bind(2, detail::to_micros(rep_->clock.now()));
    update.exec();
    tx.commit();
    return ids;
  });
}

}  // namespace ferry::records
