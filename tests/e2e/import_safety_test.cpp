// End-to-end import safety (issue 8): `ferryctl import --partial` (atomic: false)
// deploys what does not depend on a failure; `ferryctl import rollback ID` restores
// what an import changed, and refuses when something changed those objects since.
// Real ferryd processes, packages exported by the source.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "e2e/e2e_fixture.h"
#include "support/dir_watch.h"

namespace ferry {
namespace {

namespace fs = std::filesystem;
using test::Environment;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Whether a line of text starts with first and also holds second (a table row).
bool has_row(const std::string& text, const std::string& first, const std::string& second) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(first + " ") && contains(line, " " + second + " ")) return true;
  }
  return false;
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

class ImportSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.configure(Environment::Key::yes);
    fs::create_directories(out_);
    source_.start();
  }
  /// Configures and starts the target; extra is appended to its ferryd.yaml.
  void start_target(const std::string& extra = "") {
    target_.configure(Environment::Key::no,
                      "signing: {trusted: [" + (source_.dir() / "keys/test.pub").string() + "]}\n" + extra);
    target_.start();
  }
  /// Applies YAML objects (attachment files beside it) in env.
  void apply(const Environment& env, const std::string& yaml, const std::string& name = "objects.yaml") {
    auto file = env.dir() / "files" / name;
    test::write_text(file, yaml);
    auto r = env.ctl({"object", "apply", "-f", file.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  nlohmann::json export_to(const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> all = {"--json", "export", "--name", name, "--to", out_.string(), "--wait"};
    all.insert(all.end(), args.begin(), args.end());
    auto r = source_.ctl(all);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto exported = nlohmann::json::parse(r.out);
    EXPECT_EQ(exported["state"], "succeeded") << exported.dump(2);
    return exported;
  }
  std::string zip(const std::string& name) const { return (out_ / (name + ".zip")).string(); }
  std::string guid_of(const Environment& env, const std::string& address) {
    return env.ctl_json({"object", "get", address})["guid"].get<std::string>();
  }

  /// Every object as `object get --json` shows it, by GUID, without what every write
  /// changes (revision, updated_at).
  std::map<std::string, nlohmann::json> objects() {
    std::map<std::string, nlohmann::json> out;
    auto listed = target_.ctl_json({"object", "list"});
    const auto& list = listed["objects"];
    for (const auto& o : list) {
      auto got = target_.ctl_json({"object", "get", o["guid"].get<std::string>()});
      got.erase("revision");
      got.erase("updated_at");
      out[o["guid"].get<std::string>()] = got;
    }
    return out;
  }

  /// The catalog's rows (objects without revision and updated_at, refs, attachments),
  /// read from catalog.db, one line each.
  std::vector<std::string> rows() {
    SQLite::Database db((target_.dir() / "state/catalog/catalog.db").string(), SQLite::OPEN_READONLY);
    std::vector<std::string> out;
    for (const char* sql :
         {"SELECT guid || ' ' || type || ' ' || folder || ' ' || name || ' ' || owner || ' ' || created_at || ' ' || "
          "spec FROM objects ORDER BY guid",
          "SELECT from_guid || ' ' || position || ' ' || to_guid || ' ' || kind FROM refs ORDER BY from_guid, position",
          "SELECT guid || ' ' || name || ' ' || sha256 || ' ' || size FROM attachments ORDER BY guid, name"}) {
      SQLite::Statement q(db, sql);
      while (q.executeStep()) out.push_back(q.getColumn(0).getString());
    }
    return out;
  }

  Environment source_{"test"};
  Environment target_{"prod"};
  fs::path out_ = source_.dir() / "out";
};

// a <- b <- c (c uses b, b uses a) and d on its own; b clashes with an object here.
const char* kChain = R"(objects:
  - {type: dataset, name: a, folder: /p, spec: {v: 1}}
  - {type: dataset, name: b, folder: /p, spec: {v: 1}, refs: [{to: "dataset:/p/a"}]}
  - {type: task, name: c, folder: /p, spec: {v: 1}, refs: [{to: "dataset:/p/b"}]}
  - {type: dataset, name: d, folder: /p, spec: {v: 1}}
)";

TEST_F(ImportSafety, PartialDeployWithAFailingMiddleNode) {
  apply(source_, kChain);
  export_to("chain", {"--mode", "full"});
  const std::string b = guid_of(source_, "dataset:/p/b");
  start_target();
  apply(target_, "objects:\n  - {type: dataset, name: b, folder: /p, spec: {mine: true}}\n");
  const std::string mine = guid_of(target_, "dataset:/p/b");

  auto r = target_.ctl({"import", zip("chain"), "--partial"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "name clash: the address is held here by another object (" + mine + ")")) << r.out;
  EXPECT_TRUE(contains(r.out, "depends on dataset:/p/b (" + b + "), which failed")) << r.out;
  EXPECT_TRUE(contains(r.err, "ferryctl: partially deployed chain: 2 objects (2 created")) << r.err;

  auto list = target_.ctl_json({"import", "list"});
  ASSERT_EQ(list["imports"].size(), 1u);
  EXPECT_EQ(list["imports"][0]["state"], "partially_deployed");
  auto shown = target_.ctl_json({"import", "show", list["imports"][0]["id"].get<std::string>()});
  EXPECT_EQ(shown["policy"]["atomic"], false);
  std::map<std::string, std::string> results;
  for (const auto& o : shown["objects"]) results[o["address"]] = o["result"];
  EXPECT_EQ(results, (std::map<std::string, std::string>{{"dataset:/p/a", "created"},
                                                         {"dataset:/p/b", "failed"},
                                                         {"task:/p/c", "skipped"},
                                                         {"dataset:/p/d", "created"}}));
  EXPECT_EQ(target_.ctl_json({"object", "get", "dataset:/p/b"})["guid"], mine);
  EXPECT_EQ(target_.ctl({"object", "get", "task:/p/c"}).exit_code, 1);
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 3u);

  // Atomic (the default), the same package deploys nothing.
  auto atomic = target_.ctl({"import", zip("chain")});
  EXPECT_EQ(atomic.exit_code, 1);
  EXPECT_TRUE(contains(atomic.out, "not deployed: the import is atomic")) << atomic.out;
}

