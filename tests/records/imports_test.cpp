#include "records/records.h"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace ferry::records {
namespace {
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
  /// An import created now (so later ones are newer) of package_id with sha.
  ImportRecord add(std::string id, ImportState state = ImportState::received, std::string package_id = "pkg-1",
                   std::string sha = "aa") {
    ImportRecord r;
    r.id = std::move(id);
    r.package_id = std::move(package_id);
    r.package_sha256 = std::move(sha);
    r.package_name = "test-full-1";
    r.origin = "ferryctl";
    r.file = "test-full-1.zip";
    r.user = "alice";
    r.state = state;
    r.created_at = clock.now();
    r.objects = {{"dataset", "dataset:/a", "g1", "g1", "create", "", "", {}}};
    clock.advance(seconds(1));
    auto st = records->insert_import(r);
    if (!st) throw std::runtime_error(st.error().message);
    return r;
  }
};

ImportRecord every_field_set(TimePoint t) {
  ImportRecord r;
  r.id = "7e57c0de-1d2a-4c3b-9e4f-5a6b7c8d9e0f";
  r.package_id = "0f8c2b6e-1d2a-4c3b-9e4f-5a6b7c8d9e0f";
  r.package_name = "test-full-20260101-101500-1";
  r.package_sha256 = std::string(64, 'b');
  r.source_environment = "test";
  r.file = "/home/alice/test-full-20260101-101500-1.zip";
  r.origin = "watch:/srv/in";
  r.user = "ferry";
  r.state = ImportState::partially_deployed;
  r.created_at = t;
  r.ended_at = t + seconds(3);
  r.error = "1 of 3 objects failed";
  r.objects = {
      {"datasource", "datasource:/shared/warehouse", "g-ds", "g-ds", "update", "updated", "", {}},
      {"dataset",
       "dataset:/finance/orders",
       "g-o",
       "g-o2",
       "create",
       "failed",
       "dataset:/finance/orders (g-o): input datasource:/x (g-x) not matched: not in the package and not in this "
       "environment",
       {"secret password missing", "override applied: /spec/host"}},
      {"dataset", "dataset:/finance/old", "g-old", "", "delete", "deleted", "", {}},
  };
  r.warnings = {"package is signed by a key that expires soon"};
  r.report_file = "/srv/in/processed/test-full-20260101-101500-1.report.json";
  r.revision_from = 120;
  r.revision_to = 180;
  r.previous_package_id = "0f8c2b6e-1d2a-4c3b-9e4f-000000000001";
  r.package_file = "/var/lib/ferry/imports/7e57c0de-1d2a-4c3b-9e4f-5a6b7c8d9e0f.zip";
  r.policy = {{"id_policy", "new"}, {"into", "/copy2"}, {"only", {"dataset:/finance/orders"}}};
  return r;
}

std::vector<std::string> ids(const std::vector<ImportRecord>& list) {
  std::vector<std::string> out;
  for (const auto& r : list) out.push_back(r.id);
  return out;
}

TEST(ImportRecords, StatesRoundTrip) {
  for (auto s : {ImportState::received, ImportState::waiting_window, ImportState::staged, ImportState::deploying,
                 ImportState::deployed, ImportState::unchanged, ImportState::partially_deployed, ImportState::failed,
                 ImportState::rejected, ImportState::rolled_back}) {
    EXPECT_EQ(parse_import_state(to_string(s)), s);
  }
  EXPECT_EQ(to_string(ImportState::partially_deployed), "partially_deployed");
  EXPECT_EQ(to_string(ImportState::rolled_back), "rolled_back");
  EXPECT_FALSE(parse_import_state("succeeded"));
}

TEST(ImportRecords, EveryFieldRoundTrips) {
  Fixture f;
  auto r = every_field_set(f.clock.now());
  ASSERT_TRUE(f.records->insert_import(r));
  EXPECT_EQ(f.records->import(r.id).value(), r);
  ImportRecord bare;
  bare.id = "11111111-0000-0000-0000-000000000000";
  bare.created_at = f.clock.now();
  ASSERT_TRUE(f.records->insert_import(bare));
  EXPECT_EQ(f.records->import(bare.id).value(), bare);  // nullopts and empty lists survive
  f.reopen();
  EXPECT_EQ(f.records->import(r.id).value(), r);
}

TEST(ImportRecords, InsertTwiceIsAConflictAndChangesNothing) {
  Fixture f;
  auto r = f.add("i1111111-0000");
  auto changed = r;
  changed.objects.clear();
  auto st = f.records->insert_import(changed);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::conflict);
  EXPECT_EQ(st.error().message, "import i1111111-0000 is already recorded");
  EXPECT_EQ(f.records->import(r.id).value(), r);
}

