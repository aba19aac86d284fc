// `ferryctl package list|show|stop|retry|delete|forward|forwards` and the package views that `export` shares.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"

namespace CLI {
class App;
}

namespace ferry::cli {

struct PackageArgs {
  std::string search;     ///< list: substring of name or description
  std::string state;      ///< list: only this state
  std::string id;         ///< show, stop, retry, delete, forward, forwards: full id or a unique prefix of 8+ characters
  std::string to;         ///< forward: the folder, as typed
  std::string on_exists;  ///< forward: "" = rename
  bool wait = false;      ///< retry, forward
};

/// Adds the `package` subcommands to app, storing into a.
void add_package_commands(CLI::App& app, PackageArgs& a);
/// Runs the package subcommand that was parsed.
int run_package(const Globals& g, const CLI::App& package, const PackageArgs& a);

/// The short view of a package record (what `export` prints): id, name, state,
/// objects, size, sha256, file, error (or reason, for skipped) if any, then deliveries.
void print_package_summary(std::ostream& out, const nlohmann::json& record);
/// `package list`: ID (8 characters), NAME, STATE, OBJECTS, SIZE, CREATED, USER.
void print_package_list(std::ostream& out, const nlohmann::json& result);
/// `package show`: every field, the export settings as JSON, the objects and deliveries.
void print_package_details(std::ostream& out, const nlohmann::json& record);
/// DELIVERED-TO, FILE, STATE, NOTE for record["deliveries"]; nothing when there are none.
void print_deliveries(std::ostream& out, const nlohmann::json& record);

}  // namespace ferry::cli
