#include "records/records.h"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace ferry::records {
namespace {
namespace fs = std::filesystem;
using std::chrono::seconds;

struct Fixture {
  test::TempDir dir;
  test::FakeClock clock;
  std::unique_ptr<Records> records;

  Fixture() { reopen(); }
  void reopen() {
    records.reset();
    auto r = Records::open(dir.path() / "records.db", clock);
    if (!r) throw std::runtime_error(r.error().message);
    records = std::move(*r);
  }
  /// A package created now, so later ones are newer.
  PackageRecord add(std::string id, std::string name, std::string description = "") {
    PackageRecord p;
    p.id = std::move(id);
    p.name = std::move(name);
    p.description = std::move(description);
    p.mode = "full";
    p.settings = nlohmann::json{{"mode", "full"}};
    p.user = "alice";
    p.created_at = clock.now();
    clock.advance(seconds(1));
    auto st = records->insert_package(p);
    if (!st) throw std::runtime_error(st.error().message);
    return p;
  }
};

PackageRecord every_field_set(TimePoint t) {
  PackageRecord p;
  p.id = "0f8c2b6e-1d2a-4c3b-9e4f-5a6b7c8d9e0f";
  p.name = "prod-full-20260101";
  p.description = "Nightly FULL export";
  p.job = "nightly";
  p.mode = "incremental";
  p.settings = nlohmann::json{{"mode", "incremental"}, {"select", {{"types", {"dataset"}}}}, {"upstream", true}};
  p.user = "bob";
  p.state = PackageState::succeeded;
  p.created_at = t;
  p.started_at = t + seconds(5);
  p.ended_at = t + seconds(65);
  p.objects_done = 10;
  p.objects_total = 12;
  p.bytes_done = 5'000'000'000ull;
  p.bytes_total = 6'000'000'000ull;
  p.object_count = 12;
  p.size = 7'000'000'000ull;
  p.sha256 = std::string(64, 'a');
  p.error = "none really";
  p.file = "/var/lib/ferry/packages/prod-full-20260101.zip";
  p.revision_from = 100;
  p.revision_to = 250;
  p.retry_of = "7c1d2b6e-1d2a-4c3b-9e4f-5a6b7c8d9e0f";
  return p;
}

std::vector<std::string> ids(const std::vector<PackageRecord>& list) {
  std::vector<std::string> out;
  for (const auto& p : list) out.push_back(p.id);
  return out;
}

TEST(Records, StatesRoundTrip) {
  for (auto s : {PackageState::queued, PackageState::waiting_window, PackageState::exporting, PackageState::succeeded,
                 PackageState::failed, PackageState::cancelled, PackageState::skipped}) {
    EXPECT_EQ(parse_package_state(to_string(s)), s);
  }
  EXPECT_EQ(to_string(PackageState::waiting_window), "waiting_window");
  EXPECT_FALSE(parse_package_state("done"));
}

TEST(Records, EveryFieldRoundTrips) {
  Fixture f;
  auto p = every_field_set(f.clock.now());
  ASSERT_TRUE(f.records->insert_package(p));
  EXPECT_EQ(f.records->package(p.id).value(), p);
  PackageRecord bare;
  bare.id = "11111111-0000-0000-0000-000000000000";
  bare.created_at = f.clock.now();
  ASSERT_TRUE(f.records->insert_package(bare));
  EXPECT_EQ(f.records->package(bare.id).value(), bare);  // nullopts and empty JSON survive
}

TEST(Records, InsertTwiceIsAConflict) {
  Fixture f;
  auto p = f.add("a1111111-0000", "x");
  auto st = f.records->insert_package(p);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::conflict);
}

