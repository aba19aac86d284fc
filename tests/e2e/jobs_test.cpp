// End-to-end jobs and schedules (issue 9): a real ferryd loads job files from
// jobs_dir, fires `every` jobs on its timers, reloads on file changes, keeps a
// failing file's last good jobs, honours maintenance windows and records history.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "e2e/e2e_fixture.h"
#include "support/dir_watch.h"
#include "util/time.h"

namespace ferry {
namespace {

namespace fs = std::filesystem;
using test::Environment;

class Jobs : public ::testing::Test {
 protected:
  void start(const std::string& jobs_yaml, const std::string& extra_config = "") {
    env_.configure(Environment::Key::yes, extra_config);
    fs::create_directories(out_);
    fs::create_directories(env_.jobs_dir());
    if (!jobs_yaml.empty()) write_jobs("a.yaml", jobs_yaml);
    env_.start();
    env_.ctl_json({"object", "apply", "-f", test::source_path("etc/examples/objects.yaml").string()});
  }
  // Written beside and renamed in, as editors and config management do.
  void write_jobs(const std::string& name, const std::string& yaml) {
    auto tmp = test::write_text(env_.jobs_dir() / ("." + name + ".tmp"), yaml);
    fs::rename(tmp, env_.jobs_dir() / name);
  }
  std::string job(const std::string& name, const std::string& rest) {
    return "  - name: " + name + "\n    package: {name: \"" + name + "-{seq}\"}\n    deliver: [{dir: " + out_.string() +
           "}]\n" + rest;
  }

  Environment env_{"test"};
  fs::path out_ = env_.dir() / "outbox";
};

bool named(const std::string& file, const std::string& prefix) {
  return file.starts_with(prefix) && file.ends_with(".zip.sha256");
}

TEST_F(Jobs, EveryOneSecondJobDeliversPackagesAndHistoryRecordsThem) {
  test::DirWatch out(out_);
  start("jobs:\n" + job("tick", "    export: full\n    schedule: {every: 1s}\n"));
  ASSERT_TRUE(out.wait_for([](const std::string& f) { return named(f, "tick-2.zip"); }));
  auto history = env_.ctl_json({"job", "history", "tick"})["runs"];
  ASSERT_GE(history.size(), 2u);
  std::set<std::string> names;
  for (const auto& run : history) {
    EXPECT_EQ(run["trigger"], "schedule");
    names.insert(run["package_name"]);  // the latest may still be finishing its record
  }
  EXPECT_TRUE(names.count("tick-1") && names.count("tick-2")) << history.dump(2);
  // Due times are one second apart: the timer fires on the schedule, not after the work.
  auto first = parse_rfc3339(history[history.size() - 1]["due_at"].get<std::string>());
  auto second = parse_rfc3339(history[history.size() - 2]["due_at"].get<std::string>());
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*second - *first, std::chrono::seconds(1));
  auto listed = env_.ctl_json({"job", "list"})["jobs"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["schedule"], "every 1s");
  EXPECT_FALSE(listed[0]["next_run"].is_null());
}

TEST_F(Jobs, OnDemandIncrementalJobUsesItsOwnBaseline) {
  start("jobs:\n" + job("delta", "    export: incremental\n"));
  auto first = env_.ctl_json({"job", "run", "delta", "--wait"});
  ASSERT_EQ(first["state"], "succeeded") << first.dump(2);
  EXPECT_EQ(first["object_count"], 10);  // the first run of an incremental job is full
  EXPECT_EQ(first["job"], "delta");
  auto nothing = env_.ctl_json({"job", "run", "delta", "--wait"});
  EXPECT_EQ(nothing["state"], "skipped");
  EXPECT_EQ(nothing["error"], "no changes");
  test::write_text(env_.dir() / "c.yaml",
                   "objects:\n  - {type: dataset, name: customers, folder: /finance, spec: {query: q2},\n"
                   "     refs: [{to: \"datasource:/shared/warehouse\"}]}\n");
  env_.ctl_json({"object", "apply", "-f", (env_.dir() / "c.yaml").string()});
  auto third = env_.ctl_json({"job", "run", "delta", "--wait"});
  ASSERT_EQ(third["state"], "succeeded");
  EXPECT_EQ(third["object_count"], 1);
  EXPECT_EQ(third["revision_from"], first["revision_to"]);

  auto history = env_.ctl_json({"job", "history", "delta"})["runs"];
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[1]["state"], "skipped");
  EXPECT_EQ(history[1]["reason"], "no changes");
  EXPECT_EQ(history[0]["trigger"], "manual");
  EXPECT_EQ(history[0]["user"], "root");
  auto listed = env_.ctl_json({"job", "list"})["jobs"];
  EXPECT_EQ(listed[0]["last_run"]["state"], "succeeded");
  EXPECT_TRUE(listed[0]["schedule"].is_null());
  EXPECT_EQ(env_.ctl({"job", "run", "nope"}).exit_code, 1);
}

