#include "cli/package_commands.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/export_commands.h"
#include "cli/output.h"

namespace ferry::cli {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kIdHelp = "package id or a unique prefix of 8+ characters";

/// "error", or "reason" for a skipped export (its error says why: "no changes").
void add_error(Fields& fields, const nlohmann::json& r) {
  auto error = cell(r, "error");
  if (error.empty() || error == "-") return;
  fields.emplace_back(cell(r, "state") == "skipped" ? "reason" : "error", error);
}

/// "120/480 objects, 12.0 MiB/40.0 MiB" from record["progress"].
std::string progress_text(const nlohmann::json& r) {
  const auto& p = member(r, "progress");
  std::string text = cell(p, "objects_done") + "/" + cell(p, "objects_total") + " objects";
  if (member(p, "bytes_total").is_number() && member(p, "bytes_total") != 0) {
    text += ", " + size_cell(p, "bytes_done") + "/" + size_cell(p, "bytes_total");
  }
  return text;
}

std::string revisions(const nlohmann::json& r) { return cell(r, "revision_from") + ".." + cell(r, "revision_to"); }

void print_objects(std::ostream& out, const nlohmann::json& record) {
  const auto& objects = member(record, "objects");
  if (!objects.is_array() || objects.empty()) return;
  Table table({"TYPE", "ADDRESS", "GUID"});
  for (const auto& o : objects) table.add({cell(o, "type"), cell(o, "address"), cell(o, "guid")});
  out << '\n';
  table.print(out);
}

int package_list(const Globals& g, const PackageArgs& a) {
  nlohmann::json args = nlohmann::json::object();
  if (!a.search.empty()) args["search"] = a.search;
  if (!a.state.empty()) args["state"] = a.state;
  nlohmann::json r;
  if (int rc = call(g, "package.list", args, r)) return rc;
  if (!print_json(g, r)) print_package_list(std::cout, r);
  return 0;
}

int package_show(const Globals& g, const PackageArgs& a) {
  nlohmann::json r;
  if (int rc = call(g, "package.show", {{"id", a.id}}, r)) return rc;
  if (!print_json(g, r)) print_package_details(std::cout, r);
  return 0;
}

int package_stop(const Globals& g, const PackageArgs& a) {
  nlohmann::json r;
  if (int rc = call(g, "package.stop", {{"id", a.id}}, r)) return rc;
  if (!print_json(g, r)) std::cout << "stopping " << cell(r, "name") << " (" << cell(r, "id") << ")\n";
  return 0;
}

int package_retry(const Globals& g, const PackageArgs& a) {
  nlohmann::json r;
  if (int rc = call_with_progress(g, "package.retry", {{"id", a.id}, {"wait", a.wait}}, r)) return rc;
  if (a.wait) return waited_package(g, r, "retry");
  if (!print_json(g, r)) print_package_summary(std::cout, r);
  return 0;
}

int package_delete(const Globals& g, const PackageArgs& a) {
  nlohmann::json r;
  if (int rc = call(g, "package.delete", {{"id", a.id}}, r)) return rc;
  if (!print_json(g, r)) std::cout << "deleted " << cell(r, "name") << " (" << cell(r, "id") << ")\n";
  return 0;
}

int package_forward(const Globals& g, const PackageArgs& a) {
  std::error_code ec;
  auto cwd = std::filesystem::current_path(ec);
  if (ec) return report(Error{Errc::io, "cannot resolve --to: current folder: " + ec.message()});
  nlohmann::json args{{"id", a.id}, {"to", absolute_dir(a.to, cwd)}, {"wait", a.wait}};
  if (!a.on_exists.empty()) args["on_exists"] = a.on_exists;
  nlohmann::json r;
  if (int rc = call(g, "package.forward", std::move(args), r)) return rc;
  if (print_json(g, r)) return 0;
  if (!a.wait) {
    std::cout << "forwarding " << cell(r, "name") << " (" << cell(r, "id") << ") to " << cell(r, "dir") << '\n';
    return 0;
  }
  auto file = cell(r, "file");
  std::cout << cell(r, "state") << ' ' << cell(r, "name") << " to " << (file == "-" ? cell(r, "dir") : file);
  auto note = cell(r, "note");
  std::cout << (note.empty() || note == "-" ? "" : " (" + note + ")") << '\n';
  return 0;
}

int package_forwards(const Globals& g, const PackageArgs& a) {
  nlohmann::json r;
  if (int rc = call(g, "package.forwards", {{"id", a.id}}, r)) return rc;
  if (print_json(g, r)) return 0;
  Table table({"AT", "DIR", "FILE", "STATE", "USER", "NOTE"});
  const auto& rows = member(r, "forwards");
  if (rows.is_array()) {
    for (const auto& f : rows) {
      table.add({cell(f, "at"), cell(f, "dir"), cell(f, "file"), cell(f, "state"), cell(f, "user"), cell(f, "note")});
    }
  }
  table.print(std::cout);
  return 0;
}

}  // namespace

