#include "cli/import_commands.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include <iostream>
#include <map>

#include "cli/output.h"
#include "cli/submit_commands.h"
#include "util/fd.h"

namespace ferry::cli {
namespace {

/// The plan's verb in the past tense, as deploy results and summaries use it.
std::string past(const std::string& action) {
  static const std::map<std::string, std::string, std::less<>> kPast = {
      {"create", "created"}, {"update", "updated"}, {"delete", "deleted"}, {"skip", "skipped"}};
  auto it = kPast.find(action);
  return it == kPast.end() ? action : it->second;
}

/// What happened to an object: its result once deployed, else its planned action.
std::string outcome(const nlohmann::json& o) {
  const auto& result = member(o, "result");
  if (result.is_string() && !result.get<std::string>().empty()) return result.get<std::string>();
  return past(cell(o, "action"));
}

/// Objects per outcome (or per planned action, with by_action).
enum class CountBy { outcome, action };
std::map<std::string, int> count(const nlohmann::json& record, CountBy by) {
  std::map<std::string, int> counts;
  const auto& objects = member(record, "objects");
  if (!objects.is_array()) return counts;
  for (const auto& o : objects) counts[by == CountBy::outcome ? outcome(o) : cell(o, "action")]++;
  return counts;
}

/// "(1 created, 0 updated, 2 unchanged, 0 deleted[, 1 skipped])"
std::string deployed_counts(std::map<std::string, int>& c) {
  std::string text = "(" + std::to_string(c["created"]) + " created, " + std::to_string(c["updated"]) + " updated, " +
                     std::to_string(c["unchanged"]) + " unchanged, " + std::to_string(c["deleted"]) + " deleted";
  if (c["skipped"] > 0) text += ", " + std::to_string(c["skipped"]) + " skipped";
  return text + ")";
}

/// "1 to create, 0 to update, 2 unchanged, 0 to delete, 0 skipped"
std::string plan_counts(std::map<std::string, int>& c) {
  return std::to_string(c["create"]) + " to create, " + std::to_string(c["update"]) + " to update, " +
         std::to_string(c["unchanged"]) + " unchanged, " + std::to_string(c["delete"]) + " to delete, " +
         std::to_string(c["skip"]) + " skipped";
}

/// The package's name, or the file when the package could not be read.
std::string package_label(const nlohmann::json& r) {
  auto name = cell(r, "package_name");
  return name.empty() || name == "-" ? cell(r, "file") : name;
}

/// ": error" or "".
std::string error_suffix(const nlohmann::json& r) {
  auto error = cell(r, "error");
  return error.empty() || error == "-" ? "" : ": " + error;
}

ImportOutcome failed(std::string line) { return {Exit::failed, std::move(line)}; }

ImportOutcome plan_outcome(const nlohmann::json& r, ImportRun run) {
  auto state = cell(r, "state");
  auto pkg = package_label(r);
  if (state == "failed" || state == "rejected") return failed("import of " + pkg + " " + state + error_suffix(r));
  auto actions = count(r, CountBy::action);
  int problems = actions["error"] + actions["conflict"];
  if (problems > 0 && run == ImportRun::stage && state == "staged") {  // --partial: the rest deploys
    auto id = short_id(member(r, "id"));
    return failed("staged " + pkg + " as import " + id + " (--partial): " + std::to_string(problems) +
                  " objects with errors or conflicts will not deploy (reasons above); deploy the rest with: "
                  "ferryctl import deploy " +
                  id);
  }
  if (problems > 0) {
    return failed("the plan for " + pkg + " has " + std::to_string(problems) +
                  " objects with errors or conflicts (reasons above)" + error_suffix(r));
  }
  if (run == ImportRun::dry_run)
    return {Exit::ok, "dry run of " + pkg + ": " + plan_counts(actions) + "; nothing changed"};
  auto id = short_id(member(r, "id"));
  return {Exit::ok, "staged " + pkg + " as import " + id + ": " + plan_counts(actions) +
                        "; deploy it with: ferryctl import deploy " + id};
}

/// "changes: moved from ADDRESS; spec /a, /b; refs +uses X (G); attachments ~x" for an
/// update; "" when there is nothing to say.
std::string changes_note(const nlohmann::json& c) {
  if (!c.is_object()) return "";
  std::vector<std::string> parts;
  if (const auto& moved = member(c, "moved_from"); moved.is_string()) parts.push_back("moved from " + cell(moved));
  for (const char* key : {"spec", "refs", "attachments"}) {
    const auto& list = member(c, key);
    if (!list.is_array() || list.empty()) continue;
    std::string part = key;
    for (size_t i = 0; i < list.size(); ++i) part += (i == 0 ? " " : ", ") + cell(list[i]);
    parts.push_back(part);
  }
  if (parts.empty()) return "";
  std::string out = "changes: ";
  for (size_t i = 0; i < parts.size(); ++i) out += (i == 0 ? "" : "; ") + parts[i];
  return out;
}

/// With submit: a SUBMIT column before REASON (only when some object has a submission).
enum class SubmitColumn { no, yes };

void add_row(Table& table, const nlohmann::json& o, SubmitColumn submit) {
  auto action = cell(o, "action");
  auto result = outcome(o);
  if (result != past(action)) action += " (" + result + ")";
  std::vector<std::string> notes;
  if (auto reason = cell(o, "reason"); !reason.empty() && reason != "-") notes.push_back(reason);
  const auto& warnings = member(o, "warnings");
  if (warnings.is_array()) {
    for (const auto& w : warnings) notes.push_back("warning: " + cell(w));
  }
  if (auto changes = changes_note(member(o, "changes")); !changes.empty()) notes.push_back(changes);
  for (auto& note : submit_notes(o)) notes.push_back(std::move(note));
  if (const auto& overrides = member(o, "overrides"); overrides.is_array()) {
    for (const auto& v : overrides) {
      notes.push_back("override " + cell(v, "pointer") + " = " + member(v, "value").dump() + " (by " + cell(v, "by") +
                      ", " + cell(v, "where") + ")");
    }
  }
  std::vector<std::string> row = {action, cell(o, "type"), cell(o, "address"), cell(o, "source_guid"),
                                  cell(o, "dest_guid")};
  if (submit == SubmitColumn::yes) row.push_back(submit_cell(o));
  row.push_back(notes.empty() ? "" : notes.front());
  table.add(row);
  for (size_t i = 1; i < notes.size(); ++i) {
    std::vector<std::string> more(row.size() - 1, "");
    more.push_back(notes[i]);
    table.add(std::move(more));
  }
}

/// Opens file for the daemon with the caller's permissions; refuses what is not a file.
Expected<UniqueFd> open_package(const std::string& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open", file, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno("stat", file, errno);
  if (!S_ISREG(st.st_mode)) return fail(Errc::invalid_argument, file + ": not a regular file; give a package .zip");
  return fd;
}

int import_file(const Globals& g, const ImportArgs& a) {
  auto fd = open_package(a.file);
  if (!fd) return report(fd.error());
  std::vector<int> fds{fd->get()};
  nlohmann::json r;
  if (int rc = call(g, "import", import_request(a), r, fds)) return rc;
  auto result = import_outcome(r, import_run(a));
  if (!print_json(g, r)) {
    print_import_objects(std::cout, r);
    if (result.exit == Exit::ok) std::cout << result.line << '\n';
    if (auto queued = submit_queued_line(r); !queued.empty()) std::cout << queued << '\n';
  }
  std::cout.flush();
  if (result.exit != Exit::ok) std::cerr << "ferryctl: " << result.line << '\n';
  return static_cast<int>(result.exit);
}

int import_deploy(const Globals& g, const ImportArgs& a) {
  nlohmann::json r;
  if (int rc = call(g, "import.deploy", {{"id", a.id}, {"allow_gap", a.allow_gap}}, r)) return rc;
  auto result = import_outcome(r, ImportRun::deploy);
  if (!print_json(g, r)) {
    print_import_objects(std::cout, r);
    if (result.exit == Exit::ok) std::cout << result.line << '\n';
    if (auto queued = submit_queued_line(r); !queued.empty()) std::cout << queued << '\n';
  }
  std::cout.flush();
  if (result.exit != Exit::ok) std::cerr << "ferryctl: " << result.line << '\n';
  return static_cast<int>(result.exit);
}

int import_rollback(const Globals& g, const ImportArgs& a) {
  nlohmann::json r;
  if (int rc = call(g, "import.rollback", {{"id", a.id}}, r)) return rc;
  if (!print_json(g, r)) print_rollback(std::cout, r);
  return 0;
}

int import_list(const Globals& g) {
  nlohmann::json r;
  if (int rc = call(g, "import.list", nlohmann::json::object(), r)) return rc;
  if (!print_json(g, r)) print_import_list(std::cout, r);
  return 0;
}

int import_show(const Globals& g, const ImportArgs& a) {
  nlohmann::json r;
  if (int rc = call(g, "import.show", {{"id", a.id}}, r)) return rc;
  if (!print_json(g, r)) print_import_details(std::cout, r);
  return 0;
}

}  // namespace

ImportRun import_run(const ImportArgs& a) {
  if (a.dry_run) return ImportRun::dry_run;
  return a.stage ? ImportRun::stage : ImportRun::deploy;
}

void add_import_commands(CLI::App& app, ImportArgs& a) {
  auto* cmd = app.add_subcommand("import", "Deploy a package file here (always waits), or list and show imports");
  cmd->add_option("file", a.file, "package file, opened by ferryctl with your permissions");
  auto* dry = cmd->add_flag("--dry-run", a.dry_run, "print the plan; change nothing");
  cmd->add_flag("--stage", a.stage, "verify and plan, then wait for `import deploy ID`")->excludes(dry);
  cmd->add_option("--id-policy", a.id_policy, "keep (default): objects keep their GUIDs; new: fresh GUIDs")
      ->check(CLI::IsMember({"keep", "new"}));
  cmd->add_option("--on-name-conflict", a.on_name_conflict,
                  "another GUID holds the address: fail (default), skip or overwrite")
      ->check(CLI::IsMember({"fail", "skip", "overwrite"}));
  cmd->add_option("--on-deleted-in-target", a.on_deleted_in_target,
                  "the object was deleted here: fail (default) or recreate")
      ->check(CLI::IsMember({"fail", "recreate"}));
  cmd->add_option("--into", a.into, "place every object under this folder");
  cmd->add_option("--only", a.only, "deploy only these addresses (comma-separated, repeatable)")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--skip", a.skip, "leave out these addresses (comma-separated, repeatable)")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_flag("--require-secrets", a.require_secrets, "a missing secret is an error, not a warning");
  cmd->add_flag("--allow-gap", a.allow_gap, "deploy an incremental package whose predecessor is missing");
  cmd->add_flag("--partial", a.partial, "deploy what can be deployed (atomic: false)");
  auto* deploy =
      cmd->add_subcommand("deploy", "Deploy a staged import, planned again against the catalog as it is now");
  deploy->add_option("id", a.id, "import id or a unique prefix of 8+ characters")->required();
  deploy->add_flag("--wait", a.wait, "wait until it has deployed (it always does)");
  deploy->add_flag("--allow-gap", a.allow_gap, "deploy an incremental package whose predecessor is missing");
  cmd->add_subcommand("rollback", "Restore every object a deployed import changed to its state before it")
      ->add_option("id", a.id, "import id or a unique prefix of 8+ characters")
      ->required();
  auto* resubmit = cmd->add_subcommand("resubmit", "Run the submit hooks that failed again (only those)");
  resubmit->add_option("id", a.id, "import id or a unique prefix of 8+ characters")->required();
  resubmit->add_flag("--wait", a.wait, "wait until the hooks have ended; exit 1 if one failed again");
  cmd->add_subcommand("list", "List imports, newest first");
  cmd->add_subcommand("show", "Show one import with every object's action and reason")
      ->add_option("id", a.id, "import id or a unique prefix of 8+ characters")
      ->required();
}

int run_import(const Globals& g, const CLI::App& import, const ImportArgs& a) {
  if (import.got_subcommand("list")) return import_list(g);
  if (import.got_subcommand("show")) return import_show(g, a);
  if (import.got_subcommand("deploy")) return import_deploy(g, a);
  if (import.got_subcommand("rollback")) return import_rollback(g, a);
  if (import.got_subcommand("resubmit")) return import_resubmit(g, a.id, a.wait);
  if (a.file.empty()) {
    std::cerr << "ferryctl: import needs a package FILE, or `list` or `show ID`; see ferryctl import --help\n";
    return static_cast<int>(Exit::usage);
  }
  return import_file(g, a);
}

nlohmann::json import_request(const ImportArgs& a) {
  nlohmann::json policy = {{"id_policy", a.id_policy},
                           {"on_name_conflict", a.on_name_conflict},
                           {"on_deleted_in_target", a.on_deleted_in_target},
                           {"only", a.only},
                           {"skip", a.skip},
                           {"require_secrets", a.require_secrets},
                           {"allow_gap", a.allow_gap},
                           {"atomic", !a.partial}};
  if (!a.into.empty()) policy["into"] = a.into;
  return {{"file", a.file}, {"dry_run", a.dry_run}, {"stage", a.stage}, {"policy", std::move(policy)}};
}

void print_import_objects(std::ostream& out, const nlohmann::json& record) {
  const auto& objects = member(record, "objects");
  if (objects.is_array() && !objects.empty()) {
    const auto submit = has_submissions(record) ? SubmitColumn::yes : SubmitColumn::no;
    std::vector<std::string> headers = {"ACTION", "TYPE", "ADDRESS", "SOURCE-GUID", "DEST-GUID"};
    if (submit == SubmitColumn::yes) headers.emplace_back("SUBMIT");
    headers.emplace_back("REASON");
    Table table(std::move(headers));
    for (const auto& o : objects) add_row(table, o, submit);
    table.print(out);
  }
  const auto& warnings = member(record, "warnings");
  if (warnings.is_array()) {
    for (const auto& w : warnings) out << "warning: " << cell(w) << '\n';
  }
}

ImportOutcome import_outcome(const nlohmann::json& r, ImportRun run) {
  if (run != ImportRun::deploy) return plan_outcome(r, run);
  auto state = cell(r, "state");
  auto pkg = package_label(r);
  auto c = count(r, CountBy::outcome);
  int deployed = c["created"] + c["updated"] + c["unchanged"] + c["deleted"];
  if (state == "deployed") {
    return {Exit::ok, "deployed " + std::to_string(deployed) + " objects " + deployed_counts(c) + " from " + pkg};
  }
  if (state == "unchanged") {
    return {Exit::ok, "unchanged: " + pkg + " is already deployed here (" + std::to_string(c["unchanged"]) +
                          " objects unchanged)"};
  }
  if (state == "partially_deployed") {
    return failed("partially deployed " + pkg + ": " + std::to_string(deployed) + " objects " + deployed_counts(c) +
                  ", " + std::to_string(c["failed"] + c["error"] + c["conflict"]) + " failed" + error_suffix(r));
  }
  return failed("import of " + pkg + " " + state + error_suffix(r));
}

void print_rollback(std::ostream& out, const nlohmann::json& r) {
  const auto& rollback = member(r, "rollback");
  const auto& objects = member(rollback, "objects");
  std::map<std::string, int> counts;
  if (objects.is_array() && !objects.empty()) {
    Table table({"RESULT", "ADDRESS", "GUID", "REVISION"});
    for (const auto& o : objects) {
      table.add({cell(o, "result"), cell(o, "address"), cell(o, "guid"), cell(o, "revision")});
      counts[cell(o, "result")]++;
    }
    table.print(out);
  }
  out << "rolled back import " << short_id(member(r, "id")) << " of " << package_label(r) << ": " << counts["restored"]
      << " restored, " << counts["recreated"] << " recreated, " << counts["removed"] << " removed (catalog revision "
      << cell(rollback, "revision") << ")\n";
  if (const auto& warnings = member(r, "warnings"); warnings.is_array()) {
    for (const auto& w : warnings) out << "warning: " << cell(w) << '\n';
  }
}

void print_import_list(std::ostream& out, const nlohmann::json& result) {
  const auto& imports = member(result, "imports");
  // A SUBMIT column (e.g. "3 submitted, 1 failed") once any import listed ran hooks.
  bool submit = false;
  if (imports.is_array()) {
    for (const auto& i : imports) submit = submit || submit_summary(member(i, "submissions")) != "-";
  }
  std::vector<std::string> headers = {"ID", "PACKAGE", "SOURCE", "STATE", "CREATED", "ORIGIN"};
  if (submit) headers.emplace_back("SUBMIT");
  Table table(std::move(headers));
  if (imports.is_array()) {
    for (const auto& i : imports) {
      std::vector<std::string> row = {short_id(member(i, "id")), package_label(i),      cell(i, "source_environment"),
                                      cell(i, "state"),          cell(i, "created_at"), cell(i, "origin")};
      if (submit) row.push_back(submit_summary(member(i, "submissions")));
      table.add(std::move(row));
    }
  }
  table.print(out);
}

void print_import_details(std::ostream& out, const nlohmann::json& r) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"id", cell(r, "id")},
      {"package", package_label(r) + " (" + cell(r, "package_id") + ")"},
      {"sha256", cell(r, "package_sha256")},
      {"source", cell(r, "source_environment")},
      {"file", cell(r, "file")},
      {"origin", cell(r, "origin")},
      {"user", cell(r, "user")},
      {"state", cell(r, "state")},
      {"created", cell(r, "created_at")},
      {"ended", cell(r, "ended_at")},
      {"report", cell(r, "report_file")}};
  if (auto s = submit_summary(member(r, "submissions")); s != "-") fields.emplace_back("submit", s);
  if (auto e = error_suffix(r); !e.empty()) fields.emplace_back("error", e.substr(2));
  print_fields(out, fields);
  if (const auto& objects = member(r, "objects"); objects.is_array() && !objects.empty()) out << '\n';
  print_import_objects(out, r);
}

}  // namespace ferry::cli
