#include <gtest/gtest.h>

#include "jobs/jobs.h"
#include "util/time.h"

namespace ferry::jobs {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

/// nightly (allow, Berlin) and month-end (deny), as in etc/ferryd.yaml.
config::Config test_config() {
  config::Config c;
  c.environment.id = "prod";
  c.maintenance.windows = {
      {"nightly", config::WindowKind::allow, "0 1 * * *", hours(4), "Europe/Berlin"},
      {"month-end", config::WindowKind::deny, "0 0 1 * *", hours(24), "Europe/Berlin"},
  };
  return c;
}

FileLoad parsed(std::string_view text) {
  FileLoad f = parse_job_file("/etc/ferry/jobs.d/a.yaml", text, test_config());
  EXPECT_TRUE(f.ok()) << (f.errors.empty() ? "" : f.errors.front());
  return f;
}

/// Every error of a file that must not load, one per line.
std::string errors_of(std::string_view text) {
  FileLoad f = parse_job_file("j.yaml", text, test_config());
  if (f.ok()) return "(loaded)";
  EXPECT_TRUE(f.jobs.empty());
  std::string out;
  for (const auto& e : f.errors) out += (out.empty() ? "" : "\n") + e;
  return out;
}

// The example of PRODUCT.md section 6, as written there.
constexpr std::string_view kProductExample = R"(jobs:
  - name: nightly-full
    export: full                      # full | incremental | selected
    select: {folders: ["/finance/**"]}
    include_upstream: true
    include_data: true
    schedule: {cron: "30 1 * * *", timezone: Europe/Berlin}
    window: nightly
    package: {name: "{job}-{date}", description: "finance, nightly"}
    deliver: [{dir: /srv/handoff/prod-inbox, on_exists: rename}]
  - name: release-42
    export: selected
    select: {addresses: ["task:/etl/daily_orders"]}
    include_upstream: true
    schedule: {at: "2026-11-23T02:00:00+01:00"}
    deliver: [{dir: /srv/handoff/prod-inbox}]
  - name: hourly-delta
    export: incremental
    schedule: {every: 1h, start: "2026-11-22T00:05:00Z"}
    deliver: [{dir: /srv/handoff/prod-inbox}]
)";

TEST(JobsParse, ProductExample) {
  FileLoad f = parsed(kProductExample);
  ASSERT_EQ(f.jobs.size(), 3u);
  const Job& nightly = f.jobs[0];
  EXPECT_EQ(nightly.name, "nightly-full");
  EXPECT_EQ(nightly.request.mode, exporter::Mode::full);
  EXPECT_EQ(nightly.request.select.folders, std::vector<std::string>{"/finance/**"});
  EXPECT_TRUE(nightly.request.include_upstream);
  EXPECT_TRUE(nightly.request.include_data);
  ASSERT_TRUE(nightly.schedule);
  EXPECT_EQ(schedule::describe(*nightly.schedule), "cron '30 1 * * *' Europe/Berlin");
  EXPECT_EQ(nightly.window, "nightly");
  EXPECT_EQ(nightly.package_name, "{job}-{date}");
  EXPECT_EQ(nightly.description, "finance, nightly");
  ASSERT_EQ(nightly.deliver.size(), 1u);
  EXPECT_EQ(nightly.deliver[0].dir, "/srv/handoff/prod-inbox");
  EXPECT_EQ(nightly.deliver[0].on_exists, delivery::OnExists::rename);
  EXPECT_EQ(nightly.file, "/etc/ferry/jobs.d/a.yaml");
  EXPECT_EQ(nightly.where, "/etc/ferry/jobs.d/a.yaml:2:11");
  EXPECT_EQ(nightly.fingerprint.size(), 64u);

  const Job& release = f.jobs[1];
  EXPECT_EQ(release.request.mode, exporter::Mode::selected);
  EXPECT_EQ(release.request.select.addresses, std::vector<std::string>{"task:/etl/daily_orders"});
  EXPECT_EQ(schedule::describe(*release.schedule), "at 2026-11-23T01:00:00.000Z");

  const Job& hourly = f.jobs[2];
  EXPECT_EQ(hourly.request.mode, exporter::Mode::incremental);
  EXPECT_EQ(schedule::describe(*hourly.schedule), "every 1h from 2026-11-22T00:05:00.000Z");
  EXPECT_EQ(hourly.where, "/etc/ferry/jobs.d/a.yaml:17:11");
}

