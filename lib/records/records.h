// The daemon's own records in STATE_DIR/records.db: packages it made (state,
// progress, settings, result), where each was delivered, the folders it has written
// into (for crash cleanup), and counters for the {seq} name template. Later issues
// add tables (import history, job history) as further migrations in records.cpp.
//
// Threads: Records is thread-safe (one connection behind an internal mutex) and every
// method blocks on disk: call from the worker pool, never from the event loop.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

  bool operator==(const PackageRecord&) const = default;
};

/// One delivery or forward of a package into a folder.
struct DeliveryRecord {
  std::string package_id;
  std::string dir;
  std::optional<std::string> file;  ///< the delivered file; nullopt when skipped or failed
  std::string on_exists;            ///< overwrite | rename | skip
  std::string state;                ///< delivered | skipped | failed
  std::string note;                 ///< "skipped: ... exists", "renamed: ...", or the error
  TimePoint at;

  bool operator==(const DeliveryRecord&) const = default;
};

struct PackageFilter {
  // Every field has an initializer so callers can write {.state = PackageState::failed}.
  std::optional<std::string> search = std::nullopt;  ///< substring of name or description; ASCII case-insensitive
  std::optional<PackageState> state = std::nullopt;
  std::optional<std::string> job = std::nullopt;
  size_t limit = 1000;
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

  /// Errc::not_found if the package is not recorded.
  Status add_delivery(const DeliveryRecord& record);
  /// Oldest first.
  Expected<std::vector<DeliveryRecord>> deliveries(std::string_view package_id) const;

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
