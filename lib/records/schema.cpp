#include "records/schema.h"

#include <array>
#include <iterator>

namespace ferry::records::detail {
namespace {

// Append-only: a released migration is never edited, a change is a new entry.
// Times are microseconds since the Unix epoch (UTC); settings are JSON text.
// States are checked in C++, not with CHECK, so a later state needs no table rebuild.
constexpr sqlitedb::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE packages (
  id            TEXT PRIMARY KEY,      -- GUID
  name          TEXT NOT NULL,
  description   TEXT NOT NULL,
  job           TEXT,                  -- NULL for an ad-hoc export
  mode          TEXT NOT NULL,         -- full | incremental | selected
  settings      TEXT NOT NULL,         -- the export request as JSON, for retry
  user_name     TEXT NOT NULL,
  state         TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  started_at    INTEGER,
  ended_at      INTEGER,
  objects_done  INTEGER NOT NULL,
  objects_total INTEGER NOT NULL,
  bytes_done    INTEGER NOT NULL,
  bytes_total   INTEGER NOT NULL,
  object_count  INTEGER NOT NULL,
  size          INTEGER NOT NULL,
  sha256        TEXT NOT NULL,
  error         TEXT NOT NULL,
  file          TEXT,                  -- path in the package store
  revision_from INTEGER NOT NULL,
  revision_to   INTEGER NOT NULL
);
CREATE INDEX packages_by_created ON packages (created_at);
CREATE INDEX packages_by_job ON packages (job, created_at);
CREATE INDEX packages_by_state ON packages (state);

CREATE TABLE deliveries (
  seq        INTEGER PRIMARY KEY,      -- insertion order
  package_id TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
  dir        TEXT NOT NULL,
  file       TEXT,
  on_exists  TEXT NOT NULL,
  state      TEXT NOT NULL,            -- delivered | skipped | failed
  note       TEXT NOT NULL,
  at         INTEGER NOT NULL
);
CREATE INDEX deliveries_by_package ON deliveries (package_id, seq);

CREATE TABLE folders (                 -- every folder ferryd writes into: crash cleanup
  dir        TEXT PRIMARY KEY,
  first_used INTEGER NOT NULL
);

CREATE TABLE sequences (               -- {seq} counters of name templates
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
)sql"},
    {2, R"sql(
CREATE TABLE imports (
  id                 TEXT PRIMARY KEY,  -- GUID
  package_id         TEXT NOT NULL,
  package_name       TEXT NOT NULL,
  package_sha256     TEXT NOT NULL,
  source_environment TEXT NOT NULL,
  file               TEXT NOT NULL,     -- where the package came from
  origin             TEXT NOT NULL,     -- ferryctl | watch:/dir
  user_name          TEXT NOT NULL,
  state              TEXT NOT NULL,
  created_at         INTEGER NOT NULL,
  ended_at           INTEGER,
  error              TEXT NOT NULL,
  warnings           TEXT NOT NULL,     -- JSON array of strings
  report_file        TEXT
);
CREATE INDEX imports_by_created ON imports (created_at);
CREATE INDEX imports_by_package ON imports (package_id, package_sha256, state);
CREATE INDEX imports_by_state ON imports (state);

CREATE TABLE import_objects (
  import_id   TEXT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,         -- plan order, from 0
  type        TEXT NOT NULL,
  address     TEXT NOT NULL,
  source_guid TEXT NOT NULL,
  dest_guid   TEXT NOT NULL,
  action      TEXT NOT NULL,
  result      TEXT NOT NULL,
  reason      TEXT NOT NULL,
  warnings    TEXT NOT NULL,            -- JSON array of strings
  PRIMARY KEY (import_id, seq)
);
)sql"},
    {3, R"sql(
ALTER TABLE packages ADD COLUMN retry_of TEXT;            -- the failed or cancelled package this one retries

ALTER TABLE deliveries ADD COLUMN kind TEXT NOT NULL DEFAULT 'delivery';  -- delivery | forward
ALTER TABLE deliveries ADD COLUMN user_name TEXT NOT NULL DEFAULT '';     -- who forwarded it

CREATE TABLE maintenance (             -- one row while an admin (or maintenance.end: manual) holds it on
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  reason    TEXT NOT NULL,
  user_name TEXT NOT NULL,
  since     INTEGER NOT NULL
);
)sql"},
    {4, R"sql(
CREATE TABLE job_state (               -- per job: survives restarts and reloads
  name       TEXT PRIMARY KEY,
  first_seen INTEGER NOT NULL,         -- when a job of this name was first loaded
  last_fire  INTEGER                   -- the latest fire time dealt with (run or skipped)
);

CREATE TABLE job_runs (                -- job history: every due or manual run, skipped ones too
  seq        INTEGER PRIMARY KEY,
  job        TEXT NOT NULL,
  due_at     INTEGER NOT NULL,
  trigger    TEXT NOT NULL,            -- schedule | catch_up | manual | manual_now
  user_name  TEXT NOT NULL,
  package_id TEXT,                     -- NULL for a skipped run
  state      TEXT NOT NULL,            -- the package's state when recorded, or skipped
  reason     TEXT NOT NULL,
  at         INTEGER NOT NULL
);
CREATE INDEX job_runs_by_job ON job_runs (job, seq);
)sql"},
    // Issue 7 (import gaps): the revision range of an incremental package and the
    // package it builds on, so a later package can tell whether one is missing.
    {5, R"sql(
ALTER TABLE imports ADD COLUMN revision_from INTEGER;        -- NULL: the package has no revision range
ALTER TABLE imports ADD COLUMN revision_to INTEGER;
ALTER TABLE imports ADD COLUMN previous_package_id TEXT;
CREATE INDEX imports_by_source ON imports (source_environment, state);
-- Issue 7 (staged imports): where the package is kept and the policy to deploy it with.
ALTER TABLE imports ADD COLUMN package_file TEXT;
ALTER TABLE imports ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';   -- JSON, as `ferryctl import` sends it
)sql"},
    // Issue 8 (submit hooks): each object's post-deploy hook outcome, apart from its
    // deploy result (import_objects rows are rewritten with the record; these are not).
    {6, R"sql(
CREATE TABLE import_submissions (
  import_id   TEXT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,         -- the object's seq in import_objects (plan order)
  state       TEXT NOT NULL,            -- submitting | submitted | submission_failed
  reason      TEXT NOT NULL,
  exit_status INTEGER,                  -- NULL unless the command exited by itself
  stderr_tail TEXT NOT NULL,
  attempts    INTEGER NOT NULL,
  started_at  INTEGER,
  ended_at    INTEGER,
  PRIMARY KEY (import_id, seq)
);
CREATE INDEX import_submissions_by_state ON import_submissions (state);
)sql"},
};

constexpr std::array<const char*, 23> kPackageColumns = {
    "id",          "name",         "description", "job",      "mode",         "settings",      "user_name",
    "state",       "created_at",   "started_at",  "ended_at", "objects_done", "objects_total", "bytes_done",
    "bytes_total", "object_count", "size",        "sha256",   "error",        "file",          "revision_from",
    "revision_to", "retry_of"};

std::string join_columns() {
  std::string out;
  for (const char* c : kPackageColumns) out += (out.empty() ? "" : ", ") + std::string(c);
  return out;
}

std::string make_insert_sql() {
  std::string params;
  for (size_t i = 1; i <= kPackageColumns.size(); ++i) params += (i == 1 ? "?" : ", ?") + std::to_string(i);
  return "INSERT INTO packages (" + join_columns() + ") VALUES (" + params + ")";
}

std::string make_update_sql() {
  std::string sets;
  for (size_t i = 1; i < kPackageColumns.size(); ++i) {  // column 0 (id) is the key
    sets += (i == 1 ? "" : ", ") + std::string(kPackageColumns[i]) + " = ?" + std::to_string(i + 1);
  }
  return "UPDATE packages SET " + sets + " WHERE id = ?1";
}

void bind_optional(SQLite::Statement& stmt, int index, const std::optional<std::string>& value) {
  if (value) {
    stmt.bind(index, *value);
  } else {
    stmt.bind(index);
  }
}

void bind_optional(SQLite::Statement& stmt, int index, const std::optional<TimePoint>& value) {
  if (value) {
    stmt.bind(index, to_micros(*value));
  } else {
    stmt.bind(index);
  }
}

std::optional<std::string> optional_text(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getString();
}

std::optional<TimePoint> optional_time(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return from_micros(c.getInt64());
}

}  // namespace

