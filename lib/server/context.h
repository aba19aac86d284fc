// What command handlers may use. Owned by the Daemon; handlers run on the event loop.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stop_token>

#include "access/access.h"
#include "catalog/catalog.h"
#include "config/config.h"
#include "records/records.h"
#include "server/exports.h"
#include "server/workers.h"
#include "signing/signing.h"
#include "types/types.h"
#include "util/clock.h"

namespace ferry::server {

class Retention;
class Scheduler;
class Submitter;

struct Context {
  const config::Config& config;
  const types::TypeRegistry& types;
  catalog::Catalog& catalog;  ///< blocking: call only through workers.run()
  records::Records& records;  ///< blocking: call only through workers.run()
  Workers& workers;
  const access::Access& access;
  Clock& clock;
  TimePoint started_at;
  boost::asio::any_io_executor loop;
  const signing::SecretKey* signing_key;  ///< nullptr when signing.key is not set
  std::filesystem::path package_store;    ///< state_dir/packages: every exported package
  Exports& exports;                       ///< event loop only
  const signing::TrustStore* trust;       ///< signing.trusted; never null (empty when none)
  std::filesystem::path import_store;     ///< state_dir/imports: packages received by `ferryctl import`
  std::mutex& deploy_mutex;               ///< held (on a worker) around verify+plan+deploy: one import at a time
  std::stop_token stopping;               ///< requested when ferryd stops; any thread may read it
  /// Maintenance held on by hand or by `maintenance.end: manual`; event loop only
  /// (records.db keeps it across restarts).
  std::optional<records::ManualMaintenance> manual_maintenance = std::nullopt;
  Retention* retention = nullptr;  ///< prunes old packages; event loop only
  Scheduler* scheduler = nullptr;  ///< jobs and windows; event loop only
  Submitter* submitter = nullptr;  ///< post-deploy submit hooks; event loop only
};

}  // namespace ferry::server
