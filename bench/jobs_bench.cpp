// jobs_bench: loading many job definitions (PRODUCT.md 13: 10,000 in under a second).
// What each figure means: docs/bench.md.
//
//  1. (not timed) writes --jobs definitions into --files files in --dir, a realistic
//     mix: cron with time zones, every with start, at, on demand; selections,
//     windows, package templates, delivery targets and policies;
//  2. (timed) load_jobs() + merge() as ferryd's start does; peak RSS (VmHWM) reset
//     just before and read just after;
//  3. (timed) a reload of the unchanged folder, merged with the first set, and
//     diff() between the two (what SIGHUP costs);
//  4. (timed) YAML::Load alone, then yamlread::Document alone, on the same files;
//  5. (timed) the next fire time of every scheduled job from one instant.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <yaml-cpp/yaml.h>

#include "bench_util.h"
#include "jobs/jobs.h"
#include "util/fd.h"
#include "util/time.h"
#include "yamlread/yamlread.h"

namespace ferry::bench {
namespace {

namespace fs = std::filesystem;

/// One job entry; `i` picks the variant so every key path is exercised.
std::string job_yaml(size_t i) {
  std::string name = "job-" + std::to_string(i);
  std::string out = "  - name: " + name + "\n";
  switch (i % 4) {
    case 0:
      out += "    export: full\n    select: {folders: [\"/finance/team" + std::to_string(i % 50) + "/**\"]}\n";
      out += "    schedule: {cron: \"" + std::to_string(i % 60) + " " + std::to_string(i % 24) +
             " * * *\", timezone: Europe/Berlin}\n    window: nightly\n";
      break;
    case 1:
      out += "    export: incremental\n    schedule: {every: " + std::to_string(1 + i % 12) +
             "h, start: \"2026-11-22T00:05:00Z\"}\n    misfire: skip\n    starting_deadline: 30m\n";
      break;
    case 2:
      out += "    export: selected\n    select: {addresses: [\"task:/etl/orders_" + std::to_string(i) +
             "\"], types: [task]}\n    include_upstream: true\n    schedule: {at: \"2026-11-23T02:00:00+01:00\"}\n";
      break;
    default:
      out += "    export: selected\n    select: {names: [\"ops_" + std::to_string(i) + "_*\"]}\n";
      out += "    concurrency: replace\n    enabled: false\n";
      break;
  }
  out += "    package: {name: \"{job}-{date}-{seq}\", description: \"bench job " + std::to_string(i) + "\"}\n";
  out += "    deliver: [{dir: /srv/handoff/inbox-" + std::to_string(i % 8) + ", on_exists: rename}]\n";
  return out;
}

uint64_t write_files(const fs::path& dir, size_t jobs, size_t files) {
  fs::create_directories(dir);
  uint64_t bytes = 0;
  size_t per_file = (jobs + files - 1) / files;
  for (size_t f = 0, next = 0; f < files && next < jobs; ++f) {
    std::string text = "jobs:\n";
    for (size_t k = 0; k < per_file && next < jobs; ++k) text += job_yaml(next++);
    char name[32];
    std::snprintf(name, sizeof name, "jobs-%04zu.yaml", f);
    std::ofstream(dir / name, std::ios::binary) << text;
    bytes += text.size();
  }
  return bytes;
}

config::Config bench_config() {
  config::Config c;
  c.environment.id = "bench";
  c.maintenance.windows = {{"nightly", config::WindowKind::allow, "0 1 * * *", std::chrono::hours(4), "Europe/Berlin"}};
  return c;
}

int run(int argc, char** argv) {
  auto flags =
      parse_flags(argc, argv, {{"dir", "/tmp/ferry-jobs-bench"}, {"jobs", "10000"}, {"files", "100"}, {"threads", "4"}},
                  "jobs_bench: time loading job files (docs/bench.md)");
  const fs::path dir = flags["dir"];
  const size_t jobs = std::stoul(flags["jobs"]);
  const size_t files = std::stoul(flags["files"]);
  const size_t threads = std::stoul(flags["threads"]);  // load_jobs' max_threads; 1: the sequential load
  if (fs::exists(dir) && !fs::is_empty(dir)) die(dir.string() + " is not empty; give --dir an empty or new folder");
  const config::Config config = bench_config();

  uint64_t bytes = write_files(dir, jobs, files);
  std::printf("job files     %zu jobs in %zu files, %s (written, not timed)\n", jobs, files,
              human_bytes(bytes).c_str());

  if (!reset_peak_rss()) std::fprintf(stderr, "warning: cannot reset VmHWM; peak RSS includes earlier work\n");
  uint64_t before = current_rss();
  Stopwatch load_clock;
  auto loads = jobs::load_jobs(dir, config, threads);
  if (!loads) die(loads.error().message);
  jobs::JobSet set = jobs::merge({}, std::move(*loads));
  double load_seconds = load_clock.seconds();
  uint64_t peak = peak_rss();
  if (set.jobs.size() != jobs || !set.errors().empty())
    die("loaded " + std::to_string(set.jobs.size()) + " jobs" +
        (set.errors().empty() ? std::string() : "; first error: " + set.errors().front()));

  Stopwatch reload_clock;
  auto again = jobs::load_jobs(dir, config, threads);
  if (!again) die(again.error().message);
  jobs::JobSet reloaded = jobs::merge(set, std::move(*again));
  jobs::Changes changes = jobs::diff(set, reloaded);
  double reload_seconds = reload_clock.seconds();

  // The floor: yaml-cpp alone on the same files, no key tables.
  Stopwatch yaml_clock;
  for (const auto& entry : fs::directory_iterator(dir)) {
    auto text = read_file(entry.path());
    if (!text) die(text.error().message);
    YAML::Node root = YAML::Load(*text);
    if (!root.IsMap()) die("unexpected YAML in " + entry.path().string());
  }
  double yaml_seconds = yaml_clock.seconds();

  // yaml-cpp's parser into yamlread's own tree, as parse_job_file reads: the floor of
  // a one-thread load now (YAML::Load above is what it used before).
  Stopwatch tree_clock;
  for (const auto& entry : fs::directory_iterator(dir)) {
    auto text = read_file(entry.path());
    if (!text) die(text.error().message);
    yamlread::Document doc(entry.path().string(), *text);
    if (!doc.root().IsMap()) die("unexpected YAML in " + entry.path().string());
  }
  double tree_seconds = tree_clock.seconds();

  const TimePoint now = *parse_rfc3339("2026-11-22T12:00:00Z");
  size_t scheduled = 0;
  Stopwatch next_clock;
  for (const auto& job : set.jobs) {
    if (!job.schedule) continue;
    schedule::Schedule s(*job.schedule, now);
    if (s.next_after(now)) ++scheduled;
  }
  double next_seconds = next_clock.seconds();

  std::printf("load          %.3f s  (%.0f jobs/s; target: under 1 s for 10,000; up to %zu threads)\n", load_seconds,
              static_cast<double>(jobs) / load_seconds, threads);
  std::printf("yaml-cpp      %.3f s  (YAML::Load of the same files alone, one thread)\n", yaml_seconds);
  std::printf(
      "yamlread      %.3f s  (yamlread::Document of the same files alone: yaml-cpp's parser into the tree "
      "parse_job_file reads, one thread)\n",
      tree_seconds);
  std::printf("peak RSS      %s (VmHWM; %s resident before the load)\n", human_bytes(peak).c_str(),
              human_bytes(before).c_str());
  std::printf("reload        %.3f s  (unchanged folder: %zu added, %zu changed, %zu removed)\n", reload_seconds,
              changes.added.size(), changes.changed.size(), changes.removed.size());
  std::printf("next fire     %.3f s  for %zu scheduled jobs (%.1f us each)\n", next_seconds, scheduled,
              scheduled == 0 ? 0.0 : next_seconds * 1e6 / static_cast<double>(scheduled));
  fs::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace ferry::bench

int main(int argc, char** argv) { return ferry::bench::run(argc, argv); }
