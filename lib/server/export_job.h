// One export, from request to delivered package. The blocking parts run on a
// worker; start_export() is the event-loop side that registers the export as running.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "control/control.h"
#include "delivery/delivery.h"
#include "export/export.h"
#include "records/records.h"
#include "server/context.h"

namespace ferry::server {

/// An export as asked for by `ferryctl export` (and later by jobs).
struct ExportOrder {
  exporter::Request request;
  std::string name_template;
  std::string description;
  std::optional<std::string> job;
  std::optional<std::string> since_package;  ///< incremental baseline named by package id
  std::vector<delivery::Target> targets;
  bool wait = false;
  std::optional<std::string> retry_of;                 ///< `package retry`: the package this one re-exports
  nlohmann::json settings = nlohmann::json::object();  ///< the request as given, kept for retry
};

/// Parses the "export" command's arguments (docs/control-protocol.md).
Expected<ExportOrder> parse_export_order(const nlohmann::json& args);

/// Worker: names the package, resolves --since, and records it as queued.
Expected<records::PackageRecord> create_package_record(Context& ctx, ExportOrder& order, const std::string& user);
/// Worker: create_package_record() without recording it (the caller inserts it, e.g.
/// together with a job's history line).
Expected<records::PackageRecord> new_package_record(Context& ctx, ExportOrder& order, const std::string& user);

/// Event loop: registers the export as running (maintenance freeze, `package stop`,
/// SIGTERM) and runs it on a worker. The export's `result` holds the final record as
/// JSON once it ended; retention runs after each export.
std::shared_ptr<RunningExport> start_export(Context& ctx, records::PackageRecord record, ExportOrder order);

/// Event loop: waits for the export to end and returns its final record, sending the
/// caller a {"event":"progress", id, objects_done, objects_total, bytes_done,
/// bytes_total} event at each change (at most once per percent).
boost::asio::awaitable<nlohmann::json> wait_for_export(std::shared_ptr<RunningExport> running,
                                                       control::Responder& responder);

}  // namespace ferry::server
