#include "cli/import_commands.h"
#include "cli/submit_commands.h"

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include <sstream>

namespace ferry::cli {
namespace {

struct Parsed {
  CLI::App app;
  ImportArgs args;
};

/// Parses `ferryctl ARGS...` with only the import commands added.
std::unique_ptr<Parsed> parse(std::vector<std::string> args) {
  auto p = std::make_unique<Parsed>();
  add_import_commands(p->app, p->args);
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector last-first
  p->app.parse(args);
  return p;
}

TEST(CliImport, DefaultsFollowTheProduct) {
  auto p = parse({"import", "pkg.zip"});
  EXPECT_EQ(import_run(p->args), ImportRun::deploy);
  EXPECT_EQ(import_request(p->args), nlohmann::json::parse(R"({
    "file": "pkg.zip", "dry_run": false, "stage": false,
    "policy": {"id_policy": "keep", "on_name_conflict": "fail", "on_deleted_in_target": "fail",
               "only": [], "skip": [], "require_secrets": false, "allow_gap": false, "atomic": true}})"));
}

TEST(CliImport, EveryFlagReachesThePolicy) {
  auto p = parse({"import",
                  "--dry-run",
                  "--id-policy",
                  "new",
                  "--on-name-conflict",
                  "overwrite",
                  "--on-deleted-in-target",
                  "recreate",
                  "--into",
                  "/copy2",
                  "--only",
                  "dataset:/a,dataset:/b",
                  "--only",
                  "task:/c",
                  "--skip",
                  "dataset:/d",
                  "--require-secrets",
                  "--allow-gap",
                  "--partial",
                  "../in/pkg.zip"});
  EXPECT_EQ(import_run(p->args), ImportRun::dry_run);
  EXPECT_EQ(import_request(p->args), nlohmann::json::parse(R"({
    "file": "../in/pkg.zip", "dry_run": true, "stage": false,
    "policy": {"id_policy": "new", "on_name_conflict": "overwrite", "on_deleted_in_target": "recreate",
               "into": "/copy2", "only": ["dataset:/a", "dataset:/b", "task:/c"], "skip": ["dataset:/d"],
               "require_secrets": true, "allow_gap": true, "atomic": false}})"));
  EXPECT_EQ(import_run(parse({"import", "x.zip", "--stage"})->args), ImportRun::stage);
}

TEST(CliImport, ListAndShowAreSubcommands) {
  auto list = parse({"import", "list"});
  EXPECT_TRUE(list->app.get_subcommand("import")->got_subcommand("list"));
  EXPECT_TRUE(list->args.file.empty());
  auto show = parse({"import", "show", "7e57c0de"});
  EXPECT_EQ(show->args.id, "7e57c0de");
  EXPECT_TRUE(show->args.file.empty());
  auto deploy = parse({"import", "deploy", "7e57c0de", "--wait", "--allow-gap"});
  EXPECT_TRUE(deploy->app.get_subcommand("import")->got_subcommand("deploy"));
  EXPECT_EQ(deploy->args.id, "7e57c0de");
  EXPECT_TRUE(deploy->args.allow_gap);
}

TEST(CliImport, UsageErrors) {
  EXPECT_THROW(parse({"import", "x.zip", "--id-policy", "fresh"}), CLI::ValidationError);
  EXPECT_THROW(parse({"import", "x.zip", "--on-name-conflict", "rename"}), CLI::ValidationError);
  EXPECT_THROW(parse({"import", "x.zip", "--dry-run", "--stage"}), CLI::ExcludesError);
  EXPECT_THROW(parse({"import", "show"}), CLI::RequiredError);
}

TEST(CliImport, TableShowsWhatAnUpdateChangesAndEachOverride) {
  auto r = nlohmann::json::parse(R"js({"objects": [
    {"type": "dataset", "address": "dataset:/f/d", "source_guid": "g-1", "dest_guid": "g-1", "action": "update",
     "result": "", "reason": "", "warnings": [],
     "changes": {"moved_from": "dataset:/f/old", "spec": ["/host", "/query"], "refs": ["+uses datasource:/s/a (g-a)"],
                 "attachments": ["~schema.sql"]},
     "overrides": [{"pointer": "/host", "value": "db.prod", "by": "address", "where": "o.yaml:2:5"}]},
    {"type": "dataset", "address": "dataset:/f/e", "source_guid": "g-2", "dest_guid": "g-2", "action": "unchanged",
     "result": "", "reason": "", "warnings": [], "overrides": []}]})js");
  std::ostringstream out;
  print_import_objects(out, r);
  EXPECT_EQ(out.str(),
            "ACTION     TYPE     ADDRESS       SOURCE-GUID  DEST-GUID  REASON\n"
            "update     dataset  dataset:/f/d  g-1          g-1        changes: moved from dataset:/f/old; spec /host, "
            "/query; refs +uses datasource:/s/a (g-a); attachments ~schema.sql\n"
            "                                                          override /host = \"db.prod\" (by address, "
            "o.yaml:2:5)\n"
            "unchanged  dataset  dataset:/f/e  g-2          g-2        \n");
}