TEST(Records, UpdateReplacesTheRowAndProgressOnlyTheCounters) {
  Fixture f;
  auto p = f.add("a1111111-0000", "x");
  p.state = PackageState::exporting;
  p.started_at = f.clock.now();
  p.job = "nightly";
  ASSERT_TRUE(f.records->update_package(p));
  ASSERT_TRUE(f.records->set_progress(p.id, 3, 9, 300, 900));
  p.objects_done = 3;
  p.objects_total = 9;
  p.bytes_done = 300;
  p.bytes_total = 900;
  EXPECT_EQ(f.records->package(p.id).value(), p);
  p.id = "missing";
  EXPECT_EQ(f.records->update_package(p).error().code, Errc::not_found);
  EXPECT_EQ(f.records->set_progress("missing", 0, 0, 0, 0).error().message, "no package missing");
}

TEST(Records, LookupByUniquePrefix) {
  Fixture f;
  f.add("abcdef01-1111", "one");
  f.add("abcdef02-2222", "two");
  EXPECT_EQ(f.records->package("abcdef01").value().name, "one");
  auto ambiguous = f.records->package("abcdef0");  // 7 characters: too short for a prefix
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().code, Errc::not_found);
  EXPECT_EQ(ambiguous.error().message, "no package abcdef0");
  f.add("abcdef01-3333", "three");
  auto both = f.records->package("abcdef01");
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().code, Errc::conflict);
  EXPECT_EQ(both.error().message,
            "package id prefix abcdef01 is ambiguous: it matches abcdef01-1111, abcdef01-3333; give more characters");
  EXPECT_EQ(f.records->package("zzzzzzzzzz").error().message, "no package zzzzzzzzzz");
}

TEST(Records, ListIsNewestFirstAndFilters) {
  Fixture f;
  f.add("p1", "Nightly-one", "first run");
  auto second = f.add("p2", "adhoc", "fix for NIGHTLY data");
  f.add("p3", "weekly", "other");
  second.state = PackageState::failed;
  second.job = "fixes";
  ASSERT_TRUE(f.records->update_package(second));

  EXPECT_EQ(ids(f.records->packages({}).value()), (std::vector<std::string>{"p3", "p2", "p1"}));
  EXPECT_EQ(ids(f.records->packages({.search = "nIgHtLy"}).value()), (std::vector<std::string>{"p2", "p1"}));
  EXPECT_EQ(ids(f.records->packages({.state = PackageState::failed}).value()), (std::vector<std::string>{"p2"}));
  EXPECT_EQ(ids(f.records->packages({.state = PackageState::queued}).value()), (std::vector<std::string>{"p3", "p1"}));
  EXPECT_EQ(ids(f.records->packages({.job = "fixes"}).value()), (std::vector<std::string>{"p2"}));
  EXPECT_EQ(ids(f.records->packages({.search = "100%"}).value()), std::vector<std::string>{});
  EXPECT_EQ(ids(f.records->packages({.limit = 2}).value()), (std::vector<std::string>{"p3", "p2"}));
}

TEST(Records, DeliveriesAreKeptInOrder) {
  Fixture f;
  f.add("p1", "x");
  DeliveryRecord a{"p1", "/srv/out", "/srv/out/x.zip", "rename", "delivered", "", f.clock.now()};
  DeliveryRecord b{"p1", "/srv/b", std::nullopt, "skip", "skipped", "skipped: /srv/b/x.zip exists", f.clock.now()};
  ASSERT_TRUE(f.records->add_delivery(a));
  ASSERT_TRUE(f.records->add_delivery(b));
  EXPECT_EQ(f.records->deliveries("p1").value(), (std::vector<DeliveryRecord>{a, b}));
  EXPECT_TRUE(f.records->deliveries("p2").value().empty());
  a.package_id = "p2";
  EXPECT_EQ(f.records->add_delivery(a).error().code, Errc::not_found);
}

