// Records of the scheduler: each job's first-seen and last fire time, and its history.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "records/records.h"
#include "records/rep.h"
#include "records/schema.h"

namespace ferry::records {

Expected<JobState> Records::job_state(std::string_view name, TimePoint now) {
  return rep_->locked([&](SQLite::Database& db) -> Expected<JobState> {
    SQLite::Statement insert(db,
                             "INSERT INTO job_state (name, first_seen) VALUES (?, ?) ON CONFLICT (name) DO NOTHING");
    insert.bind(1, std::string(name));
    insert.bind(2, detail::to_micros(now));
    insert.exec();
    SQLite::Statement q(db, "SELECT first_seen, last_fire FROM job_state WHERE name = ?");
    q.bind(1, std::string(name));
    if (!q.executeStep())
      return fail(Errc::internal, rep_->path.string() + ": job state of " + std::string(name) + " vanished");
    JobState s{std::string(name), detail::from_micros(q.getColumn(0).getInt64()), std::nullopt};
    if (!q.getColumn(1).isNull()) s.last_fire = detail::from_micros(q.getColumn(1).getInt64());
    return s;
  });
}

Status Records::set_last_fire(std::string_view name, TimePoint last_fire) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    SQLite::Statement q(db, "UPDATE job_state SET last_fire = ?2 WHERE name = ?1");
    q.bind(1, std::string(name));
    q.bind(2, detail::to_micros(last_fire));
    if (q.exec() == 0) return fail(Errc::not_found, "no job state for " + std::string(name));
    return {};
  });
}

namespace {

void insert_run(SQLite::Database& db, const JobRun& run) {
  SQLite::Statement q(db,
                      "INSERT INTO job_runs (job, due_at, trigger, user_name, package_id, state, reason, at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, run.job);
  q.bind(2, detail::to_micros(run.due_at));
  q.bind(3, run.trigger);
  q.bind(4, run.user);
  if (run.package_id) q.bind(5, *run.package_id);
  q.bind(6, run.state);
  q.bind(7, run.reason);
  q.bind(8, detail::to_micros(run.at));
  q.exec();
}

}  // namespace

Status Records::add_job_run(const JobRun& run) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    insert_run(db, run);
    return {};
  });
}

Status Records::start_job_run(const PackageRecord& package, const JobRun& run, std::optional<TimePoint> last_fire) {
  return rep_->locked([&](SQLite::Database& db) -> Status {
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    if (detail::row_exists(db, {"packages", "package"}, package.id)) {
      return fail(Errc::conflict, "package " + package.id + " is already recorded");
    }
    SQLite::Statement insert(db, detail::insert_package_sql());
    detail::bind_package(insert, package);
    insert.exec();
    insert_run(db, run);
    if (last_fire) {
      SQLite::Statement q(db, "UPDATE job_state SET last_fire = ?2 WHERE name = ?1");
      q.bind(1, run.job);
      q.bind(2, detail::to_micros(*last_fire));
      q.exec();
    }
    tx.commit();
    return {};
  });
}

Expected<std::vector<JobRun>> Records::job_runs(std::string_view job, size_t limit) const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<std::vector<JobRun>> {
    SQLite::Statement q(db,
                        "SELECT r.job, r.due_at, r.trigger, r.user_name, r.package_id, coalesce(p.state, r.state), "
                        "CASE WHEN p.id IS NULL THEN r.reason ELSE p.error END, r.at, coalesce(p.name, ''), "
                        "p.started_at, p.ended_at FROM job_runs r LEFT JOIN packages p ON p.id = r.package_id "
                        "WHERE r.job = ? ORDER BY r.seq DESC LIMIT ?");
    q.bind(1, std::string(job));
    q.bind(2, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
    std::vector<JobRun> out;
    while (q.executeStep()) {
      JobRun r;
      r.job = q.getColumn(0).getString();
      r.due_at = detail::from_micros(q.getColumn(1).getInt64());
      r.trigger = q.getColumn(2).getString();
      r.user = q.getColumn(3).getString();
      if (!q.getColumn(4).isNull()) r.package_id = q.getColumn(4).getString();
      r.state = q.getColumn(5).getString();
      r.reason = q.getColumn(6).getString();
      r.at = detail::from_micros(q.getColumn(7).getInt64());
      r.package_name = q.getColumn(8).getString();
      if (!q.getColumn(9).isNull()) r.started_at = detail::from_micros(q.getColumn(9).getInt64());
      if (!q.getColumn(10).isNull()) r.ended_at = detail::from_micros(q.getColumn(10).getInt64());
      out.push_back(std::move(r));
    }
    return out;
  });
}

Expected<uint64_t> Records::skipped_runs(std::string_view job) const {
  return rep_->locked([&](SQLite::Database& db) -> Expected<uint64_t> {
    SQLite::Statement q(db, "SELECT count(*) FROM job_runs WHERE job = ? AND package_id IS NULL");
    q.bind(1, std::string(job));
    q.executeStep();
    return static_cast<uint64_t>(q.getColumn(0).getInt64());
  });
}

}  // namespace ferry::records
