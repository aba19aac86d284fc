// End-to-end jobs and schedules (issue 9): a real ferryd loads job files from
// jobs_dir, fires `every` jobs on its timers, reloads on file changes, keeps a
// failing file's last good jobs, honours maintenance windows and records history.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "e2e/e2e_fixture.h"
#include "records/records.h"
#include "support/dir_watch.h"
#include "util/sha256.h"
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

std::string in_utc(std::chrono::system_clock::duration from_now) {
  return format_rfc3339(
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now() + from_now));
}

/// Polls done() until it holds; false after `limit` (a safety net). For what has no
/// event to wait on: a line in ferryd's log, a count in `job list`.
bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
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

  // Each reload is logged per file.
  auto log = env_.daemon().log();
  EXPECT_NE(log.find("jobs (b.yaml changed): " + (env_.jobs_dir() / "b.yaml").string() + ": 1 jobs loaded"),
            std::string::npos)
      << log;
  EXPECT_NE(
      log.find((env_.jobs_dir() / "a.yaml").string() + ": not loaded; its 1 jobs keep their last good definition"),
      std::string::npos)
      << log;

  // `ferryd --check` reports the same error and fails.
  auto check = test::run({FERRYD_PATH, "--check", "--config", (env_.dir() / "ferryd.yaml").string()});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.err.find("jobs[0].schedule.every"), std::string::npos) << check.err;
}

// A jobs_dir created after the start is not watched; SIGHUP loads it.
TEST_F(Jobs, SighupLoadsAJobsDirCreatedAfterTheStart) {
  env_.configure(Environment::Key::yes);
  fs::create_directories(out_);
  env_.start();
  env_.ctl_json({"object", "apply", "-f", test::source_path("etc/examples/objects.yaml").string()});
  fs::create_directories(env_.jobs_dir());
  write_jobs("a.yaml", "jobs:\n" + job("late", "    schedule: {every: 1s}\n"));
  test::DirWatch out(out_);
  ASSERT_EQ(::kill(env_.daemon().pid(), SIGHUP), 0);
  ASSERT_TRUE(out.wait_for([](const std::string& f) { return named(f, "late-"); }));
  EXPECT_EQ(env_.ctl_json({"job", "list"})["jobs"][0]["name"], "late");
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
  EXPECT_FALSE(status["windows"][0]["next_open"]["local"].get<std::string>().empty());
  EXPECT_EQ(env_.ctl_json({"job", "list"})["jobs"][0]["window_state"], "closed");

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
  auto listed = env_.ctl_json({"job", "list"})["jobs"];
  EXPECT_EQ(listed[0]["name"], "calm");
  EXPECT_EQ(listed[0]["skipped"], 1);  // counted from the history

  auto first = env_.ctl_json({"job", "run", "eager"});
  auto replacing = env_.ctl_json({"job", "run", "eager"});
  EXPECT_EQ(replacing["state"], "waiting_window");
  auto replaced = env_.ctl_json({"package", "show", first["id"].get<std::string>()});
  EXPECT_EQ(replaced["state"], "cancelled");
  EXPECT_EQ(replaced["error"], "cancelled: replaced by a new run of job eager");
}

// An export held at a point the test controls: object "gate" has an attachment whose
// blob in the catalog is swapped for a FIFO, so an export opens it and blocks until the
// test opens the other end. Then it fails ("not a regular file") unless it was
// cancelled before: the gate shows whether something cancelled the export meanwhile.
class GatedJobs : public Jobs {
 protected:
  void add_gate() {
    std::string content = "the gate\n";
    test::write_text(env_.dir() / "gate.txt", content);
    test::write_text(env_.dir() / "gate.yaml",
                     "objects:\n  - {type: dataset, name: gate, folder: /gate, attachments: [{file: gate.txt}]}\n");
    env_.ctl_json({"object", "apply", "-f", (env_.dir() / "gate.yaml").string()});
    auto sha = sha256_hex(content);
    for (const auto& e : fs::recursive_directory_iterator(env_.dir() / "state"))
      if (e.path().filename() == sha) blob_ = e.path();
    ASSERT_FALSE(blob_.empty()) << "no blob " << sha << " under " << (env_.dir() / "state");
    fs::remove(blob_);
    ASSERT_EQ(::mkfifo(blob_.c_str(), 0644), 0);
    fifo_ = env_.dir() / "gate.fifo";
    ASSERT_EQ(::link(blob_.c_str(), fifo_.c_str()), 0);  // stays openable if the object goes
  }
  // Lets the blocked export go on (once it has reached the gate).
  void open_gate() {
    int fd = -1;
    ASSERT_TRUE(eventually([&] { return (fd = ::open(fifo_.c_str(), O_WRONLY | O_NONBLOCK)) >= 0; }))
        << "no export is reading the gate";
    ::close(fd);
  }
  bool logged(const std::string& line) { return env_.daemon().log().find(line) != std::string::npos; }
  // A test that fails while `job run --wait` runs beside it ends ferryd first, so
  // that call returns and the test does not hang on it.
  void fail_fast() {
    if (::testing::Test::HasFatalFailure()) env_.kill9();
  }
  nlohmann::json run_waiting(std::future<test::RunResult>& run) {
    auto r = run.get();
    return r.out.empty() ? nlohmann::json::object() : nlohmann::json::parse(r.out);
  }
  std::future<test::RunResult> run_async(const std::string& name) {
    return std::async(std::launch::async, [this, name] { return env_.ctl({"--json", "job", "run", name, "--wait"}); });
  }
  std::string maintenance_closing_soon() {
    return "maintenance:\n  windows: [{name: always, kind: allow, cron: \"0 0 * * *\", duration: 30d}]\n"
           "  exclusions: [{from: \"" +
           in_utc(std::chrono::seconds(8)) + "\", to: \"2099-01-01T00:00:00Z\", reason: freeze}]\n";
  }

