// The daemon's own records in STATE_DIR/records.db: packages it made (state,
// progress, settings, result), where each was delivered, the folders it has written
// into (for crash cleanup), counters for the {seq} name template, and the imports it
// received (state and per-object outcome). Later issues add tables (job history) as
// further migrations in schema.cpp.
//
// Threads: Records is thread-safe (one connection behind an internal mutex) and every
// method blocks on disk: call from the worker pool, never from the event loop.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/clock.h"
#include "util/error.h"

namespace SQLite {
class Database;
}

namespace ferry::records {

/// A package's lifecycle (PRODUCT.md section 3); `skipped` is an export with nothing
/// to do ("no changes"). The strings are stored and shown to operators.
enum class PackageState { queued, waiting_window, exporting, succeeded, failed, cancelled, skipped };

std::string_view to_string(PackageState state);
std::optional<PackageState> parse_package_state(std::string_view text);

struct PackageRecord {
  std::string id;  ///< package id (GUID)
  std::string name, description;
  std::optional<std::string> job;  ///< job name, when a job made it
  std::string mode;                ///< full | incremental | selected
  nlohmann::json settings;         ///< the export request as given, so `retry` can repeat it
  std::string user;                ///< who asked for it
  PackageState state = PackageState::queued;
  TimePoint created_at;
  std::optional<TimePoint> started_at, ended_at;
  int64_t objects_done = 0, objects_total = 0;  ///< progress
  uint64_t bytes_done = 0, bytes_total = 0;     ///< progress
  int64_t object_count = 0;
  uint64_t size = 0;
  std::string sha256;
  std::string error;
  std::optional<std::string> file;             ///< path of the package in the package store
  int64_t revision_from = 0, revision_to = 0;  ///< catalog revisions covered
  std::optional<std::string> retry_of;         ///< the failed or cancelled package this one re-exports

  bool operator==(const PackageRecord&) const = default;
};

/// Whether a package is stuck in a state nothing works on any more: succeeded,
/// failed, cancelled or skipped.
bool finished(PackageState state);

/// A delivery is part of the export; a forward is a later copy by `package forward`.
enum class DeliveryKind { delivery, forward };
std::string_view to_string(DeliveryKind kind);

/// One delivery or forward of a package into a folder.
struct DeliveryRecord {
  std::string package_id;
  std::string dir;
  std::optional<std::string> file;  ///< the delivered file; nullopt when skipped or failed
  std::string on_exists;            ///< overwrite | rename | skip
  std::string state;                ///< delivered | skipped | failed
  std::string note;                 ///< "skipped: ... exists", "renamed: ...", or the error
  TimePoint at;
  DeliveryKind kind = DeliveryKind::delivery;
  std::string user = {};  ///< who forwarded it; empty for deliveries (the package's user asked)

  bool operator==(const DeliveryRecord&) const = default;
};

struct PackageFilter {
  // Every field has an initializer so callers can write {.state = PackageState::failed}.
  std::optional<std::string> search = std::nullopt;  ///< substring of name or description; ASCII case-insensitive
  std::optional<PackageState> state = std::nullopt;
  std::optional<std::string> job = std::nullopt;
  size_t limit = 1000;
};

/// An import's lifecycle (PRODUCT.md sections 5 and 8). `unchanged`: the package (or a
/// duplicate of it) was already deployed and nothing changed. `waiting_predecessor`:
/// an incremental package in a watched folder waits for the package before it. The
/// strings are stored and shown to operators.
enum class ImportState {
  received,
  waiting_window,
  staged,
  deploying,
  deployed,
  unchanged,
  partially_deployed,
  failed,
  rejected,
  rolled_back,
  waiting_predecessor
};

std::string_view to_string(ImportState state);
std::optional<ImportState> parse_import_state(std::string_view text);

/// What became of one object's post-deploy `submit:` hook (docs/import.md, "Submit
/// hooks"), recorded apart from its deploy result. state: "" (no hook ran for it),
/// `submitting` (queued or running), `submitted`, or `submission_failed`.
struct Submission {
  std::string state;
  std::string reason;              ///< "exit status 3", "timed out after 5m", "interrupted: ferryd stopped", ...
  std::optional<int> exit_status;  ///< set when the command exited by itself
  std::string stderr_tail;         ///< the end of its stderr (at most 20 lines and 2 KiB)
  int64_t attempts = 0;            ///< runs started, the first and each resubmit
  std::optional<TimePoint> started_at, ended_at;

  bool operator==(const Submission&) const = default;
};

/// What an import planned for, and did to, one object of the package.
struct ImportObjectResult {
  std::string type, address;
  std::string source_guid;  ///< the GUID in the package
  std::string dest_guid;    ///< the GUID it has (or would have) here; empty when none
  std::string action;       ///< create | update | unchanged | delete | skip | conflict | error
  std::string result;       ///< what happened when deploying ("" while only planned)
  std::string reason;       ///< why, for skip, conflict, error and failures
  std::vector<std::string> warnings;
  /// Not written by insert_import/update_import (set_submissions keeps it); read back
  /// with the objects.
  Submission submission = {};

