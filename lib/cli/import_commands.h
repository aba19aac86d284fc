// `ferryctl import FILE | list | show | deploy | rollback`: deploy (or stage) a package
// file into this environment, look at past imports, deploy a staged one, roll one back.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/commands.h"

namespace CLI {
class App;
}

namespace ferry::cli {

struct ImportArgs {
  std::string file;  ///< the package, opened by ferryctl with the caller's permissions
  bool dry_run = false;
  bool stage = false;
  std::string id_policy = "keep";             ///< keep | new
  std::string on_name_conflict = "fail";      ///< fail | skip | overwrite
  std::string on_deleted_in_target = "fail";  ///< fail | recreate
  std::string into;                           ///< "" = keep folders as they are
  std::vector<std::string> only, skip;        ///< addresses
  bool require_secrets = false;
  bool allow_gap = false;
  bool partial = false;  ///< atomic: false
  std::string id;        ///< show, deploy, rollback, resubmit: import id or a unique prefix of 8+ characters
  bool wait = false;     ///< deploy --wait: accepted (ferryctl always waits for a deploy); resubmit --wait
};

/// How far `import FILE` goes: the exit code depends on it.
enum class ImportRun { deploy, dry_run, stage };
ImportRun import_run(const ImportArgs& a);

/// Adds `import FILE`, `import list` and `import show ID` to app, storing into a.
void add_import_commands(CLI::App& app, ImportArgs& a);
/// Runs what was parsed under import (FILE or a subcommand). Exit 2 when neither.
int run_import(const Globals& g, const CLI::App& import, const ImportArgs& a);

/// The "import" request's args: {file, dry_run, stage, policy: {...}}; "into" only when given.
nlohmann::json import_request(const ImportArgs& a);

/// ACTION TYPE ADDRESS SOURCE-GUID DEST-GUID REASON, one row per object; reasons and
/// warnings in full, each further warning on a row of its own. Then the record's
/// warnings, one "warning: ..." line each.
void print_import_objects(std::ostream& out, const nlohmann::json& record);

/// What `import FILE` ends with: the exit code (PRODUCT.md 11a) and one line, for
/// stdout when exit is ok and for stderr otherwise, e.g.
/// "deployed 3 objects (1 created, 1 updated, 1 unchanged, 0 deleted) from PACKAGE".
struct ImportOutcome {
  Exit exit = Exit::ok;
  std::string line;
};
ImportOutcome import_outcome(const nlohmann::json& record, ImportRun run);

/// `import rollback`: RESULT ADDRESS GUID REVISION per object the rollback touched
/// (restored, recreated, removed), then "rolled back import ID of PACKAGE: 2 restored,
/// 0 recreated, 1 removed (catalog revision N)" and the record's warnings.
void print_rollback(std::ostream& out, const nlohmann::json& record);

/// `import list`: ID (8 characters), PACKAGE, SOURCE, STATE, CREATED, ORIGIN.
void print_import_list(std::ostream& out, const nlohmann::json& result);
/// `import show`: the record's fields, then print_import_objects.
void print_import_details(std::ostream& out, const nlohmann::json& record);

}  // namespace ferry::cli
