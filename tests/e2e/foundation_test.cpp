// End-to-end: a real ferryd on a temporary folder, driven by the real ferryctl
// over the real socket (issue 2: daemon skeleton, control socket, catalog commands).
#include <grp.h>
#include <signal.h>
#include <gtest/gtest.h>

#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/temp_dir.h"
#include "util/sha256.h"

namespace ferry {
namespace {

namespace fs = std::filesystem;
using test::ferryctl;
using test::RunResult;

const fs::path kSource = FERRY_SOURCE_DIR;

class Foundation : public ::testing::Test {
 protected:
  fs::path config(const std::string& extra = "") {
    auto path = dir_.path() / "ferryd.yaml";
    test::write_text(path, "environment: {id: test, engine: single}\n"
                           "state_dir: state\njobs_dir: jobs.d\n"
                           "socket: run/ferryd.sock\n"
                           "types: " + (kSource / "etc/types.yaml").string() + "\n" + extra);
    return path;
  }
  std::string socket() const { return (dir_.path() / "run/ferryd.sock").string(); }
  RunResult ctl(std::vector<std::string> args, const test::RunOptions& options = {}) {
    args.insert(args.begin(), {"--socket", socket()});
    return ferryctl(args, options);
  }
  nlohmann::json ctl_json(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    auto r = ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }
  std::string examples() const { return (kSource / "etc/examples/objects.yaml").string(); }