std::span<const sqlitedb::Migration> migrations() { return kMigrations; }

const std::string& package_columns() {
  static const std::string sql = join_columns();
  return sql;
}

const std::string& insert_package_sql() {
  static const std::string sql = make_insert_sql();
  return sql;
}

const std::string& update_package_sql() {
  static const std::string sql = make_update_sql();
  return sql;
}

int64_t to_micros(TimePoint t) { return t.time_since_epoch().count(); }
TimePoint from_micros(int64_t us) { return TimePoint(std::chrono::microseconds(us)); }

void bind_package(SQLite::Statement& stmt, const PackageRecord& r) {
  stmt.bind(1, r.id);
  stmt.bind(2, r.name);
  stmt.bind(3, r.description);
  bind_optional(stmt, 4, r.job);
  stmt.bind(5, r.mode);
  stmt.bind(6, r.settings.dump());
  stmt.bind(7, r.user);
  stmt.bind(8, std::string(to_string(r.state)));
  stmt.bind(9, to_micros(r.created_at));
  bind_optional(stmt, 10, r.started_at);
  bind_optional(stmt, 11, r.ended_at);
  stmt.bind(12, r.objects_done);
  stmt.bind(13, r.objects_total);
  stmt.bind(14, static_cast<int64_t>(r.bytes_done));  // SQLite integers are signed 64-bit
  stmt.bind(15, static_cast<int64_t>(r.bytes_total));
  stmt.bind(16, r.object_count);
  stmt.bind(17, static_cast<int64_t>(r.size));
  stmt.bind(18, r.sha256);
  stmt.bind(19, r.error);
  bind_optional(stmt, 20, r.file);
  stmt.bind(21, r.revision_from);
  stmt.bind(22, r.revision_to);
  bind_optional(stmt, 23, r.retry_of);
}