TEST(ImportRecords, UpdateReplacesTheRowAndItsObjects) {
  Fixture f;
  auto r = f.add("i1111111-0000");
  r.state = ImportState::deployed;
  r.ended_at = f.clock.now();
  r.objects = {{"dataset", "dataset:/b", "g2", "g2", "update", "updated", "", {"w"}},
               {"dataset", "dataset:/c", "g3", "g3", "unchanged", "unchanged", "", {}}};
  r.report_file = "/srv/in/processed/x.report.json";
  ASSERT_TRUE(f.records->update_import(r));
  EXPECT_EQ(f.records->import(r.id).value(), r);
  r.objects.clear();
  ASSERT_TRUE(f.records->update_import(r));
  EXPECT_EQ(f.records->import(r.id).value(), r);
  r.id = "missing";
  auto st = f.records->update_import(r);
  EXPECT_EQ(st.error().code, Errc::not_found);
  EXPECT_EQ(st.error().message, "no import missing");
}

TEST(ImportRecords, LookupByUniquePrefix) {
  Fixture f;
  f.add("abcdef01-1111");
  f.add("abcdef02-2222");
  EXPECT_EQ(f.records->import("abcdef01").value().id, "abcdef01-1111");
  EXPECT_EQ(f.records->import("abcdef01").value().objects.size(), 1u);
  EXPECT_EQ(f.records->import("abcdef0").error().message, "no import abcdef0");  // too short for a prefix
  f.add("abcdef01-3333");
  auto both = f.records->import("abcdef01");
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().code, Errc::conflict);
  EXPECT_EQ(both.error().message,
            "import id prefix abcdef01 is ambiguous: it matches abcdef01-1111, abcdef01-3333; give more characters");
  EXPECT_EQ(f.records->import("zzzzzzzzzz").error().code, Errc::not_found);
}

TEST(ImportRecords, ImportsAndPackagesHaveSeparateIds) {
  Fixture f;
  f.add("abcdef01-1111");
  EXPECT_EQ(f.records->package("abcdef01-1111").error().message, "no package abcdef01-1111");
}

TEST(ImportRecords, ListIsNewestFirstAndFilters) {
  Fixture f;
  f.add("i1", ImportState::deployed);
  f.add("i2", ImportState::failed);
  f.add("i3", ImportState::deployed);
  auto all = f.records->imports({}).value();
  EXPECT_EQ(ids(all), (std::vector<std::string>{"i3", "i2", "i1"}));
  EXPECT_TRUE(all.front().objects.empty());  // omitted by default
  EXPECT_EQ(f.records->imports({.objects = ImportObjects::included}).value().front().objects.size(), 1u);
  EXPECT_EQ(ids(f.records->imports({.state = ImportState::deployed}).value()), (std::vector<std::string>{"i3", "i1"}));
  EXPECT_EQ(ids(f.records->imports({.state = ImportState::staged}).value()), std::vector<std::string>{});
  EXPECT_EQ(ids(f.records->imports({.limit = 1}).value()), std::vector<std::string>{"i3"});
}

TEST(ImportRecords, FindImportReturnsTheFirstSuccessfulImportOfThatPackage) {
  Fixture f;
  EXPECT_EQ(f.records->find_import("pkg-1", "aa").value(), std::nullopt);
  f.add("failed", ImportState::failed);
  f.add("staged", ImportState::staged);
  f.add("rolled", ImportState::rolled_back);
  f.add("other-sha", ImportState::deployed, "pkg-1", "bb");
  f.add("other-pkg", ImportState::deployed, "pkg-2", "aa");
  EXPECT_EQ(f.records->find_import("pkg-1", "aa").value(), std::nullopt);
  auto first = f.add("unchanged", ImportState::unchanged);
  f.add("deployed", ImportState::deployed);
  auto found = f.records->find_import("pkg-1", "aa").value();
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, first);
  EXPECT_EQ(f.records->find_import("pkg-1", "bb").value()->id, "other-sha");
}

TEST(ImportRecords, LastImportedRevisionAndImportedPackagesCountOnlyLandedImports) {
  Fixture f;
  EXPECT_EQ(f.records->last_imported_revision("test").value(), std::nullopt);
  auto with_range = [&](std::string id, ImportState state, std::string package, int64_t from, int64_t to,
                        std::string source = "test") {
    ImportRecord r = f.add(id, ImportState::received, package);
    r.state = state;
    r.source_environment = std::move(source);
    r.revision_from = from;
    r.revision_to = to;
    r.previous_package_id = "before-" + package;
    ASSERT_TRUE(f.records->update_import(r));
    EXPECT_EQ(f.records->import(id).value(), r);
  };
  with_range("a", ImportState::deployed, "p1", 0, 10);
  with_range("b", ImportState::failed, "p3", 20, 30);
  with_range("c", ImportState::waiting_predecessor, "p4", 30, 40);
  with_range("d", ImportState::deployed, "p9", 0, 99, "other");
  EXPECT_EQ(f.records->last_imported_revision("test").value(), 10);
  with_range("e", ImportState::partially_deployed, "p2", 10, 20);
  EXPECT_EQ(f.records->last_imported_revision("test").value(), 20);
  EXPECT_TRUE(f.records->package_imported("p2").value());
  EXPECT_FALSE(f.records->package_imported("p3").value());
  EXPECT_FALSE(f.records->package_imported("p4").value());
}

