// End-to-end staged imports (issue 7): `ferryctl import FILE --stage` and watch rules
// with `mode: stage` keep a planned import; `ferryctl import deploy ID` plans it again
// against the catalog as it is then and deploys it.
#include <gtest/gtest.h>

#include <fstream>

#include "e2e/e2e_fixture.h"
#include "support/dir_watch.h"

namespace ferry {
namespace {

namespace fs = std::filesystem;
using test::Environment;

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

class ImportStage : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.configure(Environment::Key::yes);
    fs::create_directories(out_);
    fs::create_directories(inbox_);
    source_.start();
    source_.ctl_json({"object", "apply", "-f", test::source_path("etc/examples/objects.yaml").string()});
    auto exported = source_.ctl_json({"export", "--mode", "full", "--name", "full", "--to", out_.string(), "--wait"});
    ASSERT_EQ(exported["state"], "succeeded");
    target_.configure(Environment::Key::no, "signing: {trusted: [" + (source_.dir() / "keys/test.pub").string() +
                                                "]}\nwatch:\n  - {dir: " + inbox_.string() +
                                                ", settle: 1s, mode: stage}\n");
    target_.start();
  }
  std::string file() const { return (out_ / "full.zip").string(); }

  Environment source_{"test"};
  Environment target_{"prod"};
  fs::path out_ = source_.dir() / "out";
  fs::path inbox_ = target_.dir() / "inbox";
};

TEST_F(ImportStage, AStagedImportIsDeployedLater) {
  auto staged = target_.ctl({"import", file(), "--stage"});
  ASSERT_EQ(staged.exit_code, 0) << staged.err;
  EXPECT_NE(staged.out.find("staged full as import "), std::string::npos) << staged.out;
  auto list = target_.ctl_json({"import", "list"});
  ASSERT_EQ(list["imports"].size(), 1u);
  auto id = list["imports"][0]["id"].get<std::string>();
  EXPECT_EQ(list["imports"][0]["state"], "staged");
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 0u);
  auto shown = target_.ctl_json({"import", "show", id});
  for (const auto& o : shown["objects"]) EXPECT_EQ(o["action"], "create") << o.dump();

  auto deployed = target_.ctl_json({"import", "deploy", id, "--wait"});
  EXPECT_EQ(deployed["state"], "deployed") << deployed.dump(2);
  EXPECT_EQ(deployed["id"], id);
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 10u);
  auto again = target_.ctl({"import", "deploy", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("import " + id + " is deployed, not staged"), std::string::npos) << again.err;
}

TEST_F(ImportStage, DeployPlansAgainAgainstTheCatalogAsItIsThen) {
  auto staged = target_.ctl_json({"import", file(), "--stage"});
  ASSERT_EQ(staged["state"], "staged") << staged.dump(2);
  auto id = staged["id"].get<std::string>();
  // Someone takes an address the package needs after the plan was made.
  test::write_text(target_.dir() / "mine.yaml",
                   "objects:\n  - {type: dataset, name: orders, folder: /finance, spec: {query: mine}}\n");
  target_.ctl_json({"object", "apply", "-f", (target_.dir() / "mine.yaml").string()});
  auto mine = target_.ctl_json({"object", "get", "dataset:/finance/orders"})["guid"].get<std::string>();
  auto r = target_.ctl({"import", "deploy", id});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("name clash: the address is held here by another object (" + mine + ")"), std::string::npos)
      << r.out << r.err;
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 1u);
}

TEST_F(ImportStage, AWatchRuleWithModeStageStagesAndImportDeployDeploys) {
  test::DirWatch processed(inbox_ / "processed");
  fs::copy_file(file(), inbox_ / ".full.tmp");
  fs::rename(inbox_ / ".full.tmp", inbox_ / "full.zip");
  ASSERT_TRUE(processed.wait_for([](const std::string& n) { return n == "full.report.json"; }));
  auto report = read_json(inbox_ / "processed/full.report.json");
  EXPECT_EQ(report["state"], "staged") << report.dump(2);
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 0u);
  auto id = report["import_id"].get<std::string>();
  auto deployed = target_.ctl_json({"import", "deploy", id});
  EXPECT_EQ(deployed["state"], "deployed") << deployed.dump(2);
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 10u);
  EXPECT_EQ(read_json(inbox_ / "processed/full.report.json")["state"], "deployed");
}

}  // namespace
}  // namespace ferry
