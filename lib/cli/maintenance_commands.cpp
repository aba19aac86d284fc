#include "cli/maintenance_commands.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/output.h"

namespace ferry::cli {
namespace {

void print_maintenance(std::ostream& out, const nlohmann::json& r) {
  bool on = member(r, "on") == true;
  std::vector<std::pair<std::string, std::string>> fields = {{"maintenance", on ? "on" : "off"},
                                                             {"end", cell(r, "end")}};
  if (const auto& m = member(r, "manual"); m.is_object()) {
    fields.emplace_back("since", cell(m, "since"));
    fields.emplace_back("by", cell(m, "user"));
    fields.emplace_back("reason", cell(m, "reason"));
  }
  print_fields(out, fields);
  const auto& exports = member(r, "exports");
  if (!exports.is_array() || exports.empty()) return;
  Table table({"EXPORT", "NAME", "USER", "STARTED"});
  for (const auto& e : exports) {
    table.add({short_id(member(e, "id")), cell(e, "name"), cell(e, "user"), cell(e, "started_at")});
  }
  out << '\n';
  table.print(out);
}

}  // namespace

void add_maintenance_commands(CLI::App& app, MaintenanceArgs& a) {
  auto* maintenance = app.add_subcommand("maintenance", "Show, enter or leave maintenance (editors' writes refused)");
  maintenance->require_subcommand(1);
  maintenance->add_subcommand("status", "Whether maintenance is on, why, since when and by whom");
  maintenance->add_subcommand("on", "Enter maintenance until `maintenance off` (admin)")
      ->add_option("--reason", a.reason, "shown to everyone whose change is refused");
  maintenance->add_subcommand("off", "Leave maintenance held on by hand (admin); running exports keep theirs");
}

int run_maintenance(const Globals& g, const CLI::App& maintenance, const MaintenanceArgs& a) {
  std::string command = "maintenance.status";
  nlohmann::json args = nlohmann::json::object();
  if (maintenance.got_subcommand("on")) {
    command = "maintenance.on";
    if (!a.reason.empty()) args["reason"] = a.reason;
  } else if (maintenance.got_subcommand("off")) {
    command = "maintenance.off";
  }
  nlohmann::json r;
  if (int rc = call(g, command, std::move(args), r)) return rc;
  if (!print_json(g, r)) print_maintenance(std::cout, r);
  return 0;
}

}  // namespace ferry::cli
