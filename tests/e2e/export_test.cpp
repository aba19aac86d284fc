// End-to-end export and delivery (issue 4): real ferryd, real ferryctl, real
// zip files in real folders, and a kill -9 in the middle of an export.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "e2e/e2e_fixture.h"
#include "support/dir_watch.h"

namespace ferry {
namespace {

namespace fs = std::filesystem;
using test::Environment;

bool is_zip(const std::string& name) { return name.ends_with(".zip"); }
bool is_partial(const std::string& name) { return name.front() == '.' && name.ends_with(".partial"); }

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class Export : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.configure(Environment::Key::yes);
    fs::create_directories(out_);  // handoff folders are the operator's to create
    env_.start();
    env_.ctl_json({"object", "apply", "-f", test::source_path("etc/examples/objects.yaml").string()});
  }
  nlohmann::json export_to(std::vector<std::string> extra) {
    std::vector<std::string> args{"export", "--to", out_.string(), "--wait"};
    args.insert(args.end(), extra.begin(), extra.end());
    return env_.ctl_json(args);
  }
  Environment env_{"test"};
  fs::path out_ = env_.dir() / "outbox";
};

TEST_F(Export, FullExportIsDeliveredWithSidecarAndNoSecrets) {
  auto p = export_to({"--mode", "full", "--name", "nightly", "--description", "finance, nightly"});
  ASSERT_EQ(p["state"], "succeeded") << p.dump(2);
  EXPECT_EQ(p["object_count"], 10);
  EXPECT_EQ(names_in(out_), (std::vector<std::string>{"nightly.zip", "nightly.zip.sha256"}));
  test::RunOptions in_out;
  in_out.cwd = out_;
  EXPECT_EQ(test::run({"sha256sum", "-c", "nightly.zip.sha256"}, in_out).exit_code, 0);
  // The secret values are nowhere in the package, compressed or not.
  auto all = test::run({"unzip", "-p", (out_ / "nightly.zip").string()});
  EXPECT_EQ(all.exit_code, 0);
  EXPECT_EQ(all.out.find("s3cret"), std::string::npos);
  EXPECT_EQ(all.out.find("k4fka"), std::string::npos);
  EXPECT_NE(all.out.find("\"required_secrets\""), std::string::npos);

  auto listed = env_.ctl_json({"package", "list", "--search", "NIGHTLY"});
  ASSERT_EQ(listed["packages"].size(), 1u);
  auto shown = env_.ctl_json({"package", "show", p["id"].get<std::string>()});
  EXPECT_EQ(shown["objects"].size(), 10u);
  EXPECT_EQ(shown["deliveries"][0]["state"], "delivered");
  EXPECT_EQ(shown["settings"]["mode"], "full");
}

TEST_F(Export, SelectedWithUpstreamCarriesTheClosure) {
  auto p = export_to({"--mode", "selected", "--address", "task:/etl/daily_orders", "--upstream", "--name", "rel"});
  ASSERT_EQ(p["state"], "succeeded") << p.dump(2);
  auto shown = env_.ctl_json({"package", "show", p["id"].get<std::string>()});
  std::vector<std::string> addresses;
  for (const auto& o : shown["objects"]) addresses.push_back(o["address"]);
  std::sort(addresses.begin(), addresses.end());
  EXPECT_EQ(addresses, (std::vector<std::string>{"dataset:/finance/customers", "dataset:/finance/orders",
                                                 "datasource:/shared/warehouse", "task:/etl/daily_orders"}));
}

TEST_F(Export, OnExistsPolicies) {
  ASSERT_EQ(export_to({"--mode", "full", "--name", "same"})["state"], "succeeded");
  ASSERT_EQ(export_to({"--mode", "full", "--name", "same"})["state"], "succeeded");  // default rename
  auto skipped = export_to({"--mode", "full", "--name", "same", "--on-exists", "skip"});
  EXPECT_EQ(skipped["deliveries"][0]["state"], "skipped");
  auto before = fs::last_write_time(out_ / "same.zip");
  auto over = export_to({"--mode", "full", "--name", "same", "--on-exists", "overwrite"});
  EXPECT_EQ(over["deliveries"][0]["state"], "delivered");
  EXPECT_EQ(names_in(out_), (std::vector<std::string>{"same-2.zip", "same-2.zip.sha256", "same.zip", "same.zip.sha256"}));
  EXPECT_NE(fs::last_write_time(out_ / "same.zip"), before);
}

TEST_F(Export, NothingSelectedIsSkippedAndNoFileWritten) {
  auto p = export_to({"--mode", "selected", "--folder", "/nowhere"});
  EXPECT_EQ(p["state"], "skipped");
  EXPECT_TRUE(names_in(out_).empty());
}

