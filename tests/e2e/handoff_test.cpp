// End-to-end folder handoff (issue 5): two real ferryd processes, one exporting
// into the folder the other watches. The test waits for the report file (an
// inotify event), never for time.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>

#include "e2e/e2e_fixture.h"
#include "support/dir_watch.h"
#include "util/sha256.h"
#include "util/time.h"

namespace ferry {
namespace {

namespace fs = std::filesystem;
using test::Environment;

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

std::set<std::string> guids(const nlohmann::json& list) {
  std::set<std::string> out;
  for (const auto& o : list["objects"]) out.insert(o["guid"].get<std::string>());
  return out;
}

class Handoff : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.configure(Environment::Key::yes);
    fs::create_directories(inbox_);
    test::write_text(target_.dir() / "secrets.yaml",
                     "secrets:\n  - {address: 'datasource:/shared/warehouse', pointer: /password, value: prod-pw}\n");
    target_.configure(Environment::Key::no, "signing: {trusted: [" + (source_.dir() / "keys/test.pub").string() +
                                                "]}\nsecrets: secrets.yaml\nwatch:\n  - {dir: " + inbox_.string() +
                                                ", settle: 1s}\n");
    source_.start();
    target_.start();
    source_.ctl_json({"object", "apply", "-f", test::source_path("etc/examples/objects.yaml").string()});
  }
  Environment source_{"test"};
  Environment target_{"prod"};
  fs::path inbox_ = target_.dir() / "inbox";
};

TEST_F(Handoff, ExportedPackageIsDeployedByThePeerAndTamperedCopyFails) {
  test::DirWatch processed(inbox_ / "processed");
  auto exported =
      source_.ctl_json({"export", "--mode", "full", "--name", "handoff", "--to", inbox_.string(), "--wait"});
  ASSERT_EQ(exported["state"], "succeeded") << exported.dump(2);
  ASSERT_TRUE(processed.wait_for([](const std::string& n) { return n == "handoff.report.json"; }));
  auto report = read_json(inbox_ / "processed/handoff.report.json");
  EXPECT_EQ(report["state"], "deployed") << report.dump(2);
  EXPECT_TRUE(fs::exists(inbox_ / "processed/handoff.zip"));

  // Same GUIDs, references resolved, attachment bytes equal.
  auto here = target_.ctl_json({"object", "list"});
  EXPECT_EQ(guids(here), guids(source_.ctl_json({"object", "list"})));
  auto orders = target_.ctl_json({"object", "get", "dataset:/finance/orders"});
  auto source_ds = source_.ctl_json({"object", "get", "datasource:/shared/warehouse"});
  EXPECT_EQ(orders["refs"][0]["guid"], source_ds["guid"]);
  EXPECT_EQ(orders["refs"][0]["address"], "datasource:/shared/warehouse");
  std::ifstream csv(test::source_path("etc/examples/sample.csv"));
  std::string bytes((std::istreambuf_iterator<char>(csv)), std::istreambuf_iterator<char>());
  EXPECT_EQ(orders["attachments"][0]["sha256"], sha256_hex(bytes));
  // Secrets never travel: prod's own value from its secrets file, else unset with a warning.
  EXPECT_EQ(target_.ctl_json({"object", "get", "datasource:/shared/warehouse"})["secrets"]["/password"], "set");
  EXPECT_EQ(target_.ctl_json({"object", "get", "datasource:/shared/events"})["secrets"]["/password"], "unset");
  EXPECT_NE(report["warnings"].dump().find("datasource:/shared/events"), std::string::npos) << report.dump(2);

  // A tampered copy is refused, filed under failed/ with the reason, and changes nothing.
  auto revision = target_.ctl_json({"status"})["catalog"]["revision"];
  std::string zip;
  {
    std::ifstream in(inbox_ / "processed/handoff.zip", std::ios::binary);
    zip.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  zip[zip.size() / 2] ^= 0x5a;
  test::DirWatch failed(inbox_ / "failed");
  test::write_text(inbox_ / ".tampered.tmp", zip);
  fs::rename(inbox_ / ".tampered.tmp", inbox_ / "tampered.zip");
  ASSERT_TRUE(failed.wait_for([](const std::string& n) { return n == "tampered.report.json"; }));
  auto refused = read_json(inbox_ / "failed/tampered.report.json");
  EXPECT_EQ(refused["state"], "rejected") << refused.dump(2);
  EXPECT_FALSE(refused["error"].get<std::string>().empty());
  EXPECT_TRUE(fs::exists(inbox_ / "failed/tampered.zip"));
  EXPECT_EQ(target_.ctl_json({"status"})["catalog"]["revision"], revision);
}

// A package waiting in the folder while prod is down is taken at start; the same
// package dropped again under another name is a duplicate, reported unchanged.
TEST_F(Handoff, WaitingPackageIsTakenAtStartAndDuplicateIsUnchanged) {
  EXPECT_EQ(target_.stop(), 0);
  auto exported = source_.ctl_json({"export", "--mode", "full", "--name", "early", "--to", inbox_.string(), "--wait"});
  ASSERT_EQ(exported["state"], "succeeded");
  test::DirWatch processed(inbox_ / "processed");
  target_.start();
  ASSERT_TRUE(processed.wait_for([](const std::string& n) { return n == "early.report.json"; }));
  EXPECT_EQ(read_json(inbox_ / "processed/early.report.json")["state"], "deployed");
  auto revision = target_.ctl_json({"status"})["catalog"]["revision"];

  fs::copy_file(inbox_ / "processed/early.zip", inbox_ / ".again.tmp");
  fs::rename(inbox_ / ".again.tmp", inbox_ / "again.zip");
  ASSERT_TRUE(processed.wait_for([](const std::string& n) { return n == "again.report.json"; }));
  auto duplicate = read_json(inbox_ / "processed/again.report.json");
  EXPECT_EQ(duplicate["state"], "unchanged") << duplicate.dump(2);
  EXPECT_TRUE(fs::exists(inbox_ / "processed/again.zip"));
  EXPECT_EQ(target_.ctl_json({"status"})["catalog"]["revision"], revision);
}

// A dependency neither in the package nor here fails the object with both
// addresses and full GUIDs (PRODUCT.md section 5), and nothing is deployed.
TEST_F(Handoff, MissingDependencyIsNamedWithBothAddresses) {
  fs::create_directories(source_.dir() / "out");
  auto exported = source_.ctl_json({"export", "--mode", "selected", "--address", "dataset:/finance/orders", "--name",
                                    "orders-only", "--to", (source_.dir() / "out").string(), "--wait"});
  ASSERT_EQ(exported["state"], "succeeded") << exported.dump(2);
  auto orders = source_.ctl_json({"object", "get", "dataset:/finance/orders"});
  auto warehouse = source_.ctl_json({"object", "get", "datasource:/shared/warehouse"});
  auto r = target_.ctl({"import", (source_.dir() / "out/orders-only.zip").string()});
  EXPECT_EQ(r.exit_code, 1);
  auto expected = "dataset:/finance/orders (" + orders["guid"].get<std::string>() +
                  "): input datasource:/shared/warehouse (" + warehouse["guid"].get<std::string>() +
                  ") not matched: not in the package and not in this environment";
  EXPECT_NE((r.out + r.err).find(expected), std::string::npos) << r.out << r.err;
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 0u);
}