TEST(JobsParse, EveryDefault) {
  FileLoad f = parsed("jobs: [{name: adhoc}]\n");
  ASSERT_EQ(f.jobs.size(), 1u);
  const Job& j = f.jobs[0];
  EXPECT_EQ(j.request.mode, exporter::Mode::full);
  EXPECT_TRUE(j.request.select.empty());
  EXPECT_FALSE(j.request.include_upstream);
  EXPECT_TRUE(j.request.include_data);
  EXPECT_FALSE(j.request.since_revision);
  EXPECT_FALSE(j.schedule);  // on demand only
  EXPECT_FALSE(j.window);
  EXPECT_FALSE(j.package_name);
  EXPECT_EQ(j.description, "");
  EXPECT_TRUE(j.deliver.empty());
  EXPECT_TRUE(j.enabled);
  EXPECT_EQ(j.concurrency, Concurrency::forbid);
  EXPECT_EQ(j.misfire.misfire, schedule::Misfire::run_once);
  EXPECT_FALSE(j.misfire.starting_deadline);
  EXPECT_EQ(j.on_window_close, OnWindowClose::finish);
  // A cron without timezone is UTC.
  FileLoad c = parsed("jobs: [{name: c, schedule: {cron: '0 1 * * *'}}]\n");
  EXPECT_EQ(schedule::describe(*c.jobs[0].schedule), "cron '0 1 * * *' UTC");
}