void add_package_commands(CLI::App& app, PackageArgs& a) {
  auto* package =
      app.add_subcommand("package", "The packages this daemon exported: list, show, stop, retry, delete, forward");
  package->require_subcommand(1);
  auto* list = package->add_subcommand("list", "List packages, newest first");
  list->add_option("--search", a.search, "only packages whose name or description contains TEXT");
  list->add_option("--state", a.state, "only packages in this state (queued, exporting, succeeded, failed, ...)");
  package->add_subcommand("show", "Show one package: settings, objects, deliveries")
      ->add_option("id", a.id, kIdHelp)
      ->required();
  package->add_subcommand("stop", "Cancel a running export: it ends cancelled and leaves no file")
      ->add_option("id", a.id, kIdHelp)
      ->required();
  auto* retry = package->add_subcommand("retry", "Export a failed or cancelled package again with the same settings");
  retry->add_option("id", a.id, kIdHelp)->required();
  retry->add_flag("--wait", a.wait, "return when the export ends; exit 1 if it failed");
  package->add_subcommand("delete", "Remove a finished package's file and record (delivered copies stay)")
      ->add_option("id", a.id, kIdHelp)
      ->required();
  auto* forward = package->add_subcommand("forward", "Deliver a succeeded package into another folder");
  forward->add_option("id", a.id, kIdHelp)->required();
  forward->add_option("--to", a.to, "folder, written by ferryd")->required();
  forward->add_option("--on-exists", a.on_exists, "when the folder holds the name: overwrite, rename (default) or skip")
      ->check(CLI::IsMember({"overwrite", "rename", "skip"}));
  forward->add_flag("--wait", a.wait, "return when the copy is done; exit 1 if it failed");
  package->add_subcommand("forwards", "List where a package was forwarded")
      ->add_option("id", a.id, kIdHelp)
      ->required();
}

int run_package(const Globals& g, const CLI::App& package, const PackageArgs& a) {
  if (package.got_subcommand("list")) return package_list(g, a);
  if (package.got_subcommand("stop")) return package_stop(g, a);
  if (package.got_subcommand("retry")) return package_retry(g, a);
  if (package.got_subcommand("delete")) return package_delete(g, a);
  if (package.got_subcommand("forward")) return package_forward(g, a);
  if (package.got_subcommand("forwards")) return package_forwards(g, a);
  return package_show(g, a);
}

void print_deliveries(std::ostream& out, const nlohmann::json& record) {
  const auto& deliveries = member(record, "deliveries");
  if (!deliveries.is_array() || deliveries.empty()) return;
  Table table({"DELIVERED-TO", "FILE", "STATE", "NOTE"});
  for (const auto& d : deliveries) table.add({cell(d, "dir"), cell(d, "file"), cell(d, "state"), cell(d, "note")});
  out << '\n';
  table.print(out);
}

void print_package_summary(std::ostream& out, const nlohmann::json& r) {
  Fields fields = {{"id", cell(r, "id")},          {"name", cell(r, "name")},
                   {"state", cell(r, "state")},    {"objects", cell(r, "object_count")},
                   {"size", size_cell(r, "size")}, {"sha256", cell(r, "sha256")},
                   {"file", cell(r, "file")}};
  add_error(fields, r);
  print_fields(out, fields);
  print_deliveries(out, r);
}

void print_package_list(std::ostream& out, const nlohmann::json& result) {
  Table table({"ID", "NAME", "STATE", "OBJECTS", "SIZE", "CREATED", "USER"});
  const auto& packages = member(result, "packages");
  if (packages.is_array()) {
    for (const auto& p : packages) {
      table.add({short_id(member(p, "id")), cell(p, "name"), cell(p, "state"), cell(p, "object_count"),
                 size_cell(p, "size"), cell(p, "created_at"), cell(p, "user")});
    }
  }
  table.print(out);
}

void print_forwards(std::ostream& out, const nlohmann::json& record) {
  const auto& forwards = member(record, "forwards");
  if (!forwards.is_array() || forwards.empty()) return;
  Table table({"FORWARDED-TO", "FILE", "STATE", "USER", "AT"});
  for (const auto& f : forwards) {
    table.add({cell(f, "dir"), cell(f, "file"), cell(f, "state"), cell(f, "user"), cell(f, "at")});
  }
  out << '\n';
  table.print(out);
}

void print_package_details(std::ostream& out, const nlohmann::json& r) {
  Fields fields = {
      {"id", cell(r, "id")},          {"name", cell(r, "name")},          {"description", cell(r, "description")},
      {"job", cell(r, "job")},        {"mode", cell(r, "mode")},          {"state", cell(r, "state")},
      {"user", cell(r, "user")},      {"created", cell(r, "created_at")}, {"started", cell(r, "started_at")},
      {"ended", cell(r, "ended_at")}, {"progress", progress_text(r)},     {"objects", cell(r, "object_count")},
      {"size", size_cell(r, "size")}, {"sha256", cell(r, "sha256")},      {"file", cell(r, "file")},
      {"revisions", revisions(r)},    {"retry of", cell(r, "retry_of")}};
  add_error(fields, r);
  print_fields(out, fields);
  if (const auto& settings = member(r, "settings"); !settings.is_null()) {
    out << "\nsettings\n" << settings.dump(2) << '\n';
  }
  print_objects(out, r);
  print_deliveries(out, r);
  print_forwards(out, r);
}

}  // namespace ferry::cli
