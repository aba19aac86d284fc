// `ferryctl job list|run|history`.
#pragma once

#include <string>

#include "cli/commands.h"

namespace CLI {
class App;
}

namespace ferry::cli {

struct JobArgs {
  std::string name;
  bool wait = false;
  bool now = false;  ///< run: ignore the job's window (admin)
};

/// Adds `job` and its subcommands to app, storing into a.
void add_job_commands(CLI::App& app, JobArgs& a);
/// Runs the job subcommand that was parsed.
int run_job(const Globals& g, const CLI::App& job, const JobArgs& a);

}  // namespace ferry::cli