TEST(JobsParse, EveryKeySet) {
  FileLoad f = parsed(R"(jobs:
  - name: all.keys_1
    export: selected
    select:
      guids: [6F9619FF-8B86-D011-B42D-00CF4FC964FF]
      addresses: [task:/etl/daily_orders, 6f9619ff-8b86-d011-b42d-00cf4fc964ff]
      types: [dataset, task]
      folders: [/finance/, "/**", /etl/**]
      names: "daily_*"
    include_upstream: true
    include_data: false
    schedule: {every: 90m}
    window: nightly
    package: {name: "{env}-{job}-{seq}", description: all of it}
    deliver:
      - {dir: ../outbox, on_exists: overwrite}
      - {dir: /srv/b, on_exists: skip}
    enabled: false
    concurrency: replace
    misfire: skip
    starting_deadline: 30m
    on_window_close: cancel
)");
  ASSERT_EQ(f.jobs.size(), 1u);
  const Job& j = f.jobs[0];
  const auto& s = j.request.select;
  EXPECT_EQ(s.guids, std::vector<std::string>{"6f9619ff-8b86-d011-b42d-00cf4fc964ff"});
  EXPECT_EQ(s.addresses, (std::vector<std::string>{"task:/etl/daily_orders", "6f9619ff-8b86-d011-b42d-00cf4fc964ff"}));
  EXPECT_EQ(s.types, (std::vector<std::string>{"dataset", "task"}));
  EXPECT_EQ(s.folders, (std::vector<std::string>{"/finance", "/**", "/etl/**"}));
  EXPECT_EQ(s.names, std::vector<std::string>{"daily_*"});
  EXPECT_FALSE(j.request.include_data);
  EXPECT_EQ(schedule::describe(*j.schedule), "every 1h30m");
  EXPECT_EQ(j.package_name, "{env}-{job}-{seq}");
  EXPECT_EQ(j.description, "all of it");
  ASSERT_EQ(j.deliver.size(), 2u);
  EXPECT_EQ(j.deliver[0].dir, "/etc/ferry/outbox");  // relative to the job file
  EXPECT_EQ(j.deliver[0].on_exists, delivery::OnExists::overwrite);
  EXPECT_EQ(j.deliver[1].on_exists, delivery::OnExists::skip);
  EXPECT_FALSE(j.enabled);
  EXPECT_EQ(j.concurrency, Concurrency::replace);
  EXPECT_EQ(j.misfire.misfire, schedule::Misfire::skip);
  EXPECT_EQ(j.misfire.starting_deadline, minutes(30));
  EXPECT_EQ(j.on_window_close, OnWindowClose::cancel);
}

TEST(JobsParse, EmptyFiles) {
  EXPECT_TRUE(parsed("").jobs.empty());
  EXPECT_TRUE(parsed("# every job commented out\n").jobs.empty());
  EXPECT_TRUE(parsed("jobs: []\n").jobs.empty());
}

TEST(JobsParse, Fingerprint) {
  auto fp = [](std::string_view text) {
    FileLoad f = parse_job_file("/d/a.yaml", text, test_config());
    EXPECT_TRUE(f.ok());
    return f.ok() ? f.jobs.at(0).fingerprint : std::string();
  };
  std::string base = fp("jobs: [{name: x, schedule: {cron: '0 1 * * *'}}]\n");
  // Layout, comments and spelled-out defaults do not change the definition.
  EXPECT_EQ(base,
            fp("# nightly\njobs:\n  - name: x\n    schedule: {cron: '0 1 * * *', timezone: UTC}\n    enabled: true\n"));
  EXPECT_NE(base, fp("jobs: [{name: x, schedule: {cron: '0 2 * * *'}}]\n"));
  EXPECT_NE(base, fp("jobs: [{name: x, schedule: {cron: '0 1 * * *', timezone: Europe/Berlin}}]\n"));
  EXPECT_NE(base, fp("jobs: [{name: x, schedule: {cron: '0 1 * * *'}, enabled: false}]\n"));
  EXPECT_NE(base, fp("jobs: [{name: x, schedule: {cron: '0 1 * * *'}, deliver: [{dir: /o}]}]\n"));
  EXPECT_NE(base, fp("jobs: [{name: x, schedule: {cron: '0 1 * * *'}, starting_deadline: 1h}]\n"));
  // The same definition in another file is the same job.
  FileLoad other = parse_job_file("/d/b.yaml", "jobs: [{name: x, schedule: {cron: '0 1 * * *'}}]\n", test_config());
  EXPECT_EQ(base, other.jobs.at(0).fingerprint);
}

// ---- Errors: exact texts, every error in the file. ----

TEST(JobsErrors, Schedule) {
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    schedule: {cron: '0 24 * * *'}\n"),
            "j.yaml:3:22: jobs[0].schedule.cron: hour: 24 is out of range; expected 0-23");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    schedule: {cron: '0 1 * *'}\n"),
            "j.yaml:3:22: jobs[0].schedule.cron: expected a cron expression of 5 fields (minute hour day-of-month "
            "month day-of-week); got 4 in '0 1 * *'");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    schedule: {cron: '0 1 * * *', timezone: Mars/Olympus}\n"),
            "j.yaml:3:45: jobs[0].schedule.timezone: unknown time zone 'Mars/Olympus'; expected a name from the tz "
            "database such as Europe/Berlin or UTC");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    schedule: {}\n"),
            "j.yaml:3:15: jobs[0].schedule: expected one of at, every or cron (a job without schedule runs only on "
            "demand)");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    schedule: {at: '2026-11-23T02:00:00Z', cron: '0 1 * * *'}\n"),
            "j.yaml:3:15: jobs[0].schedule: expected only one of at, every or cron; got at and cron");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    schedule: {cron: '0 1 * * *', start: '2026-11-23T02:00:00Z'}\n"),
            "j.yaml:3:42: jobs[0].schedule.start: start goes with every; cron takes no start");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    schedule: {every: 1h, timezone: Europe/Berlin}\n"),
            "j.yaml:3:37: jobs[0].schedule.timezone: timezone goes with cron; every times carry their own offset");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    schedule: {every: 0s}\n"),
            "j.yaml:3:23: jobs[0].schedule.every: expected a duration greater than 0; got '0s'");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    schedule: {every: 1 hour}\n"),
            "j.yaml:3:23: jobs[0].schedule.every: expected a duration such as 30s, 5m, 4h, 30d or 1h30m; got '1 hour'");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    schedule: {at: tomorrow}\n"),
            "j.yaml:3:20: jobs[0].schedule.at: 'tomorrow' is not an RFC 3339 time (expected e.g. "
            "2026-11-23T02:00:00Z or 2026-11-23T02:00:00+01:00)");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    schedule: {cron: '0 1 * * *', tz: UTC}\n"),
            "j.yaml:3:35: jobs[0].schedule: unknown key 'tz' in schedule; expected one of: at, every, start, cron, "
            "timezone");
}

TEST(JobsErrors, Window) {
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    window: weekly\n"),
            "j.yaml:3:13: jobs[0].window: no window named 'weekly'; allow windows in maintenance.windows: nightly");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    window: month-end\n"),
            "j.yaml:3:13: jobs[0].window: window 'month-end' is a deny window; a job needs an allow window");
}

TEST(JobsErrors, Selection) {
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    export: selected\n"),
            "j.yaml:2:5: jobs[0]: missing required key 'select' in job: export: selected exports only what select "
            "names");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    export: selected\n    select: {}\n"),
            "j.yaml:4:13: jobs[0].select: export: selected needs at least one of guids, addresses, types, folders or "
            "names");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    export: partial\n"),
            "j.yaml:3:13: jobs[0].export: expected one of full, incremental, selected; got 'partial'");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    select: {guids: [nope], folders: [/a/../b], addresses: [x]}\n"),
            "j.yaml:3:22: jobs[0].select.guids[0]: expected a GUID such as 6f9619ff-8b86-d011-b42d-00cf4fc964ff; "
            "got 'nope'\n"
            "j.yaml:3:39: jobs[0].select.folders[0]: " +
                normalize_folder("/a/../b").error().message + "\n" +
                "j.yaml:3:61: jobs[0].select.addresses[0]: " + parse_address("x").error().message);
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    select: {folder: /a}\n"),
            "j.yaml:3:14: jobs[0].select: unknown key 'folder' in select; expected one of: guids, addresses, types, "
            "folders, names");
}

TEST(JobsErrors, PackageAndDelivery) {
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    package: {name: '{job}-{day}'}\n"),
            "j.yaml:3:21: jobs[0].package.name: unknown placeholder in package name template '{job}-{day}'; use "
            "{env}, {mode}, {date}, {time}, {seq} or {job}");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    package: {name: 'nightly export'}\n"),
            "j.yaml:3:21: jobs[0].package.name: a package name template may hold only letters, digits, '.', '_', '-' "
            "and placeholders, and must not start with '.' (the name becomes a file name); got 'nightly export'");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    deliver: [{dir: /o, on_exists: replace}]\n"),
            "j.yaml:3:36: jobs[0].deliver[0].on_exists: expected one of overwrite, rename, skip; got 'replace'");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    deliver: [{on_exists: skip}]\n"),
            "j.yaml:3:15: jobs[0].deliver[0]: missing required key 'dir' in deliver target");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    deliver: /o\n"),
            "j.yaml:3:14: jobs[0].deliver: expected a list, got a scalar");
}

TEST(JobsErrors, Policies) {
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    concurrency: queue\n    misfire: all\n    on_window_close: stop\n"
                      "    starting_deadline: 0s\n    enabled: yes\n"),
            "j.yaml:3:18: jobs[0].concurrency: expected one of forbid, replace, allow; got 'queue'\n"
            "j.yaml:4:14: jobs[0].misfire: expected one of run_once, skip; got 'all'\n"
            "j.yaml:5:22: jobs[0].on_window_close: expected one of finish, cancel; got 'stop'\n"
            "j.yaml:6:24: jobs[0].starting_deadline: expected a duration greater than 0; got '0s'\n"
            "j.yaml:7:14: jobs[0].enabled: expected true or false; got 'yes'");
}

TEST(JobsErrors, NamesAndShape) {
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n  - name: b\n  - name: a\n"),
            "j.yaml:4:11: jobs[2].name: duplicate job name 'a'; jobs[0] at j.yaml:2:11 already uses it");
  EXPECT_EQ(errors_of("jobs:\n  - name: 'nightly full'\n"),
            "j.yaml:2:11: jobs[0].name: expected a job name of letters, digits, '_', '.' and '-' (at most 64, not "
            "starting with '.' or '-'); got 'nightly full'");
  EXPECT_EQ(errors_of("jobs:\n  - export: full\n"), "j.yaml:2:5: jobs[0]: missing required key 'name' in job");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    shedule: {every: 1h}\n"),
            "j.yaml:3:5: jobs[0]: unknown key 'shedule' in job; expected one of: name, export, select, "
            "include_upstream, include_data, schedule, window, package, deliver, enabled, concurrency, misfire, "
            "starting_deadline, on_window_close");
  EXPECT_EQ(errors_of("job:\n  - name: a\n"),
            "j.yaml:1:1: unknown key 'job' in job file; expected one of: jobs\n"
            "j.yaml:1:1: missing required key 'jobs' in job file");
  EXPECT_EQ(errors_of("jobs: {name: a}\n"), "j.yaml:1:7: jobs: expected a list, got a mapping");
  EXPECT_EQ(errors_of("jobs:\n  - name: a\n    schedule: {every: 1h\n"), "j.yaml:4:1: end of map flow not found");
}

TEST(JobsErrors, ItemThatIsNotAMapping) {
  // yaml-cpp's node graph threw on a lookup in a scalar; the tree answers "undefined".
  EXPECT_EQ(errors_of("jobs:\n  - nightly\n  - [a]\n"),
            "j.yaml:2:5: jobs[0]: expected a mapping (job), got a scalar\n"
            "j.yaml:3:5: jobs[1]: expected a mapping (job), got a list");
}

TEST(JobsErrors, EveryErrorInTheFile) {
  EXPECT_EQ(errors_of(R"(jobs:
  - name: a
    schedule: {cron: "0 1 * * 8"}
  - name: b
    window: weekly
    deliver: [{dir: /o, on_exists: never}]
  - name: a
)"),
            "j.yaml:3:22: jobs[0].schedule.cron: day-of-week: 8 is out of range; expected 0-7 or sun-sat (0 and 7 "
            "are Sunday)\n"
            "j.yaml:6:36: jobs[1].deliver[0].on_exists: expected one of overwrite, rename, skip; got 'never'\n"
            "j.yaml:5:13: jobs[1].window: no window named 'weekly'; allow windows in maintenance.windows: nightly\n"
            "j.yaml:7:11: jobs[2].name: duplicate job name 'a'; jobs[0] at j.yaml:2:11 already uses it");
}

}  // namespace
}  // namespace ferry::jobs
