// End-to-end import policies (issue 7): real ferryd processes, packages exported by
// the source and imported with `ferryctl import` by the target.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "e2e/e2e_fixture.h"

namespace ferry {
namespace {

namespace fs = std::filesystem;
using test::Environment;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Replaces the first `from` in the file with `to` (for keys configure() writes itself).
void edit(const fs::path& file, const std::string& from, const std::string& to) {
  auto text = read_text(file);
  auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  test::write_text(file, text);
}

class ImportPolicyE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.configure(Environment::Key::yes);
    fs::create_directories(out_);
    source_.start();
    source_.ctl_json({"object", "apply", "-f", test::source_path("etc/examples/objects.yaml").string()});
  }
  /// Configures and starts the target; extra is appended to its ferryd.yaml.
  void start_target(const std::string& extra = "") {
    target_config_ = target_.configure(
        Environment::Key::no, "signing: {trusted: [" + (source_.dir() / "keys/test.pub").string() + "]}\n" + extra);
  }
  std::string export_to(const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> all = {"export", "--name", name, "--to", out_.string(), "--wait"};
    all.insert(all.end(), args.begin(), args.end());
    auto exported = source_.ctl_json(all);
    EXPECT_EQ(exported["state"], "succeeded") << exported.dump(2);
    return (out_ / (name + ".zip")).string();
  }
  std::map<std::string, nlohmann::json> objects_by_address() {
    std::map<std::string, nlohmann::json> out;
    auto listed = target_.ctl_json({"object", "list"});
    for (const auto& o : listed["objects"]) {
      out[o["address"].get<std::string>()] = target_.ctl_json({"object", "get", o["guid"].get<std::string>()});
    }
    return out;
  }

  Environment source_{"test"};
  Environment target_{"prod"};
  fs::path out_ = source_.dir() / "out";
  fs::path target_config_;
};

// id_policy: new twice with --into two folders: two disjoint object sets whose
// internal refs point inside their own copy and whose outside refs are untouched.
TEST_F(ImportPolicyE2e, TwoCopiesWithNewGuidsIntoTwoFolders) {
  start_target();
  target_.start();
  auto full = export_to("full", {"--mode", "full"});
  ASSERT_EQ(target_.ctl_json({"import", full})["state"], "deployed");
  // The finance datasets and the whole /etl tree; they use the data sources and
  // dataset:/marketing/clicks, which stay outside the package.
  auto part = export_to("part", {"--mode", "selected", "--folder", "/finance", "--folder", "/etl/**"});
  auto one = target_.ctl_json({"import", part, "--id-policy", "new", "--into", "/copy1"});
  auto two = target_.ctl_json({"import", part, "--id-policy", "new", "--into", "/copy2"});
  ASSERT_EQ(one["state"], "deployed") << one.dump(2);
  ASSERT_EQ(two["state"], "deployed") << two.dump(2);

  auto here = objects_by_address();
  std::map<std::string, std::set<std::string>> guids;  // "/copy1" -> GUIDs
  for (const auto& [address, o] : here) {
    for (const std::string root : {"/copy1", "/copy2"}) {
      if (address.find(":" + root + "/") != std::string::npos) guids[root].insert(o["guid"].get<std::string>());
    }
  }
  ASSERT_EQ(guids["/copy1"].size(), one["objects"].size());
  ASSERT_EQ(guids["/copy2"].size(), two["objects"].size());
  for (const auto& g : guids["/copy1"]) EXPECT_FALSE(guids["/copy2"].contains(g));
  for (const std::string root : {"/copy1", "/copy2"}) {
    for (const auto& [address, o] : here) {
      if (address.find(":" + root + "/") == std::string::npos) continue;
      for (const auto& ref : o["refs"]) {
        auto target = ref["address"].get<std::string>();
        bool outside = target.starts_with("datasource:/shared/") || target == "dataset:/marketing/clicks";
        if (outside) {
          EXPECT_EQ(ref["guid"], here.at(target)["guid"]) << address;  // the original's GUID
        } else {
          EXPECT_NE(target.find(":" + root + "/"), std::string::npos) << address << " -> " << target;
          EXPECT_TRUE(guids[root].contains(ref["guid"].get<std::string>())) << address << " -> " << target;
        }
      }
    }
  }
  EXPECT_EQ(here.at("task:/copy2/etl/daily_orders")["refs"][0]["address"], "dataset:/copy2/finance/orders");
  // The originals are untouched.
  EXPECT_EQ(here.at("dataset:/finance/orders")["guid"],
            source_.ctl_json({"object", "get", "dataset:/finance/orders"})["guid"]);
}

