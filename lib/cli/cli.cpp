#include "cli/cli.h"

#include <CLI/CLI.hpp>

#include <cstdlib>

#include "cli/commands.h"
#include "cli/export_commands.h"
#include "cli/import_commands.h"
#include "cli/job_commands.h"
#include "cli/maintenance_commands.h"
#include "cli/package_commands.h"

namespace ferry::cli {

namespace {

std::filesystem::path default_socket() {
  const char* env = std::getenv("FERRY_SOCKET");
  return env != nullptr && *env != '\0' ? env : "/run/ferry/ferryd.sock";
}

struct ObjectArgs {
  std::string file;
  std::string address;
  std::string type;
  std::string folder;
};

void add_object_commands(CLI::App& app, ObjectArgs& a) {
  auto* object = app.add_subcommand("object", "Create, list, show and delete catalog objects");
  object->require_subcommand(1);
  object->add_subcommand("apply", "Create or update the objects of a YAML or JSON file, all or nothing")
      ->add_option("-f,--file", a.file, "objects file")
      ->required();
  auto* list = object->add_subcommand("list", "List objects");
  list->add_option("--type", a.type, "only this type");
  list->add_option("--folder", a.folder, "only this folder (/x) or subtree (/x/**)");
  object->add_subcommand("get", "Show one object (secret values are never shown)")
      ->add_option("address", a.address, "TYPE:/FOLDER/NAME or GUID")
      ->required();
  object->add_subcommand("delete", "Delete an object and the objects it contains")
      ->add_option("address", a.address, "TYPE:/FOLDER/NAME or GUID")
      ->required();
}

std::optional<std::string> non_empty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

int run_object(const Globals& g, CLI::App& object, const ObjectArgs& a) {
  if (object.got_subcommand("apply")) return object_apply(g, a.file);
  if (object.got_subcommand("list")) return object_list(g, non_empty(a.type), non_empty(a.folder));
  if (object.got_subcommand("get")) return object_get(g, a.address);
  return object_delete(g, a.address);
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"ferryctl: drive ferryd, the deployment package daemon"};
  app.require_subcommand(1);
  Globals g{default_socket(), false};
  std::string socket;
  app.add_option("--socket", socket, "control socket (default $FERRY_SOCKET or /run/ferry/ferryd.sock)");
  app.add_flag("--json", g.json, "print one JSON document for scripts");
  app.add_subcommand("status", "Show the daemon's state");
  app.add_subcommand("version", "Show ferryctl's and ferryd's versions");
  std::string key_name;
  app.add_subcommand("keygen", "Write NAME.key (0600) and NAME.pub here; never overwrites")
      ->add_option("name", key_name, "key name")
      ->required();
  ObjectArgs object_args;
  add_object_commands(app, object_args);
  ExportArgs export_args;
  add_export_command(app, export_args);
  PackageArgs package_args;
  add_package_commands(app, package_args);
  ImportArgs import_args;
  add_import_commands(app, import_args);
  JobArgs job_args;
  add_job_commands(app, job_args);
  MaintenanceArgs maintenance_args;
  add_maintenance_commands(app, maintenance_args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : static_cast<int>(Exit::usage);
  }
  if (!socket.empty()) g.socket = socket;
  if (app.got_subcommand("status")) return status(g);
  if (app.got_subcommand("version")) return version(g);
  if (app.got_subcommand("keygen")) return keygen(g, key_name);
  if (app.got_subcommand("export")) return export_package(g, export_args);
  if (app.got_subcommand("package")) return run_package(g, *app.get_subcommand("package"), package_args);
  if (app.got_subcommand("job")) return run_job(g, *app.get_subcommand("job"), job_args);
  if (app.got_subcommand("maintenance"))
    return run_maintenance(g, *app.get_subcommand("maintenance"), maintenance_args);
  if (app.got_subcommand("import")) return run_import(g, *app.get_subcommand("import"), import_args);
  return run_object(g, *app.get_subcommand("object"), object_args);
}

}  // namespace ferry::cli
