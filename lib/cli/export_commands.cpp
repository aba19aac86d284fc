#include "cli/export_commands.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/output.h"
#include "cli/package_commands.h"
#include "cli/progress.h"

namespace ferry::cli {
namespace {

bool finished_well(const nlohmann::json& record) {
  auto state = cell(record, "state");
  return state == "succeeded" || state == "skipped";
}

}  // namespace

std::string absolute_dir(const std::string& dir, const std::filesystem::path& cwd) {
  auto p = (cwd / dir).lexically_normal();  // an absolute dir replaces cwd
  if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  return p.string();
}

int waited_package(const Globals& g, const nlohmann::json& r, std::string_view what) {
  if (!print_json(g, r)) print_package_summary(std::cout, r);
  if (finished_well(r)) return 0;
  std::cout.flush();
  auto error = cell(r, "error");
  std::cerr << "ferryctl: " << what << ' ' << cell(r, "name") << ' ' << cell(r, "state")
            << (error.empty() || error == "-" ? "" : ": " + error) << '\n';
  return static_cast<int>(Exit::failed);
}

int call_with_progress(const Globals& g, std::string_view command, nlohmann::json args, nlohmann::json& result) {
  ProgressBar bar;
  int rc = call(g, command, std::move(args), result, {}, [&bar](const nlohmann::json& e) { bar.on_event(e); });
  bar.finish();
  return rc;
}

void add_export_command(CLI::App& app, ExportArgs& a) {
  auto* cmd = app.add_subcommand("export", "Export a package of catalog objects");
  cmd->add_option("--mode", a.mode, "full, incremental or selected")
      ->required()
      ->check(CLI::IsMember({"full", "incremental", "selected"}));
  add_selection_flags(*cmd, a.select);
  cmd->add_option("--since", a.since, "incremental: changes since this package (id or 8+ character prefix)");
  cmd->add_flag("--upstream", a.upstream, "add every object the selected ones use, transitively");
  cmd->add_flag("--no-data", a.no_data, "metadata only: list attachments by hash without carrying them");
  cmd->add_option("--name", a.name, "package name (default: the name template)");
  cmd->add_option("--description", a.description, "package description");
  cmd->add_option("--to", a.to, "also deliver into this folder, written by ferryd (repeatable)");
  cmd->add_option("--on-exists", a.on_exists, "when --to already holds the name: overwrite, rename (default) or skip")
      ->check(CLI::IsMember({"overwrite", "rename", "skip"}));
  cmd->add_flag("--wait", a.wait, "return when the export ends; exit 1 if it failed");
}

nlohmann::json export_request(const ExportArgs& a, const std::filesystem::path& cwd) {
  nlohmann::json to = nlohmann::json::array();
  for (const auto& dir : a.to) to.push_back(absolute_dir(dir, cwd));
  nlohmann::json args = {{"mode", a.mode},         {"select", selection_json(a.select)},
                         {"upstream", a.upstream}, {"data", !a.no_data},
                         {"to", std::move(to)},    {"wait", a.wait}};
  if (!a.name.empty()) args["name"] = a.name;
  if (!a.description.empty()) args["description"] = a.description;
  if (!a.since.empty()) args["since"] = a.since;
  if (!a.on_exists.empty()) args["on_exists"] = a.on_exists;
  return args;
}

int export_package(const Globals& g, const ExportArgs& a) {
  std::error_code ec;
  auto cwd = std::filesystem::current_path(ec);
  if (ec) return report(Error{Errc::io, "cannot resolve --to: current folder: " + ec.message()});
  nlohmann::json r;
  if (int rc = call_with_progress(g, "export", export_request(a, cwd), r)) return rc;
  if (a.wait) return waited_package(g, r, "export");
  if (!print_json(g, r)) print_package_summary(std::cout, r);
  return 0;
}

}  // namespace ferry::cli