TEST(ImportRecords, InterruptedImportsBecomeFailed) {
  Fixture f;
  f.add("received", ImportState::received);
  f.add("waiting", ImportState::waiting_window);
  f.add("deploying", ImportState::deploying);
  auto staged = f.add("staged", ImportState::staged);
  auto deployed = f.add("deployed", ImportState::deployed);
  f.add("predecessor", ImportState::waiting_predecessor);
  auto failed = f.records->fail_interrupted_imports();
  ASSERT_TRUE(failed) << failed.error().message;
  EXPECT_EQ(*failed, (std::vector<std::string>{"received", "waiting", "deploying", "predecessor"}));
  auto r = f.records->import("deploying").value();
  EXPECT_EQ(r.state, ImportState::failed);
  EXPECT_EQ(r.error, "interrupted: ferryd stopped during the import");
  EXPECT_EQ(r.ended_at, f.clock.now());
  EXPECT_EQ(f.records->import("staged").value(), staged);
  EXPECT_EQ(f.records->import("deployed").value(), deployed);
  EXPECT_TRUE(f.records->fail_interrupted_imports().value().empty());
}

TEST(ImportRecords, AVersion1DatabaseIsMigratedAndKeepsItsPackages) {
  Fixture f;
  PackageRecord p;
  p.id = "p1";
  p.created_at = f.clock.now();
  ASSERT_TRUE(f.records->insert_package(p));
  f.records.reset();
  {  // what ferry with schema version 1 left behind
    SQLite::Database db((f.dir.path() / "records.db").string(), SQLite::OPEN_READWRITE);
    db.exec(
        "DROP TABLE import_submissions; DROP TABLE job_runs; DROP TABLE job_state; DROP TABLE maintenance; ALTER TABLE "
        "packages DROP COLUMN retry_of; ALTER TABLE deliveries DROP COLUMN kind; "
        "ALTER TABLE deliveries DROP COLUMN user_name; DROP TABLE import_objects; DROP TABLE imports; "
        "PRAGMA user_version = 1");
  }
  f.reopen();
  EXPECT_EQ(f.records->package("p1").value(), p);
  auto r = f.add("i1", ImportState::deployed);
  EXPECT_EQ(f.records->import("i1").value(), r);
}

}  // namespace
}  // namespace ferry::records

namespace ferry::records {
namespace {

Submission failed_submission(TimePoint t) {
  Submission s;
  s.state = "submission_failed";
  s.reason = "exit status 3";
  s.exit_status = 3;
  s.stderr_tail = "no such queue\n";
  s.attempts = 1;
  s.started_at = t;
  s.ended_at = t + seconds(2);
  return s;
}

TEST(ImportSubmissions, AreStoredPerObjectAndSurviveRecordUpdates) {
  Fixture f;
  auto r = f.add("i1", ImportState::deployed);
  r.objects.push_back({"task", "task:/b", "g2", "g2", "update", "updated", "", {}});
  ASSERT_TRUE(f.records->update_import(r));
  EXPECT_TRUE(f.records->import("i1").value().submissions.empty());

  Submission running{"submitting", "", std::nullopt, "", 1, f.clock.now(), std::nullopt};
  auto failed = failed_submission(f.clock.now());
  ASSERT_TRUE(f.records->set_submissions("i1", {{0, running}, {1, failed}}));
  r.state = ImportState::rolled_back;  // a later update of the record keeps them
  ASSERT_TRUE(f.records->update_import(r));

  auto back = f.records->import("i1").value();
  EXPECT_EQ(back.objects[0].submission, running);
  EXPECT_EQ(back.objects[1].submission, failed);
  EXPECT_EQ(back.submissions, (std::map<std::string, int64_t>{{"submission_failed", 1}, {"submitting", 1}}));
  auto listed = f.records->imports({}).value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].submissions, back.submissions);

  auto missing = f.records->set_submissions("i1", {{2, running}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().message, "import i1 has no object 2");
}

TEST(ImportSubmissions, InterruptedOnesBecomeFailed) {
  Fixture f;
  f.add("i1", ImportState::deployed);
  f.add("i2", ImportState::deployed);
  auto start = f.clock.now();
  Submission running{"submitting", "", std::nullopt, "", 2, start, std::nullopt};
  ASSERT_TRUE(f.records->set_submissions("i1", {{0, running}}));
  ASSERT_TRUE(f.records->set_submissions("i2", {{0, failed_submission(start)}}));
  f.clock.advance(seconds(5));
  auto ids = f.records->fail_interrupted_submissions();
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_EQ(*ids, std::vector<std::string>{"i1"});
  auto s = f.records->import("i1").value().objects[0].submission;
  EXPECT_EQ(s.state, "submission_failed");
  EXPECT_EQ(s.reason, "interrupted: ferryd stopped");
  EXPECT_EQ(s.attempts, 2);
  EXPECT_EQ(s.ended_at, f.clock.now());
  EXPECT_EQ(f.records->import("i2").value().objects[0].submission, failed_submission(start));
  EXPECT_TRUE(f.records->fail_interrupted_submissions().value().empty());
}

}  // namespace
}  // namespace ferry::records
