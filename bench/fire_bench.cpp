// Fire-time error of `every` jobs (PRODUCT.md section 13: a due run starts within
// 5 ms of its time, p99). Starts a real ferryd with N jobs `every: 1s` for a while,
// then reads each job's history over the control socket and prints p50, p99 and max
// of (export start - due time). The exports select nothing, so each run is recorded
// and ends `skipped` at once: what is measured is the scheduler, not the exporter.
// See docs/bench.md.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "control/control.h"
#include "util/time.h"

namespace fs = std::filesystem;
using namespace ferry;

namespace {

void write(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

pid_t spawn_ferryd(const std::string& ferryd, const fs::path& config, const fs::path& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen(log.c_str(), "w", stderr);
    ::execl(ferryd.c_str(), ferryd.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  return pid;
}

Expected<control::Client> connect(const fs::path& socket) {
  for (int i = 0; i < 500; ++i) {
    if (auto c = control::Client::connect(socket)) return c;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return control::Client::connect(socket);
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = bench::parse_flags(argc, argv, {{"ferryd", "build/daemon/ferryd"}, {"jobs", "10"}, {"seconds", "60"}},
                                  "fire_bench --ferryd=PATH --jobs=N --seconds=S");
  auto dir = fs::temp_directory_path() / ("ferry-fire-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir / "jobs.d");
  write(dir / "ferryd.yaml",
        "environment: {id: bench}\nstate_dir: state\nsocket: ferryd.sock\njobs_dir: jobs.d\n"
        "types: " +
            (fs::path(FERRY_SOURCE_DIR) / "etc/types.yaml").string() + "\n");
  std::string jobs = "jobs:\n";
  int n = std::stoi(flags["jobs"]);
  for (int i = 0; i < n; ++i) {
    jobs += "  - {name: j" + std::to_string(i) +
            ", export: selected, select: {folders: [/nothing]}, schedule: {every: 1s}}\n";
  }
  write(dir / "jobs.d/bench.yaml", jobs);
  auto pid = spawn_ferryd(flags["ferryd"], dir / "ferryd.yaml", dir / "ferryd.log");
  auto client = connect(dir / "ferryd.sock");
  if (!client) {
    std::fprintf(stderr, "ferryd did not come up: %s (log: %s)\n", client.error().message.c_str(),
                 (dir / "ferryd.log").c_str());
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(std::stoi(flags["seconds"])));  // the bench's own duration
  // fired: recorded_at - due_at, the timer's lateness (taken on the event loop when it
  // fires). started: started_at - due_at, when the export began on a worker, after the
  // run's records were written.
  std::vector<double> fired_ms, late_ms;
  std::set<TimePoint> late_dues;  // due instants at which some run fired 5 ms late or more
  auto ms = [](TimePoint a, TimePoint b) { return std::chrono::duration<double, std::milli>(a - b).count(); };
  for (int i = 0; i < n; ++i) {
    auto history = client->call("job.history", {{"name", "j" + std::to_string(i)}});
    if (!history) continue;
    for (const auto& run : (*history)["runs"]) {
      if (run["trigger"] != "schedule") continue;
      auto due = parse_rfc3339(run["due_at"].get<std::string>());
      auto fired = parse_rfc3339(run["recorded_at"].get<std::string>());
      if (due && fired) {
        fired_ms.push_back(ms(*fired, *due));
        if (fired_ms.back() >= 5) late_dues.insert(*due);
      }
      if (!run["started_at"].is_string()) continue;
      auto started = parse_rfc3339(run["started_at"].get<std::string>());
      if (due && started) late_ms.push_back(ms(*started, *due));
    }
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  fs::remove_all(dir);
  if (fired_ms.empty()) {
    std::fprintf(stderr, "no runs recorded\n");
    return 1;
  }
  auto print = [](const char* what, std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
    std::printf("  %s: p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", what, at(0.50), at(0.99), v.back());
  };
  std::printf("fire_bench: %d jobs every 1s for %s s: %zu runs (target: p99 fire error < 5 ms)\n", n,
              flags["seconds"].c_str(), fired_ms.size());
  print("fire error   (recorded_at - due_at)", fired_ms);
  auto late_runs = std::ranges::count_if(fired_ms, [](double v) { return v >= 5; });
  std::printf("  fired 5 ms late or more: %td runs, at %zu distinct due times\n", late_runs, late_dues.size());
  if (!late_ms.empty()) print("export start (started_at  - due_at)", late_ms);
  return 0;
}