nlohmann::json sample_import() {
  return nlohmann::json::parse(R"({
    "id": "7e57c0de-1d2a-4c3b-9e4f-5a6b7c8d9e0f", "package_id": "0f8c2b6e-0000", "package_name": "test-full-1",
    "source_environment": "test", "file": "test-full-1.zip", "state": "deployed", "error": "", "warnings": [],
    "objects": [
      {"type": "datasource", "address": "datasource:/shared/wh", "source_guid": "g-ds", "dest_guid": "g-ds",
       "action": "update", "result": "updated", "reason": "", "warnings": ["secret password missing"]},
      {"type": "dataset", "address": "dataset:/finance/orders", "source_guid": "g-o", "dest_guid": "g-o",
       "action": "create", "result": "created", "reason": "", "warnings": []},
      {"type": "dataset", "address": "dataset:/finance/x", "source_guid": "g-x", "dest_guid": "g-x",
       "action": "unchanged", "result": "", "reason": "", "warnings": []}]})");
}

TEST(CliImport, TableShowsReasonsAndWarningsInFull) {
  auto r = sample_import();
  r["objects"][0]["warnings"].push_back("override applied: /spec/host");
  r["objects"][1]["action"] = "error";
  r["objects"][1]["result"] = "failed";
  r["objects"][1]["reason"] = "dataset:/finance/orders (g-o): input datasource:/x (g-9) not matched";
  r["warnings"] = {"signed by a retiring key"};
  std::ostringstream out;
  print_import_objects(out, r);
  EXPECT_EQ(
      out.str(),
      "ACTION          TYPE        ADDRESS                  SOURCE-GUID  DEST-GUID  REASON\n"
      "update          datasource  datasource:/shared/wh    g-ds         g-ds       warning: secret password missing\n"
      "                                                                             warning: override applied: "
      "/spec/host\n"
      "error (failed)  dataset     dataset:/finance/orders  g-o          g-o        dataset:/finance/orders (g-o): "
      "input datasource:/x (g-9) not matched\n"
      "unchanged       dataset     dataset:/finance/x       g-x          g-x        \n"
      "warning: signed by a retiring key\n");
}

TEST(CliImport, DeployOutcome) {
  auto r = sample_import();
  auto ok = import_outcome(r, ImportRun::deploy);
  EXPECT_EQ(ok.exit, Exit::ok);
  EXPECT_EQ(ok.line, "deployed 3 objects (1 created, 1 updated, 1 unchanged, 0 deleted) from test-full-1");
  r["state"] = "unchanged";
  EXPECT_EQ(import_outcome(r, ImportRun::deploy).line,
            "unchanged: test-full-1 is already deployed here (1 objects unchanged)");
  EXPECT_EQ(import_outcome(r, ImportRun::deploy).exit, Exit::ok);
  r["state"] = "partially_deployed";
  r["objects"][1]["result"] = "failed";
  r["error"] = "1 object failed";
  auto partial = import_outcome(r, ImportRun::deploy);
  EXPECT_EQ(partial.exit, Exit::failed);
  EXPECT_EQ(partial.line,
            "partially deployed test-full-1: 2 objects (0 created, 1 updated, 1 unchanged, 0 deleted), 1 failed: 1 "
            "object failed");
  r["state"] = "failed";
  r["error"] = "rolled back: dataset:/finance/orders failed";
  EXPECT_EQ(import_outcome(r, ImportRun::deploy).line,
            "import of test-full-1 failed: rolled back: dataset:/finance/orders failed");
  nlohmann::json rejected = {{"file", "bad.zip"}, {"state", "rejected"}, {"error", "signature does not verify"}};
  auto no = import_outcome(rejected, ImportRun::deploy);
  EXPECT_EQ(no.exit, Exit::failed);
  EXPECT_EQ(no.line, "import of bad.zip rejected: signature does not verify");
}