Expected<PackageRecord> read_package(SQLite::Statement& stmt, const std::filesystem::path& db_path) {
  PackageRecord r;
  r.id = stmt.getColumn(0).getString();
  auto state = parse_package_state(stmt.getColumn(7).getString());
  if (!state) {
    return fail(Errc::corrupt, db_path.string() + ": package " + r.id + " has the unknown state '" +
                                   stmt.getColumn(7).getString() + "'; was it written by a newer ferry?");
  }
  r.name = stmt.getColumn(1).getString();
  r.description = stmt.getColumn(2).getString();
  r.job = optional_text(stmt.getColumn(3));
  r.mode = stmt.getColumn(4).getString();
  r.settings = nlohmann::json::parse(stmt.getColumn(5).getString());
  r.user = stmt.getColumn(6).getString();
  r.state = *state;
  r.created_at = from_micros(stmt.getColumn(8).getInt64());
  r.started_at = optional_time(stmt.getColumn(9));
  r.ended_at = optional_time(stmt.getColumn(10));
  r.objects_done = stmt.getColumn(11).getInt64();
  r.objects_total = stmt.getColumn(12).getInt64();
  r.bytes_done = static_cast<uint64_t>(stmt.getColumn(13).getInt64());
  r.bytes_total = static_cast<uint64_t>(stmt.getColumn(14).getInt64());
  r.object_count = stmt.getColumn(15).getInt64();
  r.size = static_cast<uint64_t>(stmt.getColumn(16).getInt64());
  r.sha256 = stmt.getColumn(17).getString();
  r.error = stmt.getColumn(18).getString();
  r.file = optional_text(stmt.getColumn(19));
  r.revision_from = stmt.getColumn(20).getInt64();
  r.revision_to = stmt.getColumn(21).getInt64();
  r.retry_of = optional_text(stmt.getColumn(22));
  return r;
}

}  // namespace ferry::records::detail