// --dry-run prints the plan: per object the action, both GUIDs, what an update
// changes and each override; the overrides file applies on every import.
TEST_F(ImportPolicyE2e, DryRunShowsChangesAndOverridesWhichApplyOnEveryImport) {
  test::write_text(target_.dir() / "overrides.yaml",
                   "overrides:\n"
                   "  - {address: 'datasource:/shared/warehouse', pointer: /host, value: db.prod.internal}\n"
                   "  - {type: datasource, pointer: /port, value: 6432}\n");
  start_target("overrides: overrides.yaml\n");
  target_.start();
  auto first = export_to("first", {"--mode", "full"});
  auto dry = target_.ctl_json({"import", first, "--dry-run"});
  ASSERT_EQ(dry["state"], "planned") << dry.dump(2);
  bool shown = false;
  for (const auto& o : dry["objects"]) {
    if (o["address"] != "datasource:/shared/warehouse") continue;
    shown = true;
    EXPECT_EQ(o["overrides"][0]["pointer"], "/host") << o.dump(2);
    EXPECT_EQ(o["overrides"][0]["value"], "db.prod.internal");
    EXPECT_EQ(o["overrides"][1]["value"], 6432);
  }
  EXPECT_TRUE(shown) << dry.dump(2);
  ASSERT_EQ(target_.ctl_json({"import", first})["state"], "deployed");
  auto warehouse = target_.ctl_json({"object", "get", "datasource:/shared/warehouse"});
  EXPECT_EQ(warehouse["spec"]["host"], "db.prod.internal");
  EXPECT_EQ(warehouse["spec"]["port"], 6432);

  // The source changes a dataset and its host; the next package updates the dataset
  // and leaves the warehouse's overridden host alone (unchanged).
  test::write_text(source_.dir() / "change.yaml",
                   "objects:\n"
                   "  - {type: dataset, name: customers, folder: /finance, spec: {query: 'select 2', limit: 10},\n"
                   "     refs: [{to: 'datasource:/shared/events'}]}\n"
                   "  - {type: datasource, name: warehouse, folder: /shared,\n"
                   "     spec: {host: db2.test.internal, port: 5432, database: dwh, user: etl, password: s3cret}}\n");
  source_.ctl_json({"object", "apply", "-f", (source_.dir() / "change.yaml").string()});
  auto second = export_to("second", {"--mode", "full"});
  auto table = target_.ctl({"import", second, "--dry-run"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  auto events = source_.ctl_json({"object", "get", "datasource:/shared/events"})["guid"].get<std::string>();
  auto old = source_.ctl_json({"object", "get", "datasource:/shared/warehouse"})["guid"].get<std::string>();
  EXPECT_NE(table.out.find("changes: spec /limit, /query; refs +uses datasource:/shared/events (" + events +
                           "), -uses datasource:/shared/warehouse (" + old + ")"),
            std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("override /host = \"db.prod.internal\" (by address, "), std::string::npos) << table.out;
  // The warehouse's host changed in the source, but the override decides it here.
  EXPECT_NE(table.out.find("dry run of second: 0 to create, 1 to update, 9 unchanged"), std::string::npos) << table.out;
  auto json = target_.ctl_json({"import", second, "--dry-run"});
  for (const auto& o : json["objects"]) {
    if (o["address"] == "datasource:/shared/warehouse") {
      EXPECT_EQ(o["action"], "unchanged") << o.dump(2);
    }
    if (o["address"] == "dataset:/finance/customers") {
      EXPECT_EQ(o["changes"]["spec"], nlohmann::json::parse(R"(["/limit","/query"])")) << o.dump(2);
    }
  }
}

TEST_F(ImportPolicyE2e, CheckValidatesTheOverridesAndSecretsFiles) {
  auto overrides = test::write_text(target_.dir() / "overrides.yaml",
                                    "overrides:\n  - {type: dataset, guid: 6f9619ff-8b86-d011-b42d-00cf4fc964ff, "
                                    "pointer: /host, value: x}\n");
  auto secrets = test::write_text(target_.dir() / "secrets.yaml", "secrets:\n  - {address: 'x', pointer: /p}\n");
  start_target("overrides: overrides.yaml\nsecrets: secrets.yaml\n");
  auto r = test::run({FERRYD_PATH, "--check", "--config", target_config_.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(overrides.string() + ":2:5: overrides[0]: give only one of address, guid or type per override"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(secrets.string() + ":2:"), std::string::npos) << r.err;
}

TEST_F(ImportPolicyE2e, RequireSecretsMakesAMissingSecretAnError) {
  start_target();
  target_.start();
  auto file = export_to("full", {"--mode", "full"});
  auto r = target_.ctl({"import", file, "--require-secrets"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("secret /password not set: add it to the secrets file (require_secrets is on)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 0u);
  EXPECT_EQ(target_.ctl_json({"import", file})["state"], "deployed");  // without it: warnings only
}

TEST_F(ImportPolicyE2e, AnotherEngineIsRejectedBeforeAnyChange) {
  start_target();
  edit(target_config_, "engine: single", "engine: cluster");
  target_.start();
  auto file = export_to("full", {"--mode", "full"});
  auto r = target_.ctl({"import", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("comes from engine \"single\" (environment test) but this environment's engine is \"cluster\""),
            std::string::npos)
      << r.out << r.err;
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 0u);
  EXPECT_EQ(target_.ctl_json({"import", "list"})["imports"][0]["state"], "rejected");
}

TEST_F(ImportPolicyE2e, QuotaAndNotImportableTypesRefuseTheImportBeforeAnyChange) {
  auto types = test::write_text(target_.dir() / "types.yaml",
                                "types:\n"
                                "  datasource: {global: true, unique_name: type, secret_fields: [/password]}\n"
                                "  dataset: {max_objects: 2}\n"
                                "  task: {}\n"
                                "  workflow: {importable: false}\n"
                                "  workflow_step: {}\n");
  start_target();
  edit(target_config_, test::source_path("etc/types.yaml").string(), types.string());
  target_.start();
  auto file = export_to("full", {"--mode", "full"});
  auto r = target_.ctl({"import", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refused: type 'workflow' is not importable in this environment (types.yaml: importable: "
                       "false); quota: type 'dataset' allows 2 objects here (types.yaml: max_objects) and this "
                       "import would make 3"),
            std::string::npos)
      << r.out << r.err;
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 0u);
}

TEST_F(ImportPolicyE2e, NameConflictSkipAndOverwrite) {
  start_target();
  target_.start();
  test::write_text(target_.dir() / "mine.yaml",
                   "objects:\n"
                   "  - {type: datasource, name: warehouse, folder: /other, spec: {host: mine}}\n");
  auto mine = target_.ctl_json({"object", "apply", "-f", (target_.dir() / "mine.yaml").string()});
  auto mine_guid = target_.ctl_json({"object", "get", "datasource:/other/warehouse"})["guid"];
  auto file = export_to("full", {"--mode", "full"});
  auto failed = target_.ctl({"import", file});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("unique_name: type"), std::string::npos) << failed.err;

  auto skipped = target_.ctl_json({"import", file, "--on-name-conflict", "skip"});
  ASSERT_EQ(skipped["state"], "deployed") << skipped.dump(2);
  EXPECT_EQ(target_.ctl_json({"object", "get", "datasource:/other/warehouse"})["spec"]["host"], "mine");
  EXPECT_EQ(target_.ctl_json({"object", "get", "dataset:/finance/orders"})["refs"][0]["guid"], mine_guid);

  auto overwritten = target_.ctl_json({"import", file, "--on-name-conflict", "overwrite"});
  ASSERT_EQ(overwritten["state"], "deployed") << overwritten.dump(2);
  auto now = target_.ctl_json({"object", "get", "datasource:/shared/warehouse"});
  EXPECT_EQ(now["guid"], mine_guid);
  EXPECT_EQ(now["spec"]["host"], "db.test.internal");
  EXPECT_FALSE(now["spec"].contains("other"));
}

// Tombstones in an incremental package delete here; an object here outside the
// package that still uses the deleted one stops the import, named.
TEST_F(ImportPolicyE2e, TombstonesDeleteHereUnlessSomethingOutsideThePackageUsesThem) {
  start_target();
  target_.start();
  auto first = source_.ctl_json({"export", "--mode", "incremental", "--name", "inc1", "--to", out_.string(), "--wait"});
  ASSERT_EQ(first["state"], "succeeded");
  ASSERT_EQ(target_.ctl_json({"import", (out_ / "inc1.zip").string()})["state"], "deployed");
  test::write_text(target_.dir() / "mine.yaml",
                   "objects:\n  - {type: task, name: uses_customers, folder: /mine, spec: {},\n"
                   "     refs: [{to: 'dataset:/finance/customers'}]}\n");
  target_.ctl_json({"object", "apply", "-f", (target_.dir() / "mine.yaml").string()});
  auto mine = target_.ctl_json({"object", "get", "task:/mine/uses_customers"})["guid"].get<std::string>();

  // The source stops using customers and deletes it.
  test::write_text(source_.dir() / "change.yaml",
                   "objects:\n  - {type: task, name: daily_orders, folder: /etl, spec: {schedule: '0 2 * * *'},\n"
                   "     refs: [{to: 'dataset:/finance/orders'}]}\n");
  source_.ctl_json({"object", "apply", "-f", (source_.dir() / "change.yaml").string()});
  source_.ctl_json({"object", "delete", "dataset:/finance/customers"});
  auto second = source_.ctl_json({"export", "--mode", "incremental", "--since", first["id"].get<std::string>(),
                                  "--name", "inc2", "--to", out_.string(), "--wait"});
  ASSERT_EQ(second["state"], "succeeded") << second.dump(2);
  auto inc2 = (out_ / "inc2.zip").string();

  auto refused = target_.ctl({"import", inc2});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.out.find("cannot delete it: still referenced here by task:/mine/uses_customers (" + mine +
                             "); delete or change those first"),
            std::string::npos)
      << refused.out << refused.err;
  EXPECT_EQ(target_.ctl({"object", "get", "dataset:/finance/customers"}).exit_code, 0);

  target_.ctl_json({"object", "delete", "task:/mine/uses_customers"});
  auto deployed = target_.ctl_json({"import", inc2});
  EXPECT_EQ(deployed["state"], "deployed") << deployed.dump(2);
  EXPECT_EQ(target_.ctl({"object", "get", "dataset:/finance/customers"}).exit_code, 1);
}

}  // namespace
}  // namespace ferry
