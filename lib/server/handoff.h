// Imports: the worker-side import of one package file (shared by `ferryctl import`
// and watched folders), the import record's JSON, and Handoff, which watches every
// `watch:` folder of ferryd.yaml and imports what arrives there (PRODUCT.md sections
// 5 and 8, docs/import.md, docs/handoff.md).
//
// Threads: run_import() blocks (zip, hashing, SQLite): worker pool only. It takes
// Context::deploy_mutex around verification, planning and deploying, so one package
// at a time is deployed in this environment. Handoff lives on the event loop: start(),
// stop() and its destruction happen on the loop's thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "import/import.h"
#include "package/package.h"
#include "records/records.h"
#include "server/context.h"
#include "watch/watch.h"

namespace ferry::server {

/// Stop after planning (dry run: nothing is stored), after planning with the import
/// stored as `staged` (the package kept for `import deploy`), or deploy.
enum class ImportStep { plan_only, stage, deploy };
/// Whether a package already deployed here (same id and SHA-256) is taken again.
enum class Duplicates { import_again, skip };
/// An incremental package whose revision range leaves a gap after the last package
/// imported here from its source environment: refused (`ferryctl import`), left
/// waiting for its predecessor (watched folders), or deployed anyway (`--allow-gap`).
enum class Gaps { refuse, wait, allow };
/// Whether ImportJob::id is recorded already (a package that waited for its
/// predecessor): its record is then updated, not inserted.
enum class Recorded { no, yes };

struct ImportDone;

/// One import, as asked for by ferryctl or a watch rule.
struct ImportJob {
  std::string id;                 ///< the import id; a new GUID when empty
  std::filesystem::path package;  ///< the file to open
  std::string file;               ///< as recorded and reported (the path given, or the watched file)
  std::string origin;             ///< "ferryctl" or "watch:DIR"
  std::string user;               ///< owner of created objects, recorded
  importer::Policy policy;
  package::UnsignedPolicy unsigned_packages = package::UnsignedPolicy::refuse;
  ImportStep step = ImportStep::deploy;
  Duplicates duplicates = Duplicates::import_again;
  std::optional<std::string> refuse;  ///< after verification: fail the import with this reason
  Gaps gaps = Gaps::refuse;
  Recorded recorded = Recorded::no;
  /// Gaps::refuse: why the import refuses a gap, after the missing range (the
  /// watcher says how long it waited).
  std::string gap_advice = "import the missing package first, or import this one with --allow-gap";
  /// Recorded::yes: the state the record must still have once the lock is held
  /// (`import deploy`: staged); otherwise nothing happens and ImportDone::not_started says why.
  std::optional<records::ImportState> only_from;
  /// Called under the deploy lock once the report is made and before the record is
  /// stored (not for plan_only): a watched folder files the package and its report
  /// here, so nobody sees the report before the record that names where they went.
  std::function<void(ImportDone&)> file_away;
};

struct ImportDone {
  /// ImportJob::only_from did not hold: nothing was done or recorded.
  std::optional<Error> not_started;
  /// Set when a failure worth retrying stopped the import (io, unavailable,
  /// cancelled, ferryd stopping): nothing was recorded and record/report are empty.
  std::optional<Error> transient;
  records::ImportRecord record;
  nlohmann::json report;      ///< importer::report_json
  bool planned_only = false;  ///< a dry run that reached the plan (record not stored)
  bool stored = false;        ///< record was inserted into records
  bool waiting = false;       ///< Gaps::wait and the predecessor is missing: recorded waiting_predecessor
};

/// Worker: verifies, plans and (for ImportStep::deploy) deploys one package, under
/// ctx.deploy_mutex, and stores the ImportRecord (not for plan_only or transient).
/// Once planned, the record keeps job.package as its package_file (a staged import
/// is deployed from it) and the policy.
ImportDone run_import(Context& ctx, const ImportJob& job);

/// The gap an incremental package leaves after what was imported here from its source
/// environment ("... revisions 6..10 are missing ..."); nullopt when there is none:
/// not incremental, starting from revision 0, building on a package imported here,
/// or starting at or before the last revision imported from that source. Worker.
Expected<std::optional<std::string>> find_gap(Context& ctx, const package::Manifest& manifest);

/// The import record as the control protocol sends it (lib/cli/import_commands.cpp).
nlohmann::json import_json(const records::ImportRecord& record);

/// The watched folders. Owned by the Daemon.
class Handoff {
 public:
  explicit Handoff(Context& ctx) : ctx_(ctx) {}
  ~Handoff();
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;

  /// Starts one FolderWatcher per watch rule. Event loop.
  void start();
  /// Stops every watcher; imports running on workers finish. Event loop; idempotent.
  void stop();

 private:
  /// Whether a waiting package is tried again (its predecessor may have landed) or
  /// its gap_timeout ran out (it fails now).
  enum class Attempt { first, again, expired };
  boost::asio::awaitable<void> take(const config::WatchRule* rule, std::filesystem::path file, Attempt attempt);
  /// Event loop: after an import landed, every waiting package is tried again.
  void retry_waiting();
  /// A package ready in a folder whose rule names a window: taken now if the window is
  /// open, else held (in memory: the file stays where it is) until it opens.
  void offer(const config::WatchRule* rule, std::filesystem::path file);
  /// Takes what a rule holds once its window is open; else re-arms its timer.
  void release(const config::WatchRule* rule);

  /// Packages held for a closed window, per rule, in arrival order.
  struct Held {
    std::vector<std::filesystem::path> files;
    std::unique_ptr<boost::asio::steady_timer> timer;  ///< fires when the window next opens
  };
  std::map<const config::WatchRule*, Held> held_;  ///< event loop only

  /// A package held in its watched folder until its predecessor lands or gap_timeout.
  struct Waiting {
    const config::WatchRule* rule = nullptr;
    std::string import_id;
    std::unique_ptr<boost::asio::steady_timer> timer;  ///< fires at gap_timeout
    bool trying = false;                               ///< a take() of it is running
    bool expired = false;                              ///< gap_timeout ran out: the next attempt fails it
  };

  Context& ctx_;
  std::vector<std::unique_ptr<watch::FolderWatcher>> watchers_;
  std::map<std::filesystem::path, Waiting> waiting_;  ///< by file; event loop only
  bool stopped_ = false;
};

}  // namespace ferry::server