TEST_F(ImportSafety, AStagedPartialImportKeepsItsPolicyAndDeploysTheRestLater) {
  apply(source_, kChain);
  export_to("chain", {"--mode", "full"});
  start_target();
  apply(target_, "objects:\n  - {type: dataset, name: b, folder: /p, spec: {mine: true}}\n");
  auto staged = target_.ctl({"--json", "import", zip("chain"), "--stage", "--partial"});
  EXPECT_EQ(staged.exit_code, 1) << staged.err;  // the plan has an error
  EXPECT_TRUE(contains(staged.err, "(--partial): 2 objects with errors or conflicts will not deploy")) << staged.err;
  auto record = nlohmann::json::parse(staged.out);
  EXPECT_EQ(record["state"], "staged");
  EXPECT_EQ(record["policy"]["atomic"], false);
  auto deployed = target_.ctl({"--json", "import", "deploy", record["id"].get<std::string>(), "--wait"});
  EXPECT_EQ(deployed.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(deployed.out)["state"], "partially_deployed");
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 3u);
}

// A full package, then an incremental one that updates (spec, refs, attachment),
// creates and deletes; rolling the incremental one back restores the state before it.
TEST_F(ImportSafety, RollbackRestoresExactlyWhatTheImportChanged) {
  test::write_text(source_.dir() / "files/a.sql", "select 1;\n");
  test::write_text(source_.dir() / "files/b.sql", "select 2;\n");
  apply(source_, R"(objects:
  - {type: datasource, name: wh, folder: /shared, spec: {host: db}}
  - type: dataset
    name: orders
    folder: /p
    spec: {query: "select 1", z: [1, 2], a: {nested: true}}
    refs: [{to: "datasource:/shared/wh"}]
    attachments: [{name: q.sql, file: a.sql}]
  - {type: task, name: load, folder: /p, spec: {v: 1}, refs: [{to: "dataset:/p/orders"}]}
  - {type: dataset, name: old, folder: /p, spec: {v: 1}}
)");
  auto full = export_to("full", {"--mode", "full"});
  start_target();
  ASSERT_EQ(target_.ctl_json({"import", zip("full")})["state"], "deployed");
  // This environment changes an object by itself before the incremental import.
  apply(target_,
        "objects:\n  - {type: task, name: load, folder: /p, spec: {v: 1, local: yes}, refs: "
        "[{to: \"dataset:/p/orders\"}]}\n");
  const auto objects_before = objects();
  const auto rows_before = rows();
  const std::string old_guid = guid_of(target_, "dataset:/p/old");

  apply(source_, R"(objects:
  - {type: dataset, name: extra, folder: /p, spec: {v: 1}}
  - type: dataset
    name: orders
    folder: /p
    spec: {query: "select 2"}
    refs: [{to: "dataset:/p/extra"}, {to: "datasource:/shared/wh"}]
    attachments: [{name: q.sql, file: b.sql}]
)",
        "changes.yaml");
  ASSERT_EQ(source_.ctl({"object", "delete", "dataset:/p/old"}).exit_code, 0);
  export_to("inc", {"--mode", "incremental", "--since", full["id"].get<std::string>()});
  auto imported = target_.ctl_json({"import", zip("inc")});
  ASSERT_EQ(imported["state"], "deployed") << imported.dump(2);
  const std::string id = imported["id"].get<std::string>();
  ASSERT_NE(objects(), objects_before);
  const std::string extra = guid_of(target_, "dataset:/p/extra");
  const int64_t revision_after_import = target_.ctl_json({"status"})["catalog"]["revision"].get<int64_t>();

  auto r = target_.ctl({"import", "rollback", id.substr(0, 8)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has_row(r.out, "restored", "dataset:/p/orders")) << r.out;
  EXPECT_TRUE(has_row(r.out, "recreated", "dataset:/p/old")) << r.out;
  EXPECT_TRUE(has_row(r.out, "removed", "dataset:/p/extra")) << r.out;
  EXPECT_TRUE(contains(r.out, ": 1 restored, 1 recreated, 1 removed (catalog revision ")) << r.out;
  EXPECT_EQ(objects(), objects_before);
  EXPECT_EQ(rows(), rows_before);
  EXPECT_EQ(target_.ctl_json({"object", "get", old_guid})["address"], "dataset:/p/old");
  EXPECT_EQ(target_.ctl({"object", "get", extra}).exit_code, 1);

  auto shown = target_.ctl_json({"import", "show", id});
  EXPECT_EQ(shown["state"], "rolled_back");
  EXPECT_TRUE(shown["ended_at"].is_string());
  std::map<std::string, std::string> results;
  for (const auto& o : shown["objects"]) results[o["address"]] = o["result"];
  EXPECT_EQ(results["dataset:/p/orders"], "restored");
  EXPECT_EQ(results["dataset:/p/extra"], "removed");
  EXPECT_EQ(results["dataset:/p/old"], "recreated");

  // The rollback's changes are newer than the import: an incremental export from
  // this environment carries them (the restored objects and the removal).
  auto since = target_.ctl_json({"object", "list"});
  int newer = 0;
  for (const auto& o : since["objects"]) newer += o["revision"].get<int64_t>() > revision_after_import ? 1 : 0;
  EXPECT_EQ(newer, 2);

  // Rolled back once; the same package imports again as it did the first time.
  auto again = target_.ctl({"import", "rollback", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(contains(again.err, "import " + id +
                                      " is rolled_back; only a deployed or partially_deployed import "
                                      "can be rolled back"))
      << again.err;
  auto reimported = target_.ctl_json({"import", zip("inc")});
  EXPECT_EQ(reimported["state"], "deployed") << reimported.dump(2);
  EXPECT_EQ(guid_of(target_, "dataset:/p/extra"), extra);
}

TEST_F(ImportSafety, RollbackIsRefusedAfterALaterImportOrAManualEdit) {
  apply(source_, "objects:\n  - {type: dataset, name: orders, folder: /p, spec: {v: 1}}\n");
  auto full = export_to("full", {"--mode", "full"});
  apply(source_, "objects:\n  - {type: dataset, name: orders, folder: /p, spec: {v: 2}}\n", "v2.yaml");
  auto inc1 = export_to("inc1", {"--mode", "incremental", "--since", full["id"].get<std::string>()});
  apply(source_, "objects:\n  - {type: dataset, name: orders, folder: /p, spec: {v: 3}}\n", "v3.yaml");
  export_to("inc2", {"--mode", "incremental", "--since", inc1["id"].get<std::string>()});
  start_target();
  auto first = target_.ctl_json({"import", zip("full")})["id"].get<std::string>();
  auto second = target_.ctl_json({"import", zip("inc1")})["id"].get<std::string>();
  auto third = target_.ctl_json({"import", zip("inc2")})["id"].get<std::string>();
  const std::string orders = guid_of(target_, "dataset:/p/orders");
  const auto before = rows();

  auto r = target_.ctl({"import", "rollback", second});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "import " + third + " changed dataset:/p/orders (" + orders + ") after import " + second +
                                  "; roll back import " + third + " first"))
      << r.err;
  EXPECT_EQ(rows(), before);
  EXPECT_EQ(target_.ctl_json({"import", "show", second})["state"], "deployed");

  // Rolled back newest first, each one restores the version before it.
  ASSERT_EQ(target_.ctl({"import", "rollback", third}).exit_code, 0);
  EXPECT_EQ(target_.ctl_json({"object", "get", orders})["spec"]["v"], 2);
  // Then someone edits the object by hand: the earlier import cannot be rolled back.
  apply(target_, "objects:\n  - {type: dataset, name: orders, folder: /p, spec: {v: 9}}\n");
  auto edited = target_.ctl({"import", "rollback", second});
  EXPECT_EQ(edited.exit_code, 1);
  EXPECT_TRUE(contains(edited.err, "dataset:/p/orders (" + orders + "): changed since import " + second)) << edited.err;
  EXPECT_TRUE(contains(edited.err, "restore what you need by hand with ferryctl object apply")) << edited.err;
  EXPECT_EQ(target_.ctl_json({"object", "get", orders})["spec"]["v"], 9);
  EXPECT_EQ(target_.ctl_json({"import", "show", second})["state"], "deployed");
  (void)first;
}

