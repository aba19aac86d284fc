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
#include <nlohmann/json.hpp>

#include <filesystem>
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

/// Stop after planning (dry run: nothing is stored), or deploy.
enum class ImportStep { plan_only, deploy };
/// Whether a package already deployed here (same id and SHA-256) is taken again.
enum class Duplicates { import_again, skip };

/// One import, as asked for by ferryctl or a watch rule.
struct ImportJob {
  std::string id;                  ///< the import id; a new GUID when empty
  std::filesystem::path package;   ///< the file to open
  std::string file;                ///< as recorded and reported (the path given, or the watched file)
  std::string origin;              ///< "ferryctl" or "watch:DIR"
  std::string user;                ///< owner of created objects, recorded
  importer::Policy policy;
  package::UnsignedPolicy unsigned_packages = package::UnsignedPolicy::refuse;
  ImportStep step = ImportStep::deploy;
  Duplicates duplicates = Duplicates::import_again;
  std::optional<std::string> refuse;  ///< after verification: fail the import with this reason
};

struct ImportDone {
  /// Set when a failure worth retrying stopped the import (io, unavailable,
  /// cancelled, ferryd stopping): nothing was recorded and record/report are empty.
  std::optional<Error> transient;
  records::ImportRecord record;
  nlohmann::json report;  ///< importer::report_json
  bool planned_only = false;  ///< a dry run that reached the plan (record not stored)
  bool stored = false;        ///< record was inserted into records
};

/// Worker: verifies, plans and (unless plan_only) deploys one package, under
/// ctx.deploy_mutex, and stores the ImportRecord (not for plan_only or transient).
ImportDone run_import(Context& ctx, const ImportJob& job);

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
  boost::asio::awaitable<void> take(const config::WatchRule* rule, std::filesystem::path file);

  Context& ctx_;
  std::vector<std::unique_ptr<watch::FolderWatcher>> watchers_;
};

}  // namespace ferry::server