TEST(Records, ForwardsAreKeptBesideDeliveriesWithTheirUser) {
  Fixture f;
  f.add("p1", "x");
  DeliveryRecord d{"p1", "/srv/out", "/srv/out/x.zip", "rename", "delivered", "", f.clock.now()};
  DeliveryRecord fw{"p1", "/srv/fw",     "/srv/fw/x.zip",       "overwrite", "delivered",
                    "",   f.clock.now(), DeliveryKind::forward, "carol"};
  ASSERT_TRUE(f.records->add_delivery(d));
  ASSERT_TRUE(f.records->add_delivery(fw));
  EXPECT_EQ(f.records->deliveries("p1").value(), (std::vector<DeliveryRecord>{d, fw}));
}

TEST(Records, DeletingAPackageTakesItsDeliveries) {
  Fixture f;
  f.add("p1", "x");
  f.add("p2", "y");
  ASSERT_TRUE(f.records->add_delivery({"p1", "/srv/out", "/srv/out/x.zip", "rename", "delivered", "", f.clock.now()}));
  ASSERT_TRUE(f.records->delete_package("p1"));
  EXPECT_EQ(f.records->package("p1").error().code, Errc::not_found);
  EXPECT_TRUE(f.records->deliveries("p1").value().empty());
  EXPECT_EQ(ids(f.records->packages({}).value()), (std::vector<std::string>{"p2"}));
  EXPECT_EQ(f.records->delete_package("p1").error().code, Errc::not_found);
}

// Retention keeps the newest keep_last whatever their age, and of the rest removes
// only finished packages older than the cutoff.
TEST(Records, ExpiredPackagesAreOldFinishedOnesBeyondKeepLast) {
  Fixture f;
  auto t0 = f.clock.now();
  for (auto [id, state] : {std::pair{"a", PackageState::succeeded},
                           {"b", PackageState::exporting},
                           {"c", PackageState::failed},
                           {"d", PackageState::cancelled},
                           {"e", PackageState::skipped},
                           {"f", PackageState::succeeded}}) {
    auto p = f.add(id, id);
    p.state = state;
    ASSERT_TRUE(f.records->update_package(p));
  }
  // Created at t0 .. t0+5s. Cutoff t0+3s: a, b, c are older; b is still exporting.
  EXPECT_EQ(ids(f.records->expired_packages(t0 + seconds(3), 2).value()), (std::vector<std::string>{"a", "c"}));
  // keep_last 4 protects c..f.
  EXPECT_EQ(ids(f.records->expired_packages(t0 + seconds(3), 4).value()), (std::vector<std::string>{"a"}));
  // keep_last 0 and a late cutoff: every finished one.
  EXPECT_EQ(ids(f.records->expired_packages(t0 + seconds(60), 0).value()),
            (std::vector<std::string>{"a", "c", "d", "e", "f"}));
  EXPECT_EQ(f.records->oldest_beyond(2).value(), t0);
  EXPECT_EQ(f.records->oldest_beyond(6).value(), std::nullopt);
}

TEST(Records, AJobRunStartsInOneTransaction) {
  Fixture f;
  auto state = f.records->job_state("nightly", f.clock.now()).value();
  EXPECT_EQ(state.last_fire, std::nullopt);
  PackageRecord p;
  p.id = "p1";
  p.name = "nightly-1";
  p.job = "nightly";
  p.created_at = f.clock.now();
  JobRun run{"nightly", f.clock.now(), "schedule", "", "p1", "queued", "", f.clock.now()};
  ASSERT_TRUE(f.records->start_job_run(p, run, f.clock.now()));
  EXPECT_EQ(f.records->package("p1").value(), p);
  EXPECT_EQ(f.records->job_state("nightly", f.clock.now()).value().last_fire, f.clock.now());
  auto runs = f.records->job_runs("nightly", 10).value();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].package_name, "nightly-1");
  // A second start with the same package id changes nothing at all.
  run.due_at += seconds(60);
  EXPECT_EQ(f.records->start_job_run(p, run, f.clock.now() + seconds(60)).error().code, Errc::conflict);
  EXPECT_EQ(f.records->job_runs("nightly", 10).value().size(), 1u);
  EXPECT_EQ(f.records->job_state("nightly", f.clock.now()).value().last_fire, f.clock.now());
}