TEST_F(ImportSafety, AWatchRuleWithAtomicFalseAndItsReportAfterARollback) {
  apply(source_, kChain);
  export_to("chain", {"--mode", "full"});
  const fs::path inbox = target_.dir() / "inbox";
  fs::create_directories(inbox);
  start_target("watch:\n  - {dir: " + inbox.string() + ", settle: 1s, atomic: false}\n");
  apply(target_, "objects:\n  - {type: dataset, name: b, folder: /p, spec: {mine: true}}\n");
  test::DirWatch failed(inbox / "failed");
  fs::copy_file(zip("chain"), inbox / ".chain.tmp");
  fs::rename(inbox / ".chain.tmp", inbox / "chain.zip");
  ASSERT_TRUE(failed.wait_for([](const std::string& n) { return n == "chain.report.json"; }));
  auto report = read_json(inbox / "failed/chain.report.json");
  EXPECT_EQ(report["state"], "partially_deployed") << report.dump(2);
  EXPECT_EQ(report["policy"]["atomic"], false);
  auto id = report["import_id"].get<std::string>();
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 3u);

  auto rolled = target_.ctl_json({"import", "rollback", id});
  EXPECT_EQ(rolled["state"], "rolled_back");
  EXPECT_EQ(rolled["rollback"]["objects"].size(), 2u);
  report = read_json(inbox / "failed/chain.report.json");
  EXPECT_EQ(report["state"], "rolled_back");
  EXPECT_EQ(report["rollback"]["objects"].size(), 2u);
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 1u);  // only this environment's own b
}

TEST_F(ImportSafety, OnlyADeployedImportCanBeRolledBack) {
  apply(source_, kChain);
  export_to("chain", {"--mode", "full"});
  start_target();
  auto staged = target_.ctl_json({"import", zip("chain"), "--stage"});
  auto r = target_.ctl({"import", "rollback", staged["id"].get<std::string>()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "is staged; only a deployed or partially_deployed import can be rolled back")) << r.err;
  auto unknown = target_.ctl({"import", "rollback", "0123456789"});
  EXPECT_EQ(unknown.exit_code, 1);
}

}  // namespace
}  // namespace ferry
