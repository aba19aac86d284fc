// `ferryctl maintenance status|on|off`.
#pragma once

#include <string>

#include "cli/commands.h"

namespace CLI {
class App;
}

namespace ferry::cli {

struct MaintenanceArgs {
  std::string reason;  ///< on: "" = the daemon's default ("maintenance by USER")
};

/// Adds `maintenance` and its subcommands to app, storing into a.
void add_maintenance_commands(CLI::App& app, MaintenanceArgs& a);
/// Runs the maintenance subcommand that was parsed.
int run_maintenance(const Globals& g, const CLI::App& maintenance, const MaintenanceArgs& a);

}  // namespace ferry::cli