TEST(CliImport, PlanOutcomeFailsOnErrorsAndConflictsOnly) {
  auto r = sample_import();
  r["state"] = "staged";
  for (auto& o : r["objects"]) o["result"] = "";
  auto dry = import_outcome(r, ImportRun::dry_run);
  EXPECT_EQ(dry.exit, Exit::ok);
  EXPECT_EQ(dry.line,
            "dry run of test-full-1: 1 to create, 1 to update, 1 unchanged, 0 to delete, 0 skipped; "
            "nothing changed");
  auto staged = import_outcome(r, ImportRun::stage);
  EXPECT_EQ(staged.exit, Exit::ok);
  EXPECT_EQ(staged.line,
            "staged test-full-1 as import 7e57c0de: 1 to create, 1 to update, 1 unchanged, 0 to "
            "delete, 0 skipped; deploy it with: ferryctl import deploy 7e57c0de");
  r["objects"][2]["action"] = "conflict";
  auto conflict = import_outcome(r, ImportRun::dry_run);
  EXPECT_EQ(conflict.exit, Exit::failed);
  EXPECT_EQ(conflict.line, "the plan for test-full-1 has 1 objects with errors or conflicts (reasons above)");
  EXPECT_EQ(import_outcome({{"state", "rejected"}, {"file", "f.zip"}}, ImportRun::stage).exit, Exit::failed);
}

TEST(CliImport, ListAndShow) {
  auto r = sample_import();
  r["created_at"] = "2026-01-01T10:15:00Z";
  r["origin"] = "watch:/srv/in";
  std::ostringstream out;
  print_import_list(out, {{"imports", {r}}});
  EXPECT_EQ(out.str(),
            "ID        PACKAGE      SOURCE  STATE     CREATED               ORIGIN\n"
            "7e57c0de  test-full-1  test    deployed  2026-01-01T10:15:00Z  watch:/srv/in\n");
  out.str("");
  r["error"] = "boom";
  print_import_details(out, r);
  auto text = out.str();
  EXPECT_NE(text.find("package  test-full-1 (0f8c2b6e-0000)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("origin   watch:/srv/in\n"), std::string::npos) << text;
  EXPECT_NE(text.find("error    boom\n\nACTION"), std::string::npos) << text;
}

TEST(CliSubmit, ShowHasASubmitColumnAndNotesOnceAHookRan) {
  auto r = nlohmann::json::parse(R"js({"id": "7e57c0de-1d2a", "submissions": {"submitted": 1, "submission_failed": 1},
    "objects": [
    {"type": "task", "address": "task:/f/a", "source_guid": "g-1", "dest_guid": "g-1", "action": "create",
     "result": "created", "reason": "", "warnings": [],
     "submission": {"state": "submission_failed", "reason": "exit status 3", "exit_status": 3, "attempts": 2,
                    "stderr_tail": "no queue\nbye\n"}},
    {"type": "task", "address": "task:/f/b", "source_guid": "g-2", "dest_guid": "g-2", "action": "create",
     "result": "created", "reason": "", "warnings": [], "submission": {"state": "submitted", "reason": "",
     "attempts": 1, "stderr_tail": ""}},
    {"type": "dataset", "address": "dataset:/f/c", "source_guid": "g-3", "dest_guid": "g-3", "action": "create",
     "result": "created", "reason": "", "warnings": [], "submission": null}]})js");
  std::ostringstream out;
  print_import_objects(out, r);
  EXPECT_EQ(out.str(),
            "ACTION  TYPE     ADDRESS       SOURCE-GUID  DEST-GUID  SUBMIT      REASON\n"
            "create  task     task:/f/a     g-1          g-1        failed (2)  submit: exit status 3\n"
            "                                                                   stderr: no queue\n"
            "                                                                   stderr: bye\n"
            "create  task     task:/f/b     g-2          g-2        submitted   \n"
            "create  dataset  dataset:/f/c  g-3          g-3        -           \n");
  EXPECT_EQ(submit_summary(r["submissions"]), "1 submitted, 1 failed");
  EXPECT_EQ(submit_summary({{"submitting", 2}}), "2 running");
  EXPECT_EQ(submit_summary(nlohmann::json::object()), "-");
  EXPECT_EQ(submit_queued_line(r), "");
  r["submissions"] = {{"submitting", 2}};
  EXPECT_EQ(submit_queued_line(r),
            "submit hooks queued for 2 objects; follow them with: ferryctl import show 7e57c0de");
}

TEST(CliSubmit, ListShowsASubmitSummaryOnceAnImportRanHooks) {
  nlohmann::json a = {{"id", "7e57c0de-1"},
                      {"package_name", "p1"},
                      {"source_environment", "test"},
                      {"state", "deployed"},
                      {"created_at", "t1"},
                      {"origin", "ferryctl"},
                      {"submissions", {{"submitted", 3}, {"submission_failed", 1}}}};
  nlohmann::json b = {
      {"id", "0000aaaa-2"}, {"package_name", "p2"}, {"source_environment", "test"},           {"state", "failed"},
      {"created_at", "t0"}, {"origin", "ferryctl"}, {"submissions", nlohmann::json::object()}};
  std::ostringstream out;
  print_import_list(out, {{"imports", {a, b}}});
  EXPECT_EQ(out.str(),
            "ID        PACKAGE  SOURCE  STATE     CREATED  ORIGIN    SUBMIT\n"
            "7e57c0de  p1       test    deployed  t1       ferryctl  3 submitted, 1 failed\n"
            "0000aaaa  p2       test    failed    t0       ferryctl  -\n");
}

TEST(CliSubmit, ResubmitParses) {
  auto p = parse({"import", "resubmit", "7e57c0de", "--wait"});
  EXPECT_EQ(p->args.id, "7e57c0de");
  EXPECT_TRUE(p->args.wait);
  EXPECT_TRUE(p->app.get_subcommand("import")->got_subcommand("resubmit"));
}

}  // namespace
}  // namespace ferry::cli