  bool operator==(const ImportObjectResult&) const = default;
};

struct ImportRecord {
  std::string id;  ///< import id (GUID)
  std::string package_id, package_name, package_sha256, source_environment;
  std::string file;    ///< where the package came from, as given (path or file name)
  std::string origin;  ///< "ferryctl" or "watch:/dir"
  std::string user;    ///< who asked for it (the watching daemon's user for a watch rule)
  ImportState state = ImportState::received;
  TimePoint created_at;
  std::optional<TimePoint> ended_at;
  std::string error;
  std::vector<ImportObjectResult> objects;           ///< in plan (deployment) order
  std::vector<std::string> warnings;                 ///< about the package as a whole
  std::optional<std::string> report_file;            ///< the report.json written for it, if any
  std::optional<int64_t> revision_from;              ///< an incremental package's source revisions (from exclusive,
  std::optional<int64_t> revision_to;                ///< to inclusive); nullopt for other packages
  std::optional<std::string> previous_package_id;    ///< the package an incremental package builds on
  std::optional<std::string> package_file;           ///< staged: the package kept for `import deploy`
  nlohmann::json policy = nlohmann::json::object();  ///< the import policy, as the control protocol sends it
  /// Objects per submission state (submitting, submitted, submission_failed); read
  /// back by every query, written only by set_submissions.
  std::map<std::string, int64_t> submissions = {};

  bool operator==(const ImportRecord&) const = default;
};

/// Whether a listing loads each import's per-object rows (lists usually do not).
enum class ImportObjects { omitted, included };

struct ImportFilter {
  std::optional<ImportState> state = std::nullopt;
  size_t limit = 1000;
  ImportObjects objects = ImportObjects::omitted;  ///< omitted: objects is empty in every record
};

/// Maintenance held on by hand (`ferryctl maintenance on`) or left on after an export
/// under `maintenance.end: manual`, until an admin ends it.
struct ManualMaintenance {
  std::string reason;
  std::string user;  ///< who turned it on
  TimePoint since;
  bool operator==(const ManualMaintenance&) const = default;
};

/// What the scheduler keeps per job across restarts.
struct JobState {
  std::string name;
  TimePoint first_seen;                ///< when a job of this name was first loaded
  std::optional<TimePoint> last_fire;  ///< the latest fire time dealt with (run or skipped)
  bool operator==(const JobState&) const = default;
};

/// One line of a job's history: a run that was due (or asked for), and what became of it.
struct JobRun {
  std::string job;
  TimePoint due_at;
  std::string trigger;                    ///< schedule | catch_up | manual | manual_now
  std::string user;                       ///< who asked (manual), else ""
  std::optional<std::string> package_id;  ///< nullopt for a skipped run
  std::string state;                      ///< the package's state now, or "skipped"
  std::string reason;                     ///< why it was skipped, or the package's error
  TimePoint at;                           ///< when it was recorded
  // From the package record, when it still exists (retention may have removed it).
  std::string package_name = {};
  std::optional<TimePoint> started_at = {}, ended_at = {};
  bool operator==(const JobRun&) const = default;
};

/// Records shorter than this cannot be looked up by id prefix (too likely ambiguous).
inline constexpr size_t kMinIdPrefix = 8;

class Records {
 public:
  /// Opens (creating and migrating) the records database at file. clock stamps
  /// folders and interrupted packages; it must outlive the Records.
  static Expected<std::unique_ptr<Records>> open(const std::filesystem::path& file, Clock& clock);
  ~Records();
  Records(const Records&) = delete;
  Records& operator=(const Records&) = delete;

  /// Errc::conflict if the id is already recorded.
  Status insert_package(const PackageRecord& record);
  /// Replaces every field of the row with record.id; Errc::not_found if there is none.
  Status update_package(const PackageRecord& record);
  /// Updates only the progress counters (frequent, small writes while exporting).
  Status set_progress(std::string_view id, int64_t objects_done, int64_t objects_total, uint64_t bytes_done,
                      uint64_t bytes_total);
  /// By full id, or by a unique prefix of at least kMinIdPrefix characters. Errc::not_found
  /// "no package ID"; Errc::conflict naming the candidates for an ambiguous prefix.
  Expected<PackageRecord> package(std::string_view id) const;
  /// Newest first (by created_at, then insertion), at most filter.limit.
  Expected<std::vector<PackageRecord>> packages(const PackageFilter& filter) const;
  /// Removes the record with this full id and its deliveries and forwards;
  /// Errc::not_found if there is none. The caller removes the file.
  Status delete_package(std::string_view id);
  /// Retention: finished packages created before `cutoff` that are not among the
  /// newest `keep_last` packages (of any state), oldest first.
  Expected<std::vector<PackageRecord>> expired_packages(TimePoint cutoff, int64_t keep_last) const;
  /// When the next package outside the newest `keep_last` ages past the retention
  /// period, as its created_at (the caller adds the period); nullopt if none.
  Expected<std::optional<TimePoint>> oldest_beyond(int64_t keep_last) const;

