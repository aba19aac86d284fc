// `ferryctl export`: asks ferryd to export a package, optionally waiting for it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/selection.h"

namespace CLI {
class App;
}

namespace ferry::cli {

struct ExportArgs {
  std::string mode;  ///< full | incremental | selected
  Selection select;
  std::string since;            ///< baseline package id for incremental; "" = the daemon's choice
  bool upstream = false;        ///< add the transitive `uses` closure
  bool no_data = false;         ///< metadata only
  std::string name;             ///< "" = the name template
  std::string description;      ///< "" = none
  std::vector<std::string> to;  ///< folders to deliver into, as typed
  std::string on_exists;        ///< "" = the daemon's default (rename)
  bool wait = false;
};

/// Adds `export` to app, storing into a.
void add_export_command(CLI::App& app, ExportArgs& a);

/// The "export" request's args. Relative --to folders are made absolute against cwd
/// (the daemon has its own working directory) and normalised; optional members are
/// left out when not given.
nlohmann::json export_request(const ExportArgs& a, const std::filesystem::path& cwd);

/// dir made absolute against cwd (ferryd has its own working folder), normalised,
/// without a trailing '/'.
std::string absolute_dir(const std::string& dir, const std::filesystem::path& cwd);

/// Prints a package record (summary, or JSON with --json) and returns the exit code of
/// a `--wait` command: 0 if it succeeded or was skipped, else 1 with the error on stderr.
int waited_package(const Globals& g, const nlohmann::json& record, std::string_view what);

/// Calls command with args, drawing progress events as a bar on a terminal's stderr.
int call_with_progress(const Globals& g, std::string_view command, nlohmann::json args, nlohmann::json& result);

/// Runs `export`: 0 once queued; with --wait 0 if the package succeeded or was skipped,
/// else 1 with the error on stderr. Progress events draw a bar on a terminal's stderr.
int export_package(const Globals& g, const ExportArgs& a);

}  // namespace ferry::cli
