// One export, from request to delivered package. The blocking parts run on a
// worker; run_export() is the event-loop side that registers the export as running.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

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
  nlohmann::json settings = nlohmann::json::object();  ///< the request as given, kept for retry
};

/// Parses the "export" command's arguments (docs/control-protocol.md).
Expected<ExportOrder> parse_export_order(const nlohmann::json& args);

/// Worker: names the package, resolves --since, and records it as queued.
Expected<records::PackageRecord> create_package_record(Context& ctx, ExportOrder& order, const std::string& user);

/// Event loop: runs the export on a worker while it is registered as running
/// (maintenance freeze, `package stop`, SIGTERM). Returns the final record as JSON.
boost::asio::awaitable<nlohmann::json> run_export(Context& ctx, records::PackageRecord record, ExportOrder order);

}  // namespace ferry::server