namespace ferry::cli {
namespace {

TEST(CliImport, RollbackIsASubcommandAndPrintsEachObject) {
  auto rollback = parse({"import", "rollback", "7e57c0de"});
  EXPECT_TRUE(rollback->app.get_subcommand("import")->got_subcommand("rollback"));
  EXPECT_EQ(rollback->args.id, "7e57c0de");
  EXPECT_THROW(parse({"import", "rollback"}), CLI::RequiredError);

  auto r = nlohmann::json::parse(R"({"id": "7e57c0de-0000-4000-8000-000000000001", "package_name": "inc",
      "state": "rolled_back", "warnings": ["report /in/failed/inc.report.json not rewritten: disk full"],
      "rollback": {"revision": 16, "objects": [
        {"guid": "g1", "address": "dataset:/p/extra", "result": "removed", "revision": 14},
        {"guid": "g2", "address": "dataset:/p/orders", "result": "restored", "revision": 15},
        {"guid": "g3", "address": "dataset:/p/old", "result": "recreated", "revision": 16}]}})");
  std::ostringstream out;
  print_rollback(out, r);
  EXPECT_EQ(out.str(),
            "RESULT     ADDRESS            GUID  REVISION\n"
            "removed    dataset:/p/extra   g1    14\n"
            "restored   dataset:/p/orders  g2    15\n"
            "recreated  dataset:/p/old     g3    16\n"
            "rolled back import 7e57c0de of inc: 1 restored, 1 recreated, 1 removed (catalog revision 16)\n"
            "warning: report /in/failed/inc.report.json not rewritten: disk full\n");
}

TEST(CliImport, AStagedPartialPlanWithErrorsExitsOneAndSaysWhatWillNotDeploy) {
  auto r = nlohmann::json::parse(R"({"id": "7e57c0de-0000-4000-8000-000000000001", "package_name": "chain",
      "state": "staged", "objects": [{"action": "create"}, {"action": "conflict"}, {"action": "error"}]})");
  auto staged = import_outcome(r, ImportRun::stage);
  EXPECT_EQ(staged.exit, Exit::failed);
  EXPECT_EQ(staged.line,
            "staged chain as import 7e57c0de (--partial): 2 objects with errors or conflicts will not deploy "
            "(reasons above); deploy the rest with: ferryctl import deploy 7e57c0de");
}

}  // namespace
}  // namespace ferry::cli
