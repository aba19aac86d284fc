#include <gtest/gtest.h>

#include "jobs/jobs.h"
#include "support/temp_dir.h"
#include "util/time.h"

namespace ferry::jobs {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

config::Config test_config() {
  config::Config c;
  c.environment.id = "prod";
  c.maintenance.windows = {{"nightly", config::WindowKind::allow, "0 1 * * *", hours(4), "Europe/Berlin"}};
  return c;
}

class JobsDir : public ::testing::Test {
 protected:
  void write(const std::string& name, const std::string& text) { test::write_text(dir_.path() / name, text); }
  fs::path file(const std::string& name) const { return dir_.path() / name; }
  std::string at(const std::string& name, const std::string& pos) const { return file(name).string() + ":" + pos; }

  std::vector<FileLoad> load() {
    auto loads = load_jobs(dir_.path(), test_config());
    EXPECT_TRUE(loads) << loads.error().message;
    return loads ? *loads : std::vector<FileLoad>{};
  }
  /// Reloads into set_ and returns the job names in effect, "a b c".
  std::string reload() {
    set_ = merge(set_, load());
    std::string out;
    for (const auto& j : set_.jobs) out += (out.empty() ? "" : " ") + j.name;
    return out;
  }

  test::TempDir dir_;
  JobSet set_;
};

TEST_F(JobsDir, ReadsYamlFilesInNameOrder) {
  write("b.yaml", "jobs: [{name: b1}]\n");
  write("a.yaml", "jobs: [{name: a1}, {name: a2}]\n");
  write(".hidden.yaml", "jobs: [{name: hidden}]\n");
  write("notes.txt", "jobs: [{name: txt}]\n");
  write("c.yaml.swp", "garbage");
  fs::create_directory(file("sub.yaml"));
  auto loads = load();
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_EQ(loads[0].file, file("a.yaml"));
  EXPECT_EQ(loads[0].jobs.size(), 2u);
  EXPECT_EQ(loads[1].file, file("b.yaml"));
  EXPECT_EQ(reload(), "a1 a2 b1");
  ASSERT_EQ(set_.files.size(), 2u);
  EXPECT_EQ(set_.files[0].state, FileState::loaded);
  EXPECT_EQ(set_.files[0].jobs, 2u);
  ASSERT_NE(set_.find("b1"), nullptr);
  EXPECT_EQ(set_.find("b1")->file, file("b.yaml"));
  EXPECT_EQ(set_.find("nope"), nullptr);
  EXPECT_TRUE(set_.errors().empty());
}

// Many files are parsed on several threads; the result is the sequential one: files in
// name order, each with its own jobs and errors (a duplicate across files included).
TEST_F(JobsDir, ManyFilesLoadOnThreadsAsOnOne) {
  for (int f = 0; f < 64; ++f) {
    char name[16];
    std::snprintf(name, sizeof name, "f%02d.yaml", f);
    std::string text = "jobs:\n";
    for (int j = 0; j < 5; ++j) text += "  - {name: j" + std::to_string(f * 5 + j) + ", schedule: {every: 1h}}\n";
    if (f == 17) text += "  - {name: j3, schedule: {every: 1h}}\n";     // j3 is f00's: fails f17
    if (f == 40) text += "  - {name: bad, schedule: {every: soon}}\n";  // its own error
    write(name, text);
  }
  auto threaded = load_jobs(dir_.path(), test_config(), 4);
  auto single = load_jobs(dir_.path(), test_config(), 1);
  ASSERT_TRUE(threaded && single);
  ASSERT_EQ(threaded->size(), 64u);
  for (size_t i = 0; i < 64; ++i) {
    EXPECT_EQ((*threaded)[i].file, (*single)[i].file);
    EXPECT_EQ((*threaded)[i].errors, (*single)[i].errors);
    ASSERT_EQ((*threaded)[i].jobs.size(), (*single)[i].jobs.size());
    for (size_t j = 0; j < (*single)[i].jobs.size(); ++j)
      EXPECT_EQ((*threaded)[i].jobs[j].fingerprint, (*single)[i].jobs[j].fingerprint);
  }
  auto set = merge({}, std::move(*threaded));
  EXPECT_EQ(set.jobs.size(), 62u * 5);  // f17 and f40 fail and had no earlier definition
  auto errors = set.errors();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("f17.yaml:7:"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find(file("f00.yaml").string()), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("f40.yaml:7:"), std::string::npos) << errors[1];
}

TEST_F(JobsDir, MissingFolderHoldsNoJobs) {
  auto loads = load_jobs(dir_.path() / "absent", test_config());
  ASSERT_TRUE(loads);
  EXPECT_TRUE(loads->empty());
}

TEST_F(JobsDir, DuplicateAcrossFilesNamesBoth) {
  write("a.yaml", "jobs:\n  - name: nightly\n");
  write("b.yaml", "jobs:\n  - name: other\n  - name: nightly\n");
  EXPECT_EQ(reload(), "nightly");
  ASSERT_EQ(set_.files.size(), 2u);
  EXPECT_EQ(set_.files[0].state, FileState::loaded);
  EXPECT_EQ(set_.files[1].state, FileState::failed);
  EXPECT_EQ(set_.files[1].jobs, 0u);
  EXPECT_EQ(set_.errors(),
            std::vector<std::string>{at("b.yaml", "3:11") + ": jobs[1].name: duplicate job name 'nightly'; " +
                                     at("a.yaml", "2:11") + " already defines it"});
}

TEST_F(JobsDir, FailedFileKeepsItsLastGoodJobs) {
  write("a.yaml", "jobs: [{name: a1, schedule: {cron: '0 1 * * *'}}]\n");
  write("b.yaml", "jobs: [{name: b1}]\n");
  EXPECT_EQ(reload(), "a1 b1");
  std::string good = set_.find("a1")->fingerprint;

  // a.yaml breaks: a1 stays as it was, b.yaml reloads normally.
  write("a.yaml", "jobs: [{name: a1, schedule: {cron: '0 25 * * *'}}, {name: a2}]\n");
  write("b.yaml", "jobs: [{name: b1}, {name: b2}]\n");
  EXPECT_EQ(reload(), "a1 b1 b2");
  EXPECT_EQ(set_.find("a1")->fingerprint, good);
  EXPECT_EQ(set_.files[0].state, FileState::failed);
  EXPECT_EQ(set_.files[0].jobs, 1u);
  EXPECT_EQ(set_.errors(),
            std::vector<std::string>{at("a.yaml", "1:36") + ": jobs[0].schedule.cron: hour: 25 is out of range; "
                                                            "expected 0-23"});

  // Fixed: the new definitions take over and the errors are gone.
  write("a.yaml", "jobs: [{name: a1, schedule: {cron: '0 2 * * *'}}, {name: a2}]\n");
  EXPECT_EQ(reload(), "a1 a2 b1 b2");
  EXPECT_NE(set_.find("a1")->fingerprint, good);
  EXPECT_TRUE(set_.errors().empty());

  // A deleted file takes its jobs with it.
  fs::remove(file("b.yaml"));
  EXPECT_EQ(reload(), "a1 a2");
  EXPECT_EQ(set_.files.size(), 1u);
}

TEST_F(JobsDir, FileThatNeverLoadedHasNoJobs) {
  write("a.yaml", "jobs: [{name: a1, window: weekly}]\n");
  EXPECT_EQ(reload(), "");
  EXPECT_EQ(set_.errors().size(), 1u);
}

TEST_F(JobsDir, MovingAJobBetweenFiles) {
  write("a.yaml", "jobs: [{name: x}]\n");
  EXPECT_EQ(reload(), "x");
  // x moves to b.yaml while a.yaml is broken: a's last good x still holds the name.
  write("a.yaml", "jobs: [{name: x, enabled: maybe}]\n");
  write("b.yaml", "jobs: [{name: x}]\n");
  EXPECT_EQ(reload(), "x");
  EXPECT_EQ(set_.find("x")->file, file("a.yaml"));
  ASSERT_EQ(set_.errors().size(), 2u);
  EXPECT_EQ(set_.errors()[1], at("b.yaml", "1:15") + ": jobs[0].name: duplicate job name 'x'; " + at("a.yaml", "1:15") +
                                  " (its last good definition; that file does not load now) already defines it");
  // a.yaml fixed (x removed from it): b.yaml's x takes over.
  write("a.yaml", "jobs: []\n");
  EXPECT_EQ(reload(), "x");
  EXPECT_EQ(set_.find("x")->file, file("b.yaml"));
  EXPECT_TRUE(set_.errors().empty());
}

TEST_F(JobsDir, KeptJobClashingWithAnEarlierFileIsDropped) {
  write("b.yaml", "jobs: [{name: x}]\n");
  EXPECT_EQ(reload(), "x");
  write("a.yaml", "jobs: [{name: x}]\n");
  write("b.yaml", "jobs: [{name: x, enabled: maybe}]\n");
  EXPECT_EQ(reload(), "x");
  EXPECT_EQ(set_.find("x")->file, file("a.yaml"));
  ASSERT_EQ(set_.errors().size(), 2u);
  EXPECT_EQ(set_.errors()[1], at("b.yaml", "1:15") + ": job 'x' is dropped: its last good definition clashes with " +
                                  at("a.yaml", "1:15"));
}

TEST_F(JobsDir, Diff) {
  write("a.yaml", "jobs: [{name: keep}, {name: change}, {name: drop}]\n");
  reload();
  JobSet before = set_;
  write("a.yaml", "jobs: [{name: keep}, {name: change, enabled: false}, {name: add}]\n");
  reload();
  Changes c = diff(before, set_);
  EXPECT_EQ(c.added, std::vector<std::string>{"add"});
  EXPECT_EQ(c.changed, std::vector<std::string>{"change"});
  EXPECT_EQ(c.removed, std::vector<std::string>{"drop"});
}

TEST_F(JobsDir, UnreadableFileIsThatFilesError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  write("a.yaml", "jobs: [{name: a1}]\n");
  fs::permissions(file("a.yaml"), fs::perms::none);
  auto loads = load();
  ASSERT_EQ(loads.size(), 1u);
  ASSERT_EQ(loads[0].errors.size(), 1u);
  EXPECT_NE(loads[0].errors[0].find(file("a.yaml").string()), std::string::npos) << loads[0].errors[0];
}

TEST(JobsWindows, FromConfig) {
  config::Maintenance m;
  m.windows = {{"nightly", config::WindowKind::allow, "0 1 * * *", hours(4), "Europe/Berlin"},
               {"freeze", config::WindowKind::deny, "0 0 * * 5", hours(24), "UTC"}};
  m.exclusions = {{*parse_rfc3339("2026-12-20T00:00:00Z"), *parse_rfc3339("2027-01-04T00:00:00Z"), "year-end"}};
  auto w = maintenance_windows(m);
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_EQ(w->rules().size(), 2u);
  EXPECT_EQ(w->rules()[1].kind, schedule::WindowKind::deny);
  EXPECT_EQ(w->exclusions().size(), 1u);
  auto s = w->status("nightly", *parse_rfc3339("2026-06-10T00:30:00Z"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, schedule::Openness::open);

  m.windows[0].cron = "0 1 * *";
  EXPECT_EQ(maintenance_windows(m).error().message,
            "maintenance window 'nightly': expected a cron expression of 5 fields (minute hour day-of-month month "
            "day-of-week); got 4 in '0 1 * *'");
}

}  // namespace
}  // namespace ferry::jobs