// The daemon remembers every folder it delivers into; after a crash it removes its
// own temporary files there (and only its own) on start.
TEST_F(Export, RestartRemovesOwnPartialsFromDeliveryFolders) {
  ASSERT_EQ(export_to({"--mode", "full", "--name", "p"})["state"], "succeeded");
  test::write_text(out_ / ".p.zip.ferry-abc123.partial", "half");
  test::write_text(out_ / ".other-tool.partial", "theirs");
  EXPECT_EQ(env_.stop(), 0);
  env_.start();
  EXPECT_EQ(names_in(out_), (std::vector<std::string>{".other-tool.partial", "p.zip", "p.zip.sha256"}));
}

TEST(ExportWithoutKey, RefusedWithWhatToDo) {
  Environment env("test");
  env.configure(Environment::Key::no);
  env.start();
  env.ctl_json({"object", "apply", "-f", test::source_path("etc/examples/objects.yaml").string()});
  auto r = env.ctl({"export", "--mode", "full", "--wait"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("signing.key is not set"), std::string::npos) << r.err + r.out;
}

// A catalog with one large, incompressible attachment, so an export runs long
// enough to be interrupted at a point the test observes.
class LongExport : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.configure(Environment::Key::yes, "socket_group: nogroup\nroles: {editor: [nogroup]}\n");
    fs::permissions(env_.dir(), fs::perms(0755));
    fs::create_directories(out_);
    env_.start();
    auto big = env_.dir() / "big.bin";
    std::ofstream out(big, std::ios::binary);
    std::mt19937_64 rng(42);
    std::vector<uint64_t> chunk(1 << 17);
    for (int i = 0; i < 384; ++i) {  // 384 MiB
      for (auto& v : chunk) v = rng();
      out.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(chunk.size() * 8));
    }
    out.close();
    test::write_text(env_.dir() / "big.yaml",
                     "objects:\n  - {type: dataset, name: big, folder: /x, attachments: [{file: big.bin}]}\n");
    env_.ctl_json({"object", "apply", "-f", (env_.dir() / "big.yaml").string()});
    env_.ctl_json({"object", "apply", "-f", test::source_path("etc/examples/objects.yaml").string()});
  }
  Environment env_{"test"};
  fs::path out_ = env_.dir() / "outbox";
};

TEST_F(LongExport, KillNineLeavesNoPackageAndRestartCleansUp) {
  test::DirWatch store(env_.store());
  auto before = env_.ctl_json({"object", "list"});
  auto started = env_.ctl_json({"export", "--mode", "full", "--name", "big", "--to", out_.string()});
  ASSERT_TRUE(store.wait_for(is_partial)) << "the export never started writing";
  env_.kill9();
  EXPECT_TRUE(names_in(out_).empty());

  env_.start();
  EXPECT_TRUE(names_in(out_).empty());
  for (const auto& name : names_in(env_.store())) EXPECT_FALSE(is_partial(name)) << name;
  EXPECT_EQ(env_.ctl_json({"object", "list"}), before);
  auto record = env_.ctl_json({"package", "show", started["id"].get<std::string>()});
  EXPECT_EQ(record["state"], "failed");
  EXPECT_NE(record["error"].get<std::string>().find("interrupted"), std::string::npos);
}

TEST_F(LongExport, EditorsAreFrozenOutAndStopLeavesNoFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for setpriv";
  test::DirWatch store(env_.store());
  auto started = env_.ctl_json({"export", "--mode", "full", "--name", "big", "--to", out_.string()});
  ASSERT_TRUE(store.wait_for(is_partial)) << "the export never started writing";
  auto small = test::write_text(env_.dir() / "small.yaml", "objects:\n  - {type: dataset, name: s, folder: /x}\n");
  fs::permissions(small, fs::perms(0644));
  test::RunOptions editor;
  editor.prefix = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  auto refused = env_.ctl({"object", "apply", "-f", small.string()}, editor);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("frozen for maintenance while export big (" + started["id"].get<std::string>()),
            std::string::npos)
      << refused.err;
  // Admins (root) are not frozen.
  EXPECT_EQ(env_.ctl({"object", "apply", "-f", small.string()}).exit_code, 0);

  auto stopped = env_.ctl_json({"package", "stop", started["id"].get<std::string>()});
  EXPECT_EQ(stopped["state"], "stopping");
  ASSERT_TRUE(store.wait_gone(is_partial));
  // SIGTERM waits for running exports to end, so afterwards the record is final.
  EXPECT_EQ(env_.stop(), 0);
  env_.start();
  auto record = env_.ctl_json({"package", "show", started["id"].get<std::string>()});
  EXPECT_EQ(record["state"], "cancelled") << record.dump(2);
  EXPECT_TRUE(names_in(out_).empty());
  for (const auto& name : names_in(env_.store())) EXPECT_FALSE(is_zip(name) || is_partial(name)) << name;
}

}  // namespace
}  // namespace ferry