TEST_F(Handoff, ImportCommandDeploysAndReimportIsUnchanged) {
  fs::create_directories(source_.dir() / "out");
  auto exported = source_.ctl_json(
      {"export", "--mode", "full", "--name", "manual", "--to", (source_.dir() / "out").string(), "--wait"});
  ASSERT_EQ(exported["state"], "succeeded");
  auto file = (source_.dir() / "out/manual.zip").string();
  auto dry = target_.ctl_json({"import", file, "--dry-run"});
  EXPECT_EQ(target_.ctl_json({"object", "list"})["objects"].size(), 0u);
  for (const auto& o : dry["objects"]) EXPECT_EQ(o["action"], "create") << o.dump();
  auto first = target_.ctl_json({"import", file});
  EXPECT_EQ(first["state"], "deployed") << first.dump(2);
  auto again = target_.ctl_json({"import", file});
  EXPECT_EQ(again["state"], "unchanged") << again.dump(2);
  for (const auto& o : again["objects"]) EXPECT_EQ(o["action"], "unchanged") << o.dump();
  auto listed = target_.ctl_json({"import", "list"});
  EXPECT_EQ(listed["imports"].size(), 2u);
  auto shown = target_.ctl_json({"import", "show", first["id"].get<std::string>()});
  EXPECT_EQ(shown["state"], "deployed");
  EXPECT_EQ(shown["source_environment"], "test");
  ASSERT_EQ(shown["objects"].size(), 10u);
  for (const auto& o : shown["objects"]) EXPECT_EQ(o["result"], "created") << o.dump();
}

// A watch rule with `window:` takes nothing while the window is closed (here by an
// exclusion that ends a few seconds after start) and takes what waited once it opens.
TEST(HandoffWindow, PackagesWaitInTheFolderUntilTheWindowOpens) {
  Environment source("test");
  Environment target("prod");
  source.configure(Environment::Key::yes);
  auto inbox = target.dir() / "inbox";
  fs::create_directories(inbox);
  auto now = std::chrono::system_clock::now();
  auto until = format_rfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(now + std::chrono::seconds(6)));
  auto since = format_rfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(now - std::chrono::hours(1)));
  target.configure(Environment::Key::no,
                   "signing: {trusted: [" + (source.dir() / "keys/test.pub").string() +
                       "]}\nwatch:\n  - {dir: " + inbox.string() +
                       ", settle: 1s, window: always}\n"
                       "maintenance:\n  windows: [{name: always, kind: allow, cron: \"0 0 * * *\", duration: 30d}]\n"
                       "  exclusions: [{from: \"" +
                       since + "\", to: \"" + until + "\", reason: frozen}]\n");
  source.start();
  target.start();
  source.ctl_json({"object", "apply", "-f", test::source_path("etc/examples/objects.yaml").string()});
  test::DirWatch processed(inbox / "processed");
  auto exported = source.ctl_json({"export", "--mode", "full", "--name", "later", "--to", inbox.string(), "--wait"});
  ASSERT_EQ(exported["state"], "succeeded");
  ASSERT_TRUE(processed.wait_for([](const std::string& n) { return n == "later.report.json"; }));
  auto report = read_json(inbox / "processed/later.report.json");
  EXPECT_EQ(report["state"], "deployed") << report.dump(2);
  EXPECT_GE(parse_rfc3339(report["started_at"].get<std::string>()).value(), parse_rfc3339(until).value());
}

}  // namespace
}  // namespace ferry