  /// Errc::conflict if the id is already recorded.
  Status insert_import(const ImportRecord& record);
  /// Replaces every field of the row with record.id, objects included (all or
  /// nothing); Errc::not_found if there is none.
  Status update_import(const ImportRecord& record);
  /// With its objects. By full id or a unique prefix of at least kMinIdPrefix
  /// characters; Errc::not_found "no import ID", Errc::conflict for an ambiguous prefix.
  Expected<ImportRecord> import(std::string_view id) const;
  /// Newest first (by created_at, then insertion), at most filter.limit.
  Expected<std::vector<ImportRecord>> imports(const ImportFilter& filter) const;
  /// The oldest import of this package (id and SHA-256) that deployed or was unchanged,
  /// with its objects; nullopt if none. A watched folder takes a package once: a later
  /// copy is a duplicate of this one.
  Expected<std::optional<ImportRecord>> find_import(std::string_view package_id, std::string_view sha256) const;
  /// The highest revision_to of the imports from this source environment that deployed,
  /// were unchanged or partially deployed; nullopt when none carried a revision range.
  Expected<std::optional<int64_t>> last_imported_revision(std::string_view source_environment) const;
  /// Whether a package with this id deployed here (or was unchanged, or partially deployed).
  Expected<bool> package_imported(std::string_view package_id) const;
  /// On start: imports a crash left received, waiting_window or deploying become failed
  /// with the error "interrupted: ferryd stopped during the import" and ended_at = now
  /// (staged imports keep waiting for `import deploy`). Returns their ids.
  Expected<std::vector<std::string>> fail_interrupted_imports();
  /// Sets the submission of each listed object (by its index in plan order) of an
  /// import, in one transaction; Errc::not_found when the import has no such object.
  Status set_submissions(std::string_view import_id, const std::vector<std::pair<size_t, Submission>>& submissions);
  /// On start: submissions a stop left `submitting` (their hooks were killed or never
  /// ran) become `submission_failed` with the reason "interrupted: ferryd stopped" and
  /// ended_at = now. Returns the ids of their imports.
  Expected<std::vector<std::string>> fail_interrupted_submissions();

  /// Errc::not_found if the package is not recorded.
  Status add_delivery(const DeliveryRecord& record);
  /// Deliveries and forwards, oldest first.
  Expected<std::vector<DeliveryRecord>> deliveries(std::string_view package_id) const;

  /// The job's state, created with first_seen = now if the job is new.
  Expected<JobState> job_state(std::string_view name, TimePoint now);
  Status set_last_fire(std::string_view name, TimePoint last_fire);
  /// Adds a line to the job's history (package state and times are read live from
  /// the package record when listing).
  Status add_job_run(const JobRun& run);
  /// A job's run starting, in one transaction (one disk sync on the scheduler's path):
  /// inserts the package record (Errc::conflict if its id is recorded), the history
  /// line, and the job's last fire time when given.
  Status start_job_run(const PackageRecord& package, const JobRun& run, std::optional<TimePoint> last_fire);
  /// Newest first, at most limit.
  Expected<std::vector<JobRun>> job_runs(std::string_view job, size_t limit) const;
  /// How many lines of the job's history are skipped runs (no package: missed fire
  /// times, concurrency), for `job list`.
  Expected<uint64_t> skipped_runs(std::string_view job) const;

  /// Maintenance held on by hand; nullopt when off.
  Expected<std::optional<ManualMaintenance>> maintenance() const;
  /// Turns manual maintenance on (replacing the reason) or off (nullopt).
  Status set_maintenance(const std::optional<ManualMaintenance>& state);

  /// Remembers a folder ferryd writes into, so leftover temporary files there can be
  /// removed after a crash. Idempotent. Call BEFORE the first write into dir.
  Status remember_folder(const std::filesystem::path& dir);
  /// Every remembered folder, sorted.
  Expected<std::vector<std::filesystem::path>> folders() const;

  /// On start: packages a crash left queued, waiting_window or exporting (nothing is
  /// working on them any more) become failed with the error "interrupted: ferryd stopped
  /// during the export" and ended_at = now. Returns their ids.
  Expected<std::vector<std::string>> fail_interrupted();

  /// 1, 2, 3... per key (e.g. key = the date for {seq} in a name template). Durable:
  /// a number is never handed out twice, even across restarts.
  Expected<int64_t> next_sequence(std::string_view key);

 private:
  struct Rep;
  explicit Records(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace ferry::records