  fs::path blob_, fifo_;
};

// on_window_close: cancel: a run exporting when its window closes is cancelled,
// leaves no file, and its history says so.
TEST_F(GatedJobs, WindowCloseCancelsARunningExport) {
  start("jobs:\n" + job("closing", "    window: always\n    on_window_close: cancel\n"), maintenance_closing_soon());
  add_gate();
  auto run = run_async("closing");
  [&] {
    ASSERT_TRUE(eventually([&] {
      return logged("job closing: window always closed; package closing-1 (") &&
             logged(") is cancelled (on_window_close: cancel)");
    })) << env_.daemon().log();
    open_gate();
  }();
  fail_fast();
  auto record = run_waiting(run);
  EXPECT_EQ(record["state"], "cancelled") << record.dump(2);
  EXPECT_EQ(record["error"], "cancelled: window always closed (on_window_close: cancel)");
  EXPECT_TRUE(files_in(out_).empty());
  for (const auto& f : files_in(env_.store())) EXPECT_FALSE(f.ends_with(".zip") || f.ends_with(".partial")) << f;
  auto history = env_.ctl_json({"job", "history", "closing"})["runs"];
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]["state"], "cancelled");
  EXPECT_EQ(history[0]["reason"], "cancelled: window always closed (on_window_close: cancel)");
}

// on_window_close: finish (the default): the close is logged and the export goes on;
// it ends by its own outcome (here the gate's error), not cancelled.
TEST_F(GatedJobs, WindowCloseLetsARunningExportFinish) {
  start("jobs:\n" + job("closing", "    window: always\n"), maintenance_closing_soon());
  add_gate();
  auto run = run_async("closing");
  [&] {
    ASSERT_TRUE(eventually([&] { return logged(") runs to its end (on_window_close: finish)"); }))
        << env_.daemon().log();
    open_gate();
  }();
  fail_fast();
  auto record = run_waiting(run);
  EXPECT_EQ(record["state"], "failed") << record.dump(2);
  EXPECT_NE(record["error"].get<std::string>().find("not a regular file"), std::string::npos) << record.dump(2);
}

// concurrency: allow: a second run starts beside the first and finishes while the
// first still exports.
TEST_F(GatedJobs, ConcurrencyAllowRunsBesideTheRunningOne) {
  start("jobs:\n" + job("both", "    concurrency: allow\n"));
  add_gate();
  auto first = env_.ctl_json({"job", "run", "both"});
  ASSERT_TRUE(eventually([&] {  // the first has started exporting (and is held at the gate)
    return env_.ctl_json({"package", "show", first["id"].get<std::string>()})["state"] == "exporting";
  }));
  env_.ctl_json({"object", "delete", "dataset:/gate/gate"});  // the second run does not meet the gate
  auto second = env_.ctl_json({"job", "run", "both", "--wait"});
  EXPECT_EQ(second["state"], "succeeded") << second.dump(2);
  EXPECT_TRUE(fs::exists(out_ / (second["name"].get<std::string>() + ".zip")));
  EXPECT_EQ(env_.ctl_json({"package", "show", first["id"].get<std::string>()})["state"], "exporting");
  auto listed = env_.ctl_json({"job", "list"})["jobs"];
  EXPECT_EQ(listed[0]["running"], 1);
  EXPECT_EQ(listed[0]["skipped"], 0);
  open_gate();
  auto history = env_.ctl_json({"job", "history", "both"})["runs"];
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["package_name"], second["name"]);
  EXPECT_EQ(history[1]["package"], first["id"]);
}

