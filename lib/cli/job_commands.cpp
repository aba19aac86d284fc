#include "cli/job_commands.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/export_commands.h"
#include "cli/output.h"
#include "cli/package_commands.h"

namespace ferry::cli {
namespace {

/// "succeeded (nightly-20261124)" or "skipped: no changes" for a job's last run.
std::string run_summary(const nlohmann::json& run) {
  if (!run.is_object()) return "-";
  auto text = cell(run, "due_at") + " " + cell(run, "state");
  auto reason = cell(run, "reason");
  if (cell(run, "state") == "skipped" && reason != "-" && !reason.empty()) text += ": " + reason;
  return text;
}

int job_list(const Globals& g) {
  nlohmann::json r;
  if (int rc = call(g, "job.list", nlohmann::json::object(), r)) return rc;
  if (print_json(g, r)) return 0;
  Table table({"NAME", "MODE", "SCHEDULE", "NEXT RUN", "WINDOW", "SKIPPED", "LAST RUN"});
  const auto& jobs = member(r, "jobs");
  if (jobs.is_array()) {
    for (const auto& j : jobs) {
      auto window = cell(j, "window");
      if (window != "-") window += " (" + cell(j, "window_state") + ")";
      auto next = member(j, "enabled") == false ? std::string("disabled") : cell(j, "next_run");
      table.add({cell(j, "name"), cell(j, "mode"), cell(j, "schedule"), next, window, cell(j, "skipped"),
                 run_summary(member(j, "last_run"))});
    }
  }
  table.print(std::cout);
  const auto& errors = member(r, "errors");
  if (errors.is_array() && !errors.empty()) {
    std::cout << "\njob file errors (their jobs keep their last good definition):\n";
    for (const auto& e : errors) std::cout << "  " << cell(e) << '\n';
  }
  return 0;
}

int job_run(const Globals& g, const JobArgs& a) {
  nlohmann::json r;
  nlohmann::json args{{"name", a.name}, {"wait", a.wait}, {"now", a.now}};
  if (int rc = call_with_progress(g, "job.run", std::move(args), r)) return rc;
  if (a.wait && cell(r, "state") != "waiting_window") return waited_package(g, r, "job " + a.name);
  if (!print_json(g, r)) print_package_summary(std::cout, r);
  return 0;
}

int job_history(const Globals& g, const JobArgs& a) {
  nlohmann::json r;
  if (int rc = call(g, "job.history", {{"name", a.name}}, r)) return rc;
  if (print_json(g, r)) return 0;
  Table table({"DUE", "TRIGGER", "STATE", "STARTED", "ENDED", "PACKAGE", "REASON"});
  const auto& runs = member(r, "runs");
  if (runs.is_array()) {
    for (const auto& run : runs) {
      table.add({cell(run, "due_at"), cell(run, "trigger"), cell(run, "state"), cell(run, "started_at"),
                 cell(run, "ended_at"), cell(run, "package_name"), cell(run, "reason")});
    }
  }
  table.print(std::cout);
  return 0;
}

}  // namespace

void add_job_commands(CLI::App& app, JobArgs& a) {
  auto* job = app.add_subcommand("job", "The export jobs of jobs_dir: list, run, history");
  job->require_subcommand(1);
  job->add_subcommand("list", "Every job: schedule, next run, window, last run; and job file errors");
  auto* run = job->add_subcommand("run", "Run a job now (inside its window, or waiting for it)");
  run->add_option("name", a.name, "job name")->required();
  run->add_flag("--wait", a.wait, "return when the run ends; exit 1 if it failed");
  run->add_flag("--now", a.now, "ignore the job's window (admin; recorded as manual_now)");
  job->add_subcommand("history", "Every run of a job, newest first, skipped ones with their reason")
      ->add_option("name", a.name, "job name")
      ->required();
}

int run_job(const Globals& g, const CLI::App& job, const JobArgs& a) {
  if (job.got_subcommand("list")) return job_list(g);
  if (job.got_subcommand("run")) return job_run(g, a);
  return job_history(g, a);
}

}  // namespace ferry::cli