// A job file dropped into jobs_dir takes effect (inotify); a file that stops parsing
// keeps its jobs and its error shows in `ferryctl status`.
TEST_F(Jobs, FilesAreReloadedOnChangeAndABrokenFileKeepsItsLastGoodJobs) {
  start("");
  EXPECT_TRUE(env_.ctl_json({"job", "list"})["jobs"].empty());
  test::DirWatch out(out_);
  write_jobs("a.yaml", "jobs:\n" + job("first", "    schedule: {every: 1s}\n"));
  ASSERT_TRUE(out.wait_for([](const std::string& f) { return named(f, "first-"); }));

  write_jobs("a.yaml", "jobs:\n  - name: first\n    schedule: {every: soon}\n");
  // Reloads run one after another and each reads every file, so once b.yaml's job has
  // delivered, a reload has seen the broken a.yaml.
  write_jobs("b.yaml", "jobs:\n" + job("second", "    schedule: {every: 1s}\n"));
  ASSERT_TRUE(out.wait_for([](const std::string& f) { return named(f, "second-"); }));
  auto status = env_.ctl_json({"status"});
  ASSERT_EQ(status["jobs"]["errors"].size(), 1u) << status.dump(2);
  auto error = status["jobs"]["errors"][0].get<std::string>();
  EXPECT_NE(error.find((env_.jobs_dir() / "a.yaml").string() + ":3:"), std::string::npos) << error;
  EXPECT_NE(error.find("jobs[0].schedule.every"), std::string::npos) << error;
  std::vector<std::string> names;
  auto listed = env_.ctl_json({"job", "list"});
  for (const auto& j : listed["jobs"]) names.push_back(j["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"first", "second"}));  // first kept its last good definition

  // `ferryd --check` reports the same error and fails.
  auto check = test::run({FERRYD_PATH, "--check", "--config", (env_.dir() / "ferryd.yaml").string()});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.err.find("jobs[0].schedule.every"), std::string::npos) << check.err;
}

// A run due while its window is closed waits (waiting_window) and starts when it
// opens; --now runs at once for an admin, recorded as such.
TEST_F(Jobs, RunsWaitForTheirWindowUnlessAdminSaysNow) {
  auto now = std::chrono::system_clock::now();
  auto until = format_rfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(now + std::chrono::seconds(6)));
  auto since = format_rfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(now - std::chrono::hours(1)));
  start("jobs:\n" + job("win", "    window: always\n") + job("urgent", "    window: always\n"),
        "maintenance:\n  windows: [{name: always, kind: allow, cron: \"0 0 * * *\", duration: 30d}]\n"
        "  exclusions: [{from: \"" +
            since + "\", to: \"" + until + "\", reason: release freeze}]\n");
  auto status = env_.ctl_json({"status"});
  ASSERT_EQ(status["windows"].size(), 1u);
  EXPECT_EQ(status["windows"][0]["state"], "closed");
  EXPECT_NE(status["windows"][0]["reason"].get<std::string>().find("release freeze"), std::string::npos);
  EXPECT_FALSE(status["windows"][0]["next_open"]["utc"].is_null());

  test::DirWatch out(out_);
  auto queued = env_.ctl_json({"job", "run", "win"});
  EXPECT_EQ(queued["state"], "waiting_window");
  auto urgent = env_.ctl_json({"job", "run", "urgent", "--now", "--wait"});
  EXPECT_EQ(urgent["state"], "succeeded");
  EXPECT_EQ(env_.ctl_json({"job", "history", "urgent"})["runs"][0]["trigger"], "manual_now");
  // Delivered once the exclusion ends, and not before.
  ASSERT_TRUE(out.wait_for([](const std::string& f) { return named(f, "win-"); }));
  auto done = env_.ctl_json({"package", "show", queued["id"].get<std::string>()});
  EXPECT_NE(done["state"], "waiting_window");  // delivered; the record may still be finishing
  EXPECT_GE(parse_rfc3339(done["started_at"].get<std::string>()).value(), parse_rfc3339(until).value());
}

// What a run does while the previous one is still waiting for its window: forbid
// skips it (recorded), replace cancels the waiting one.
TEST_F(Jobs, ConcurrencyForbidSkipsAndReplaceCancelsTheWaitingRun) {
  auto since = format_rfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now() -
                                                                                      std::chrono::hours(1)));
  start(
      "jobs:\n" + job("calm", "    window: always\n") + job("eager", "    window: always\n    concurrency: replace\n"),
      "maintenance:\n  windows: [{name: always, kind: allow, cron: \"0 0 * * *\", duration: 30d}]\n"
      "  exclusions: [{from: \"" +
          since + "\", to: \"2099-01-01T00:00:00Z\", reason: frozen}]\n");
  EXPECT_EQ(env_.ctl_json({"job", "run", "calm"})["state"], "waiting_window");
  auto second = env_.ctl({"job", "run", "calm"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("run skipped: the previous run is still waiting for window always (concurrency: forbid)"),
            std::string::npos)
      << second.err;
  auto calm = env_.ctl_json({"job", "history", "calm"})["runs"];
  ASSERT_EQ(calm.size(), 2u);
  EXPECT_EQ(calm[0]["state"], "skipped");
  EXPECT_EQ(calm[1]["state"], "waiting_window");

  auto first = env_.ctl_json({"job", "run", "eager"});
  auto replacing = env_.ctl_json({"job", "run", "eager"});
  EXPECT_EQ(replacing["state"], "waiting_window");
  auto replaced = env_.ctl_json({"package", "show", first["id"].get<std::string>()});
  EXPECT_EQ(replaced["state"], "cancelled");
  EXPECT_EQ(replaced["error"], "cancelled: replaced by a new run of job eager");
}

}  // namespace
}  // namespace ferry
