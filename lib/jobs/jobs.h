// Job files (PRODUCT.md section 6): every `*.yaml` in jobs_dir holds a `jobs:` list,
// read through yamlread key tables, so every error in a file is reported as
// "file:line:col: jobs[2].schedule.cron: message". Each file loads or fails on its
// own; merge() gives reload semantics (a failing file keeps its last good jobs).
// Reference for operators: docs/jobs.md.
//
// Threads: parse_job_file and merge are pure and may run anywhere; load_jobs reads
// the folder and its files, so call it from the worker pool.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "delivery/delivery.h"
#include "export/export.h"
#include "schedule/schedule.h"
#include "schedule/window.h"
#include "util/error.h"

namespace ferry::jobs {

/// What a due run does while the job's previous run still runs.
enum class Concurrency {
  forbid,   ///< skip the new run (recorded as skipped)
  replace,  ///< cancel the running one, then start
  allow,    ///< run both
};

/// What a running export does when its window closes.
enum class OnWindowClose { finish, cancel };

struct Job {
  std::string name;                              ///< unique across all job files
  exporter::Request request;                     ///< export, select, include_upstream, include_data
  std::optional<schedule::Spec> schedule = {};   ///< absent: on demand only (`ferryctl job run`)
  std::optional<std::string> window = {};        ///< an allow window of maintenance.windows
  std::optional<std::string> package_name = {};  ///< name template; absent: the daemon's default
  std::string description = {};                  ///< package description
  std::vector<delivery::Target> deliver = {};    ///< absent: the package stays in the package store
  bool enabled = true;
  Concurrency concurrency = Concurrency::forbid;
  schedule::MisfirePolicy misfire = {};  ///< misfire and starting_deadline
  OnWindowClose on_window_close = OnWindowClose::finish;

  std::filesystem::path file = {};  ///< the job file that defines it
  std::string where = {};           ///< "file:line:col" of its name, for messages
  /// SHA-256 (hex) of the definition, file and position excluded: equal fingerprints
  /// mean an unchanged job across reloads.
  std::string fingerprint = {};
};

std::string_view to_string(Concurrency value);
std::string_view to_string(OnWindowClose value);

/// One job file read on its own.
struct FileLoad {
  std::filesystem::path file;
  std::vector<Job> jobs;            ///< only when errors is empty
  std::vector<std::string> errors;  ///< every error in the file, "file:line:col: key.path: message"
  bool ok() const { return errors.empty(); }
};

/// Parses one job file's text. `file` is used in messages and for relative
/// `deliver.dir` paths; `config` for `window:` names. Checks everything one file can
/// (duplicate names inside it included); names shared with other files are merge()'s.
FileLoad parse_job_file(const std::filesystem::path& file, std::string_view text, const config::Config& config);

/// Reads every `*.yaml` directly in jobs_dir, sorted by name; hidden files (".x.yaml",
/// editors' temporaries) are ignored. A missing jobs_dir holds no jobs; an unreadable
/// one is an io error; an unreadable file is that file's error. With many files
/// (8 or more per thread) they are parsed on up to max_threads threads (the calling
/// one included; the others are started and joined here).
inline constexpr size_t kMaxLoadThreads = 4;
Expected<std::vector<FileLoad>> load_jobs(const std::filesystem::path& jobs_dir, const config::Config& config,
                                          size_t max_threads = kMaxLoadThreads);

enum class FileState {
  loaded,  ///< its jobs are the ones just read
  failed,  ///< its errors stand; the jobs in effect are its last good ones, if any
};

struct FileStatus {
  std::filesystem::path file;
  FileState state = FileState::loaded;
  std::vector<std::string> errors;
  size_t jobs = 0;  ///< jobs in effect from this file
};

/// The jobs in effect and how each file fared.
struct JobSet {
  std::vector<Job> jobs;          ///< sorted by name; names unique
  std::vector<FileStatus> files;  ///< sorted by path

  /// nullptr for an unknown name.
  const Job* find(std::string_view name) const;
  /// Every file's errors, in file order: for `ferryd --check` and `ferryctl status`.
  std::vector<std::string> errors() const;
};

/// Reload: the new set from `previous` and a fresh load_jobs(). A file that loads
/// gives its new jobs; a file that fails keeps the jobs it gave in `previous` (its
/// last good definition); a file no longer there takes its jobs with it. A job name
/// already defined by a file earlier in path order (or kept from it) fails the later
/// file, with an error naming both places. The first load is merge({}, loads).
JobSet merge(const JobSet& previous, std::vector<FileLoad> loads);

/// Job names by what a reload did to them, each list sorted.
struct Changes {
  std::vector<std::string> added;
  std::vector<std::string> changed;  ///< same name, different fingerprint
  std::vector<std::string> removed;
};
Changes diff(const JobSet& before, const JobSet& after);

/// The scheduler's view of maintenance.windows and exclusions. Errors (none after
/// config validated the file) name the window.
Expected<schedule::Windows> maintenance_windows(const config::Maintenance& maintenance);

}  // namespace ferry::jobs