// An outage simulated in records.db (the jobs were first seen six hours ago, nothing
// ran since): misfire run_once makes one catch-up run, skip and starting_deadline skip
// everything; every skipped time is in the history with its reason and counted in
// `job list`. An `at` job runs once and never again, also after a restart.
TEST_F(Jobs, OutageMisfiresAreRecordedCountedAndNotRepeatedAfterARestart) {
  auto hourly = "    schedule: {every: 1h, start: \"" + in_utc(-std::chrono::minutes(330)) + "\"}\n";
  env_.configure(Environment::Key::yes);
  fs::create_directories(out_);
  fs::create_directories(env_.jobs_dir());
  write_jobs("a.yaml", "jobs:\n" + job("catcher", hourly) + job("skipper", hourly + "    misfire: skip\n") +
                           job("late", hourly + "    starting_deadline: 10m\n") +
                           job("once", "    schedule: {at: \"" + in_utc(-std::chrono::hours(1)) + "\"}\n"));
  {
    fs::create_directories(env_.dir() / "state");
    auto records = records::Records::open(env_.dir() / "state/records.db", system_clock());
    ASSERT_TRUE(records) << records.error().message;
    auto six_hours_ago = system_clock().now() - std::chrono::hours(6);
    for (auto name : {"catcher", "skipper", "late", "once"}) ASSERT_TRUE((*records)->job_state(name, six_hours_ago));
  }
  env_.start();
  auto skipped_counts = [&] {
    std::map<std::string, int> counts;
    auto jobs = env_.ctl_json({"job", "list"})["jobs"];
    for (const auto& j : jobs) counts[j["name"]] = j["skipped"].get<int>();
    return counts;
  };
  auto runs = [&](const std::string& name) { return env_.ctl_json({"job", "history", name})["runs"].size(); };
  const std::map<std::string, int> expected{{"catcher", 5}, {"late", 6}, {"once", 0}, {"skipper", 6}};
  ASSERT_TRUE(eventually([&] { return skipped_counts() == expected && runs("catcher") == 6 && runs("once") == 1; }))
      << nlohmann::json(skipped_counts()).dump();

  auto catcher = env_.ctl_json({"job", "history", "catcher"})["runs"];
  ASSERT_EQ(catcher.size(), 6u);
  EXPECT_EQ(catcher[0]["trigger"], "catch_up");
  for (size_t i = 1; i < catcher.size(); ++i) {
    EXPECT_EQ(catcher[i]["state"], "skipped");
    EXPECT_EQ(catcher[i]["reason"], "missed; a later missed time ran instead (at most one catch-up run)");
  }
  for (const auto& run : env_.ctl_json({"job", "history", "skipper"})["runs"])
    EXPECT_EQ(run["reason"], "missed while ferryd was down or stalled (misfire: skip)");
  for (const auto& run : env_.ctl_json({"job", "history", "late"})["runs"])
    EXPECT_EQ(run["reason"], "missed by more than starting_deadline");
  auto once = env_.ctl_json({"job", "history", "once"})["runs"];
  ASSERT_EQ(once.size(), 1u);
  EXPECT_EQ(once[0]["trigger"], "catch_up");

  // Restart with one more job: once it has delivered, the others were evaluated again.
  EXPECT_EQ(env_.stop(), 0);
  write_jobs("b.yaml", "jobs:\n" + job("tick", "    schedule: {every: 1s}\n"));
  test::DirWatch out(out_);
  env_.start();
  env_.ctl_json({"object", "apply", "-f", test::source_path("etc/examples/objects.yaml").string()});
  ASSERT_TRUE(out.wait_for([](const std::string& f) { return named(f, "tick-"); }));
  auto listed = env_.ctl_json({"job", "list"})["jobs"];
  for (const auto& j : listed) {
    if (j["name"] == "tick") continue;
    EXPECT_EQ(j["skipped"], expected.at(j["name"])) << j.dump();  // from the history, kept across the restart
    EXPECT_EQ(j["skipped_since_start"], 0) << j.dump();
    if (j["name"] == "once") {
      EXPECT_TRUE(j["next_run"].is_null());
    }
  }
  EXPECT_EQ(runs("once"), 1u);
  EXPECT_EQ(runs("catcher"), 6u);
  EXPECT_EQ(runs("skipper"), 6u);
}

}  // namespace
}  // namespace ferry
