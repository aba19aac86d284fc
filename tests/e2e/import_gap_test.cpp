// End-to-end gaps between incremental packages (issue 7): a package whose revision
// range leaves a gap after the last one imported from its source is refused by
// `ferryctl import` (unless --allow-gap) and held by a watched folder until its
// predecessor arrives or gap_timeout runs out. Tests wait for files (inotify) and
// sd_notify messages, never for time.
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

class ImportGap : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.configure(Environment::Key::yes);
    fs::create_directories(out_);
    fs::create_directories(inbox_);
    source_.start();
    source_.ctl_json({"object", "apply", "-f", test::source_path("etc/examples/objects.yaml").string()});
    // Three incremental packages in a row: inc1 has everything (no baseline), inc2
    // and inc3 each one change, each building on the one before.
    inc1_ = export_incremental("inc1", "");
    change("one");
    inc2_ = export_incremental("inc2", inc1_);
    change("two");
    inc3_ = export_incremental("inc3", inc2_);
  }
  void start_target(const std::string& gap_timeout = "1h") {
    target_.configure(Environment::Key::no, "signing: {trusted: [" + (source_.dir() / "keys/test.pub").string() +
                                                "]}\nwatch:\n  - {dir: " + inbox_.string() +
                                                ", settle: 1s, gap_timeout: " + gap_timeout + "}\n");
    target_.start();
  }
  std::string export_incremental(const std::string& name, const std::string& since) {
    std::vector<std::string> args = {"export", "--mode", "incremental", "--name",
                                     name,     "--to",   out_.string(), "--wait"};
    if (!since.empty()) args.insert(args.end(), {"--since", since});
    auto exported = source_.ctl_json(args);
    EXPECT_EQ(exported["state"], "succeeded") << exported.dump(2);
    return exported["id"].get<std::string>();
  }
  void change(const std::string& query) {
    test::write_text(source_.dir() / "change.yaml",
                     "objects:\n  - {type: dataset, name: customers, folder: /finance, "
                     "spec: {query: '" +
                         query + "'}, refs: [{to: 'datasource:/shared/warehouse'}]}\n");
    source_.ctl_json({"object", "apply", "-f", (source_.dir() / "change.yaml").string()});
  }
  std::string file(const std::string& name) const { return (out_ / (name + ".zip")).string(); }
  /// Renames a package into the watched folder (as a transfer tool would).
  void deliver(const std::string& name) {
    fs::copy_file(file(name), inbox_ / ("." + name + ".tmp"));
    fs::rename(inbox_ / ("." + name + ".tmp"), inbox_ / (name + ".zip"));
  }
  std::string query_here() {
    return target_.ctl_json({"object", "get", "dataset:/finance/customers"})["spec"]["query"].get<std::string>();
  }

  Environment source_{"test"};
  Environment target_{"prod"};
  fs::path out_ = source_.dir() / "out";
  fs::path inbox_ = target_.dir() / "inbox";
  std::string inc1_, inc2_, inc3_;
};

TEST_F(ImportGap, AGapIsRefusedUnlessAllowed) {
  start_target();
  ASSERT_EQ(target_.ctl_json({"import", file("inc1")})["state"], "deployed");
  auto refused = target_.ctl({"import", file("inc3")});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("refused: package inc3 (" + inc3_ + ") from environment test covers source revisions"),
            std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("are missing (the package before it is " + inc2_ +
                             "); import the missing package first, or import this one with --allow-gap"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(query_here(), "select * from customers");

  auto allowed = target_.ctl_json({"import", file("inc3"), "--allow-gap"});
  EXPECT_EQ(allowed["state"], "deployed") << allowed.dump(2);
  EXPECT_NE(allowed["warnings"].dump().find("gap allowed (--allow-gap)"), std::string::npos) << allowed.dump(2);
  EXPECT_EQ(query_here(), "two");
  // In order, there is no gap.
  auto in_order = target_.ctl_json({"import", file("inc2"), "--dry-run"});
  EXPECT_EQ(in_order["state"], "planned") << in_order.dump(2);
}

TEST_F(ImportGap, AWatchedFolderDeploysPackagesThatArriveInTheWrongOrderInTheRightOne) {
  start_target();
  test::DirWatch processed(inbox_ / "processed");
  deliver("inc1");
  ASSERT_TRUE(processed.wait_for([](const std::string& n) { return n == "inc1.report.json"; }));
  deliver("inc3");
  ASSERT_TRUE(target_.daemon().notify().wait_for("waiting_predecessor: " + (inbox_ / "inc3.zip").string()));
  auto waiting = target_.ctl_json({"import", "list"});
  EXPECT_EQ(waiting["imports"][0]["state"], "waiting_predecessor") << waiting.dump(2);
  EXPECT_TRUE(fs::exists(inbox_ / "inc3.zip"));
  deliver("inc2");
  ASSERT_TRUE(processed.wait_for([](const std::string& n) { return n == "inc3.report.json"; }));
  EXPECT_EQ(read_json(inbox_ / "processed/inc2.report.json")["state"], "deployed");
  EXPECT_EQ(read_json(inbox_ / "processed/inc3.report.json")["state"], "deployed");
  EXPECT_EQ(query_here(), "two");
  // The waiting import's record became the deployed one (one record per package). The
  // report is filed before the record is updated (the record names where the report
  // went), so the record may lag the report by a moment: wait for it.
  nlohmann::json listed;
  EXPECT_TRUE(test::poll_until([&] {
    listed = target_.ctl_json({"import", "list"});
    for (const auto& i : listed["imports"])
      if (i["state"] != "deployed") return false;
    return true;
  }));
  ASSERT_EQ(listed["imports"].size(), 3u) << listed.dump(2);
  for (const auto& i : listed["imports"]) EXPECT_EQ(i["state"], "deployed") << i.dump(2);
}

TEST_F(ImportGap, AWaitingPackageFailsAfterGapTimeoutNamingTheMissingRange) {
  start_target("1s");
  test::DirWatch processed(inbox_ / "processed");
  test::DirWatch failed(inbox_ / "failed");
  deliver("inc1");
  ASSERT_TRUE(processed.wait_for([](const std::string& n) { return n == "inc1.report.json"; }));
  deliver("inc3");
  ASSERT_TRUE(failed.wait_for([](const std::string& n) { return n == "inc3.report.json"; }));
  auto report = read_json(inbox_ / "failed/inc3.report.json");
  EXPECT_EQ(report["state"], "failed");
  auto error = report["error"].get<std::string>();
  EXPECT_NE(error.find("are missing (the package before it is " + inc2_ + ")"), std::string::npos) << error;
  EXPECT_NE(error.find("waited 1s (gap_timeout) for it"), std::string::npos) << error;
  EXPECT_EQ(query_here(), "select * from customers");
}

}  // namespace
}  // namespace ferry
