// Watching a handoff folder for packages (PRODUCT.md section 8, docs/handoff.md):
// FolderWatcher tells its owner, on the event loop, when a package file in the folder
// is ready to take; move_to() files a package away into processed/ or failed/ with
// its report once the importer is done with it.
//
// Which files: regular files named *.zip directly in the folder. Dot-files, *.partial,
// *.zip.sha256 sidecars, sub-folders (processed/, failed/) and symbolic links are not
// packages. A file renamed into the folder is ready at once (a rename is atomic, and
// ferry's delivery and careful transfer tools write under a temporary name first). A
// file written in place (scp, rsync without temporary files) is ready once its size
// and mtime have been stable for `settle`. With Sidecar::required a package is ready
// only once NAME.zip.sha256 exists and the package's SHA-256 matches it; a missing or
// wrong sidecar keeps it waiting until the sidecar or the package changes.
//
// Each file is reported once per appearance: a file that leaves the folder (moved to
// processed/, deleted) and comes back is reported again, and so is every file still in
// a folder that went away and came back. Deduplicating packages (same id and SHA-256)
// is the importer's job, not the watcher's.
//
// Threads: FolderWatcher lives on the daemon's event loop. Construct, start(), stop()
// and destroy it on the loop's thread (the executor must not run handlers on several
// threads at once); its callbacks run there too. It never blocks the loop: folder
// scans and hashing go through the Offload function to the worker pool. In inotify
// mode the watcher lstat()s single files on the loop, which is a metadata lookup on a
// local file system (inotify works only on those). move_to() blocks on disk: call it
// from the worker pool.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "util/error.h"

namespace ferry::watch {

/// Whether a package needs a matching NAME.zip.sha256 before it is ready.
enum class Sidecar {
  optional,  ///< ready when renamed in, or stable for `settle` (default)
  required,  ///< ready only once the sidecar exists and matches (watch rule `require_sidecar: true`)
};

struct Options {
  /// 0 = inotify (local folders; no periodic wake-ups). Above 0 = scan the folder at
  /// this interval instead, for NFS and other network file systems where inotify sees
  /// nothing; a file is then ready at the first scan at which it has been unchanged
  /// for `settle`. Watch rule `poll`, default 0.
  std::chrono::milliseconds poll{0};
  /// How long a file written in place must keep its size and mtime before it is taken.
  /// Watch rule `settle`, default 2s; negative values count as 0.
  std::chrono::milliseconds settle{std::chrono::seconds(2)};
  Sidecar sidecar = Sidecar::optional;
  /// While the folder is missing or unreadable (removed, renamed, an unmounted
  /// removable disk), how often to try watching it again. Default 10s; at least 1ms.
  /// In poll mode the next scan is the retry.
  std::chrono::milliseconds retry{std::chrono::seconds(10)};
};

/// Runs job on a worker thread, soon; never inline on the loop. Called on the loop.
/// The job does blocking work (a folder scan, hashing a package) and posts its result
/// back to the loop itself, holding the loop's outstanding work meanwhile. The job
/// does not throw. With server::Workers the daemon passes, for example,
///   [&](std::function<void()> job) {
///     co_spawn(loop, workers.run([job] { job(); return true; }), detached);
///   }
using Offload = std::function<void(std::function<void()> job)>;

/// A package file in the folder is ready to take. Called on the loop, once per
/// appearance of the file. The callback may call stop() or destroy the watcher.
using OnReady = std::function<void(std::filesystem::path file)>;

/// The folder cannot be watched (it was removed, moved, unmounted or is unreadable,
/// or the inotify limits are reached), or a package or its sidecar cannot be read.
/// May be empty. Called on the loop, once when the problem starts; the watcher keeps trying
/// (Options::retry) and reports the files that are there when the folder is back.
using OnError = std::function<void(const Error& error)>;

class FolderWatcher {
 public:
  /// Does nothing until start(). `dir` is the watched folder (watch rule `dir`).
  FolderWatcher(boost::asio::any_io_executor loop, std::filesystem::path dir, Options options, Offload offload,
                OnReady on_ready, OnError on_error);
  /// Stops; must run on the loop's thread.
  ~FolderWatcher();
  FolderWatcher(const FolderWatcher&) = delete;
  FolderWatcher& operator=(const FolderWatcher&) = delete;

  /// Starts watching (call once, on the loop): creates processed/ and failed/ in the
  /// folder if missing, reports every package already there once it is ready, then
  /// every package that arrives. A folder that cannot be watched now goes to on_error
  /// and is retried; start() itself does not fail.
  void start();

  /// Cancels every timer, read and pending check; no callback runs afterwards.
  /// Idempotent. Offloaded jobs still running finish on their worker and are ignored.
  void stop();

  const std::filesystem::path& dir() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  ///< shared with pending handlers, so it outlives them
};

/// Where a package goes once the importer is done with it.
enum class Outcome {
  processed,  ///< deployed, unchanged, or staged under `mode: stage`
  failed,     ///< everything else
};

/// The sub-folder's name: "processed" or "failed".
std::string_view to_string(Outcome outcome);

/// Where move_to() put things.
struct Moved {
  std::filesystem::path package;                 ///< FOLDER/processed/NAME.zip (or NAME-2.zip, ...)
  std::optional<std::filesystem::path> sidecar;  ///< its .sha256, if the package had one
  std::filesystem::path report;                  ///< FOLDER/processed/NAME.report.json
};

/// Moves `file` (FOLDER/NAME.zip) into FOLDER/processed/ or FOLDER/failed/ (created if
/// missing) by rename, under the first of NAME.zip, NAME-2.zip, ... that holds no
/// package, sidecar or report there; moves NAME.zip.sha256 along if present (rewritten
/// to name the new file name when the package was renamed), and writes report_json as
/// <final name without .zip>.report.json beside the package, atomically. Never deletes
/// a package and never replaces a file. Blocks on disk: call from the worker pool.
/// Errors name the files; after the package has moved, they also say where it is now.
Expected<Moved> move_to(const std::filesystem::path& file, Outcome outcome, std::string_view report_json);

}  // namespace ferry::watch