  test::TempDir dir_;
};

TEST_F(Foundation, VersionAndCheck) {
  auto v = test::run({FERRYD_PATH, "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out, std::string("ferryd ") + FERRY_VERSION + "\n");
  auto ok = test::run({FERRYD_PATH, "--check", "--config", config().string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto bad_path = test::write_text(dir_.path() / "bad.yaml", "environment: {id: x}\nlimits: {max_ratio: many}\nbogus: 1\n");
  auto bad = test::run({FERRYD_PATH, "--check", "--config", bad_path.string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find(bad_path.string() + ":2:21: limits.max_ratio: "), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find(bad_path.string() + ":3:1: unknown key 'bogus'"), std::string::npos) << bad.err;
  auto missing = test::run({FERRYD_PATH, "--check", "--config", (dir_.path() / "nope.yaml").string()});
  EXPECT_EQ(missing.exit_code, 2);
}

TEST_F(Foundation, ReadyStatusAndCleanStop) {
  test::Daemon d(config());
  ASSERT_TRUE(d.ready()) << d.log();
  auto st = ctl_json({"status"});
  EXPECT_EQ(st["environment"]["id"], "test");
  EXPECT_EQ(st["protocol"], 1);
  EXPECT_EQ(st["catalog"]["revision"], 0);
  auto human = ctl({"status"});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("test (engine single)"), std::string::npos) << human.out;
  struct stat sb {};
  ASSERT_EQ(::stat(socket().c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0660u);
  EXPECT_EQ(d.stop(), 0) << d.log();
  EXPECT_TRUE(d.notify().wait_for("STOPPING=1"));
  EXPECT_FALSE(fs::exists(socket()));
}

// Under systemd (JOURNAL_STREAM set) every log line carries its syslog priority.
TEST_F(Foundation, JournaldPrioritiesAndSighupKeepsServing) {
  test::RunOptions journal;
  journal.env["JOURNAL_STREAM"] = "8:12345";
  test::Daemon d(config(), journal);
  ASSERT_TRUE(d.ready()) << d.log();
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  // SIGHUP does not stop the daemon; it is handled (and logged) before the later SIGTERM.
  EXPECT_EQ(ctl({"status"}).exit_code, 0);
  EXPECT_EQ(d.stop(), 0);
  auto log = d.log();
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.size() > 3 && line[0] == '<' && std::isdigit(static_cast<unsigned char>(line[1])) && line[2] == '>')
        << line;
  }
  EXPECT_NE(log.find("<6>ferryd "), std::string::npos) << log;
  EXPECT_NE(log.find("\n<6>SIGHUP: "), std::string::npos) << log;
  EXPECT_NE(log.find("\n<6>SIGTERM: stopping"), std::string::npos) << log;
}

TEST_F(Foundation, UnreachableDaemonExitsThree) {
  auto r = ctl({"status"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("ferryd is not running or not listening on " + socket()), std::string::npos) << r.err;
}

TEST_F(Foundation, ApplyListGetDelete) {
  test::Daemon d(config());
  ASSERT_TRUE(d.ready()) << d.log();
  auto applied = ctl_json({"object", "apply", "-f", examples()});
  ASSERT_EQ(applied["objects"].size(), 10u);
  for (const auto& o : applied["objects"]) EXPECT_EQ(o["action"], "created");
  EXPECT_EQ(applied["revision"], 10);

  // Applying the same file again changes nothing and bumps no revision.
  auto again = ctl_json({"object", "apply", "-f", examples()});
  for (const auto& o : again["objects"]) EXPECT_EQ(o["action"], "unchanged");
  EXPECT_EQ(again["revision"], 10);

  auto list = ctl_json({"object", "list", "--type", "dataset"});
  ASSERT_EQ(list["objects"].size(), 3u);
  EXPECT_EQ(list["objects"][0]["address"], "dataset:/finance/customers");
  auto finance = ctl_json({"object", "list", "--folder", "/etl/**"});
  EXPECT_EQ(finance["objects"].size(), 5u);

  auto ds = ctl_json({"object", "get", "datasource:/shared/warehouse"});
  EXPECT_FALSE(ds["spec"].contains("password"));
  EXPECT_EQ(ds["secrets"]["/password"], "set");
  auto human = ctl({"object", "get", "datasource:/shared/warehouse"});
  EXPECT_EQ(human.out.find("s3cret"), std::string::npos);

  auto orders = ctl_json({"object", "get", "dataset:/finance/orders"});
  ASSERT_EQ(orders["refs"].size(), 1u);
  EXPECT_EQ(orders["refs"][0]["address"], "datasource:/shared/warehouse");
  EXPECT_EQ(orders["refs"][0]["guid"], ds["guid"]);
  EXPECT_EQ(orders["refs"][0]["kind"], "uses");
  ASSERT_EQ(orders["attachments"].size(), 1u);
  auto csv = test::run({"cat", (kSource / "etc/examples/sample.csv").string()}).out;
  EXPECT_EQ(orders["attachments"][0]["sha256"], sha256_hex(csv));
  EXPECT_EQ(orders["attachments"][0]["size"], csv.size());

  // A used object cannot go; the message names who uses it.
  auto refused = ctl({"object", "delete", "dataset:/finance/orders"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("task:/etl/daily_orders"), std::string::npos) << refused.err;
  // Deleting the workflow takes its steps with it.
  auto gone = ctl_json({"object", "delete", "workflow:/etl/nightly"});
  EXPECT_EQ(gone["deleted"].size(), 3u);
  auto missing = ctl({"object", "get", "workflow:/etl/nightly"});
  EXPECT_EQ(missing.exit_code, 1);
}

TEST_F(Foundation, BadObjectFileNamesPositionAndChangesNothing) {
  test::Daemon d(config());
  ASSERT_TRUE(d.ready()) << d.log();
  auto file = test::write_text(dir_.path() / "bad.yaml",
                               "objects:\n"
                               "  - {type: dataset, name: a, folder: /x}\n"
                               "  - {type: nosuchtype, name: b}\n"
                               "  - {type: dataset, name: c, refs: [{to: 'dataset:/x/missing'}]}\n");
  auto r = ctl({"object", "apply", "-f", file.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(file.string() + ":3:5: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nosuchtype"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dataset:/x/missing"), std::string::npos) << r.err;
  EXPECT_EQ(ctl_json({"object", "list"})["objects"].size(), 0u);
  EXPECT_EQ(ctl_json({"status"})["catalog"]["revision"], 0);
}

TEST_F(Foundation, UsageErrorExitsTwo) {
  auto r = ctl({"object", "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
}

// The caller's files travel as descriptors: a daemon running as nobody applies a
// file (and attachment) that only root can read.
TEST_F(Foundation, FilesArePassedAsDescriptors) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run ferryd under another uid";
  fs::permissions(dir_.path(), fs::perms(0755));
  auto cfg = config();
  fs::create_directories(dir_.path() / "state");
  fs::create_directories(dir_.path() / "run");
  ASSERT_EQ(::chown((dir_.path() / "state").c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chown((dir_.path() / "run").c_str(), 65534, 65534), 0);
  auto secret_dir = dir_.path() / "private";
  test::write_text(secret_dir / "data.csv", "only,root\n");
  auto file = test::write_text(secret_dir / "objs.yaml",
                               "objects:\n  - {type: dataset, name: p, folder: /x,"
                               " attachments: [{file: data.csv}]}\n");
  fs::permissions(secret_dir, fs::perms(0700));
  test::RunOptions as_nobody;
  as_nobody.prefix = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  test::Daemon d(cfg, as_nobody);
  ASSERT_TRUE(d.ready()) << d.log();
  auto r = ctl({"--json", "object", "apply", "-f", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = ctl_json({"object", "get", "dataset:/x/p"});
  EXPECT_EQ(got["attachments"][0]["name"], "data.csv");
  EXPECT_EQ(got["attachments"][0]["sha256"], sha256_hex("only,root\n"));
  EXPECT_EQ(got["owner"], "root");
}

class Roles : public Foundation {};

TEST_F(Roles, RefusedRoleNamesWhatIsNeeded) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for setpriv";
  fs::permissions(dir_.path(), fs::perms(0755));
  test::Daemon d(config("socket_group: nogroup\nroles: {viewer: [nogroup]}\n"));
  ASSERT_TRUE(d.ready()) << d.log();
  auto file = test::write_text(dir_.path() / "objs.yaml", "objects:\n  - {type: dataset, name: a, folder: /x}\n");
  fs::permissions(file, fs::perms(0644));
  test::RunOptions nobody;
  nobody.prefix = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  auto list = ctl({"object", "list"}, nobody);
  EXPECT_EQ(list.exit_code, 0) << list.err;
  auto apply = ctl({"object", "apply", "-f", file.string()}, nobody);
  EXPECT_EQ(apply.exit_code, 4);
  EXPECT_NE(apply.err.find("permission denied: object apply needs role editor; nobody (uid 65534) has role viewer"),
            std::string::npos)
      << apply.err;
  // root is always admin.
  EXPECT_EQ(ctl({"object", "apply", "-f", file.string()}).exit_code, 0);
}

TEST_F(Roles, WithoutRolesOnlyRootAndDaemonUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for setpriv";
  fs::permissions(dir_.path(), fs::perms(0755));
  test::Daemon d(config("socket_group: nogroup\n"));
  ASSERT_TRUE(d.ready()) << d.log();
  test::RunOptions nobody;
  nobody.prefix = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  auto r = ctl({"status"}, nobody);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("only root and the daemon's user"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ferry