TEST(Records, ManualMaintenanceIsKeptUntilCleared) {
  Fixture f;
  EXPECT_EQ(f.records->maintenance().value(), std::nullopt);
  ManualMaintenance m{"release 42", "alice", f.clock.now()};
  ASSERT_TRUE(f.records->set_maintenance(m));
  m.reason = "release 43";
  ASSERT_TRUE(f.records->set_maintenance(m));
  f.reopen();
  EXPECT_EQ(f.records->maintenance().value(), m);
  ASSERT_TRUE(f.records->set_maintenance(std::nullopt));
  EXPECT_EQ(f.records->maintenance().value(), std::nullopt);
}

TEST(Records, FoldersAreRememberedOnce) {
  Fixture f;
  ASSERT_TRUE(f.records->remember_folder("/srv/out"));
  ASSERT_TRUE(f.records->remember_folder("/srv/out/"));
  ASSERT_TRUE(f.records->remember_folder("/srv/./a/../out"));
  ASSERT_TRUE(f.records->remember_folder("/srv/in"));
  EXPECT_EQ(f.records->folders().value(), (std::vector<fs::path>{"/srv/in", "/srv/out"}));
}

TEST(Records, InterruptedExportsBecomeFailed) {
  Fixture f;
  f.add("queued", "a");
  auto waiting = f.add("waiting", "b");
  auto running = f.add("running", "c");
  auto done = f.add("done", "d");
  waiting.state = PackageState::waiting_window;
  running.state = PackageState::exporting;
  done.state = PackageState::succeeded;
  for (auto* p : {&waiting, &running, &done}) ASSERT_TRUE(f.records->update_package(*p));
  auto failed = f.records->fail_interrupted();
  ASSERT_TRUE(failed) << failed.error().message;
  EXPECT_EQ(*failed, (std::vector<std::string>{"queued", "waiting", "running"}));
  auto r = f.records->package("running").value();
  EXPECT_EQ(r.state, PackageState::failed);
  EXPECT_EQ(r.error, "interrupted: ferryd stopped during the export");
  EXPECT_EQ(r.ended_at, f.clock.now());
  EXPECT_EQ(f.records->package("done").value(), done);
  EXPECT_TRUE(f.records->fail_interrupted().value().empty());
}

TEST(Records, SequencesCountPerKey) {
  Fixture f;
  EXPECT_EQ(f.records->next_sequence("2026-01-01").value(), 1);
  EXPECT_EQ(f.records->next_sequence("2026-01-01").value(), 2);
  EXPECT_EQ(f.records->next_sequence("2026-01-02").value(), 1);
  f.reopen();
  EXPECT_EQ(f.records->next_sequence("2026-01-01").value(), 3);
}

TEST(Records, ReopenKeepsEverything) {
  Fixture f;
  auto p = every_field_set(f.clock.now());
  ASSERT_TRUE(f.records->insert_package(p));
  DeliveryRecord d{p.id, "/srv/out", "/srv/out/x.zip", "overwrite", "delivered", "", f.clock.now()};
  ASSERT_TRUE(f.records->add_delivery(d));
  ASSERT_TRUE(f.records->remember_folder("/srv/out"));
  f.reopen();
  EXPECT_EQ(f.records->package(p.id).value(), p);
  EXPECT_EQ(f.records->deliveries(p.id).value(), std::vector<DeliveryRecord>{d});
  EXPECT_EQ(f.records->folders().value(), std::vector<fs::path>{"/srv/out"});
}

TEST(Records, NewerSchemaIsRefused) {
  test::TempDir dir;
  test::FakeClock clock;
  auto path = dir.path() / "records.db";
  ASSERT_TRUE(Records::open(path, clock));
  {
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version = 99");
  }
  auto r = Records::open(path, clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_NE(r.error().message.find("the records database has schema version 99, but this ferry supports schema "
                                   "versions up to 6"),
            std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace ferry::records
