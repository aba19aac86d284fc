// The folder of job files, and how a reload combines a fresh load with the jobs in
// effect before it.
#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "jobs/jobs.h"
#include "util/fd.h"

namespace ferry::jobs {

namespace fs = std::filesystem;

namespace {

/// load_jobs starts a parsing thread per this many files.
constexpr size_t kFilesPerLoadThread = 8;

bool is_job_file(const fs::directory_entry& entry) {
  std::string name = entry.path().filename().string();
  std::error_code ec;
  return !name.starts_with('.') && name.ends_with(".yaml") && entry.is_regular_file(ec);
}

/// A job name and where it is in effect from, for duplicate messages.
struct Claim {
  std::string where;
  FileState state;  ///< of the file that made the claim
};

std::string claimed_at(const Claim& c) {
  return c.where + (c.state == FileState::failed ? " (its last good definition; that file does not load now)" : "");
}

}  // namespace

Expected<std::vector<FileLoad>> load_jobs(const fs::path& jobs_dir, const config::Config& config, size_t max_threads) {
  std::error_code ec;
  if (!fs::exists(jobs_dir, ec) && !ec) return std::vector<FileLoad>{};
  std::vector<fs::path> files;
  fs::directory_iterator it(jobs_dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec))
    if (is_job_file(*it)) files.push_back(it->path());
  if (ec) return fail_errno("cannot list job files", jobs_dir.string(), ec.value());
  std::ranges::sort(files);
  std::vector<FileLoad> out(files.size());
  auto load_one = [&](size_t i) {
    auto text = read_file(files[i]);
    out[i] = text ? parse_job_file(files[i], *text, config)
                  : FileLoad{.file = files[i], .jobs = {}, .errors = {text.error().message}};
  };
  // Files are independent and parsing (yaml-cpp) is CPU-bound: many files are parsed on
  // a few threads (docs/bench.md, jobs_bench). Each thread takes the next file.
  size_t threads = std::min(
      {max_threads, size_t{std::max(1U, std::thread::hardware_concurrency())}, files.size() / kFilesPerLoadThread});
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++) load_one(i);
  };
  {
    std::vector<std::jthread> helpers;
    for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
    work();
  }  // joined
  return out;
}

const Job* JobSet::find(std::string_view name) const {
  auto it = std::ranges::lower_bound(jobs, name, std::less<>{}, &Job::name);
  return it != jobs.end() && it->name == name ? &*it : nullptr;
}

std::vector<std::string> JobSet::errors() const {
  std::vector<std::string> out;
  for (const auto& f : files) out.insert(out.end(), f.errors.begin(), f.errors.end());
  return out;
}

JobSet merge(const JobSet& previous, std::vector<FileLoad> loads) {
  std::ranges::sort(loads, {}, &FileLoad::file);
  JobSet out;
  std::map<std::string, Claim, std::less<>> claims;
  for (auto& load : loads) {
    FileStatus status{.file = load.file, .state = FileState::loaded, .errors = std::move(load.errors)};
    if (status.errors.empty()) {
      for (size_t i = 0; i < load.jobs.size(); ++i) {
        auto it = claims.find(load.jobs[i].name);
        if (it == claims.end()) continue;
        status.errors.push_back(load.jobs[i].where + ": jobs[" + std::to_string(i) + "].name: duplicate job name '" +
                                load.jobs[i].name + "'; " + claimed_at(it->second) + " already defines it");
      }
    }
    std::vector<Job> jobs;
    if (status.errors.empty()) {
      jobs = std::move(load.jobs);
    } else {
      status.state = FileState::failed;
      for (const auto& job : previous.jobs) {
        if (job.file != status.file) continue;
        if (auto it = claims.find(job.name); it != claims.end()) {
          status.errors.push_back(job.where + ": job '" + job.name +
                                  "' is dropped: its last good definition clashes with " + claimed_at(it->second));
          continue;
        }
        jobs.push_back(job);
      }
    }
    for (const auto& job : jobs) claims.emplace(job.name, Claim{job.where, status.state});
    status.jobs = jobs.size();
    std::ranges::move(jobs, std::back_inserter(out.jobs));
    out.files.push_back(std::move(status));
  }
  std::ranges::sort(out.jobs, {}, &Job::name);
  return out;
}

Changes diff(const JobSet& before, const JobSet& after) {
  Changes c;
  for (const auto& job : after.jobs) {
    const Job* old = before.find(job.name);
    if (old == nullptr)
      c.added.push_back(job.name);
    else if (old->fingerprint != job.fingerprint)
      c.changed.push_back(job.name);
  }
  for (const auto& job : before.jobs)
    if (after.find(job.name) == nullptr) c.removed.push_back(job.name);
  return c;
}

Expected<schedule::Windows> maintenance_windows(const config::Maintenance& maintenance) {
  std::vector<schedule::WindowRule> rules;
  for (const auto& w : maintenance.windows) {
    auto opens = schedule::CronSchedule::parse(w.cron, w.timezone);
    if (!opens) return std::unexpected(opens.error().with_context("maintenance window '" + w.name + "'"));
    auto kind = w.kind == config::WindowKind::allow ? schedule::WindowKind::allow : schedule::WindowKind::deny;
    rules.push_back({w.name, kind, std::move(*opens), w.duration});
  }
  std::vector<schedule::Exclusion> exclusions;
  for (const auto& e : maintenance.exclusions) exclusions.push_back({e.from, e.to, e.reason});
  return schedule::Windows(std::move(rules), std::move(exclusions));
}

}  // namespace ferry::jobs
