// Catalog::rollback: an import's changes undone from the prior versions its deploy
// kept, on a real SQLite catalog.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "catalog/catalog.h"
#include "catalog/catalog_fixture.h"
#include "support/guids.h"

namespace ferry::catalog {
namespace {

using std::chrono::seconds;
using test::guid;
using ::testing::HasSubstr;

ObjectDraft with_guid(ObjectDraft d, int n) {
  d.guid = guid(n);
  return d;
}

/// What a rollback must bring back byte for byte: everything but revision and updated_at.
std::string content(const Object& o) {
  Object c = o;
  c.revision = 0;
  c.updated_at = {};
  return line(c);
}

class RollbackTest : public CatalogTest {
 protected:
  std::vector<DeployItem> deploy_ok(const std::vector<DeployStep>& steps, const std::string& import_id) {
    auto items = catalog_->deploy(steps, {import_id, "deployer"});
    EXPECT_TRUE(items) << items.error().message;
    return items ? *items : std::vector<DeployItem>{};
  }

  RollbackResult rollback_ok(const std::string& import_id) {
    auto r = catalog_->rollback(import_id);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : RollbackResult{};
  }

  Error rollback_error(const std::string& import_id) {
    auto r = catalog_->rollback(import_id);
    EXPECT_FALSE(r);
    return r ? Error{} : r.error();
  }

  /// a (dataset, with an attachment, using b and containing field c), b, c, and d
  /// (a task the import deletes).
  void seed() {
    sql_ = store_text("select 1", "q.sql");
    auto a = with_ref(with_ref(with_guid(draft("dataset", "/f", "a", {{"v", 1}, {"password", "s3cret"}}), 1), guid(2)),
                      guid(3), RefKind::contains);
    a.attachments.push_back(sql_);
    apply_ok({with_guid(draft("datasource", "/s", "b"), 2), with_guid(draft("field", "/f", "c"), 3), a,
              with_guid(draft("task", "/t", "d", {{"cron", "0 1 * * *"}}), 4)},
             "alice");
  }

  /// imp-1: a moved, with new spec, refs and attachment; d deleted; e created and
  /// used by a; f re-created after a manual delete.
  void deploy_imp1(const std::string& import_id = "imp-1") {
    auto csv = store_text("a,b\n", "x.csv");
    auto a = with_ref(with_guid(draft("dataset", "/g", "a2", {{"v", 2}}), 1), guid(5));
    a.attachments.push_back(csv);
    deploy_ok({DeployStep::upsert(with_guid(draft("task", "/t", "e"), 5)), DeployStep::upsert(a),
               DeployStep::remove(guid(4))},
              import_id);
  }

  Attachment sql_;
};

TEST_F(RollbackTest, RestoresUpdatedAndDeletedObjectsExactlyAndRemovesCreatedOnes) {
  seed();
  const std::string a_before = content(get_ok(guid(1)));
  const std::string d_before = content(get_ok(guid(4)));
  clock_.advance(seconds(10));
  deploy_imp1();
  const int64_t after_deploy = revision();
  ASSERT_NE(content(get_ok(guid(1))), a_before);
  clock_.advance(seconds(10));

  auto r = rollback_ok("imp-1");
  ASSERT_EQ(r.items.size(), 3u);  // in the order the import touched them
  EXPECT_EQ(r.items[0].guid, guid(5));
  EXPECT_EQ(r.items[0].action, RollbackAction::removed);
  EXPECT_EQ(r.items[0].address, "task:/t/e");
  EXPECT_EQ(r.items[1].guid, guid(1));
  EXPECT_EQ(r.items[1].action, RollbackAction::restored);
  EXPECT_EQ(r.items[1].address, "dataset:/f/a");
  EXPECT_EQ(r.items[2].guid, guid(4));
  EXPECT_EQ(r.items[2].action, RollbackAction::recreated);
  EXPECT_EQ(r.revision, after_deploy + 3);
  EXPECT_EQ(revision(), after_deploy + 3);
  for (const auto& i : r.items) EXPECT_GT(i.revision, after_deploy) << i.guid;

  // Byte-identical spec, refs (in order), attachments, name, folder, owner, created_at.
  auto a = get_ok(guid(1));
  EXPECT_EQ(content(a), a_before);
  EXPECT_EQ(a.spec.dump(), R"({"password":"s3cret","v":1})");
  EXPECT_EQ(a.updated_at, clock_.now());  // a change like any other
  EXPECT_EQ(content(get_ok(guid(4))), d_before);
  EXPECT_FALSE(catalog_->tombstone(guid(4)).value());  // back: no longer deleted
  EXPECT_FALSE(catalog_->find(guid(5)).value());
  // The removal is carried by incremental exports, but the object was never deleted here.
  auto tombs = catalog_->tombstones(after_deploy).value();
  ASSERT_EQ(tombs.size(), 1u);
  EXPECT_EQ(tombs[0].guid, guid(5));
  EXPECT_FALSE(catalog_->tombstone(guid(5)).value());
  // Changed objects are newer than the deploy, so an incremental export sees them.
  std::set<std::string> newer;
  auto listed = catalog_->list({}).value();
  for (const auto& o : listed)
    if (o.revision > after_deploy) newer.insert(o.guid);
  EXPECT_EQ(newer, (std::set<std::string>{guid(1), guid(4)}));
  auto snap = catalog_->snapshot().value();
  EXPECT_EQ(snap->tombstones(after_deploy).value().size(), 1u);

  // Importing the same objects again works as the first time: e is created again,
  // absent before (the rollback's tombstone does not count).
  deploy_imp1("imp-2");
  EXPECT_EQ(get_ok(guid(5)).address().to_string(), "task:/t/e");
  auto again = catalog_->prior_versions("imp-2").value();
  ASSERT_EQ(again.size(), 3u);
  EXPECT_FALSE(again[0].object);
  EXPECT_FALSE(again[0].tombstone);
}

TEST_F(RollbackTest, ARollbackCannotBeRepeatedAndAnUnknownImportRollsBackNothing) {
  seed();
  deploy_imp1();
  rollback_ok("imp-1");
  std::string before = dump();
  auto e = rollback_error("imp-1");
  EXPECT_EQ(e.code, Errc::conflict);
  EXPECT_EQ(e.message, "import imp-1 was rolled back already (catalog revision " + std::to_string(revision()) + ")");
  EXPECT_EQ(dump(), before);
  auto none = rollback_ok("imp-nothing");
  EXPECT_TRUE(none.items.empty());
  EXPECT_EQ(dump(), before);
}

TEST_F(RollbackTest, ALaterImportOfTheSameObjectsMustBeRolledBackFirst) {
  seed();
  const std::string a_before = content(get_ok(guid(1)));
  deploy_imp1();
  const std::string a_imp1 = content(get_ok(guid(1)));
  deploy_ok({DeployStep::upsert(with_guid(draft("dataset", "/f", "a", {{"v", 3}}), 1))}, "imp-2");
  std::string before = dump();
  auto e = rollback_error("imp-1");
  EXPECT_EQ(e.code, Errc::conflict);
  EXPECT_EQ(e.message, "import imp-1 cannot be rolled back; nothing was changed:\nimport imp-2 changed dataset:/f/a (" +
                           guid(1) +
                           ") after import imp-1; roll back import imp-2 first (ferryctl import rollback imp-2)");
  EXPECT_EQ(dump(), before);

  rollback_ok("imp-2");
  EXPECT_EQ(content(get_ok(guid(1))), a_imp1);
  rollback_ok("imp-1");  // imp-2 is rolled back: what imp-1 left is back
  EXPECT_EQ(content(get_ok(guid(1))), a_before);
}

TEST_F(RollbackTest, AnyOtherChangeSinceRefusesNamingTheObject) {
  seed();
  deploy_imp1();
  const int64_t left = get_ok(guid(1)).revision;
  apply_ok({with_guid(draft("dataset", "/g", "a2", {{"v", "edited"}}), 1)});
  std::string before = dump();
  auto e = rollback_error("imp-1");
  EXPECT_EQ(e.code, Errc::conflict);
  EXPECT_EQ(e.message, "import imp-1 cannot be rolled back; nothing was changed:\ndataset:/g/a2 (" + guid(1) +
                           "): changed since import imp-1 left it at revision " + std::to_string(left) +
                           " (now revision " + std::to_string(get_ok(guid(1)).revision) +
                           "), not by an import (ferryctl object apply or object delete); a rollback would undo that "
                           "change too, so it is refused: restore what you need by hand with ferryctl object apply");
  EXPECT_EQ(dump(), before);
}

TEST_F(RollbackTest, ADeletedCreatedObjectCountsAsAChange) {
  deploy_ok({DeployStep::upsert(with_guid(draft("task", "/t", "new"), 7))}, "imp-1");
  ASSERT_TRUE(catalog_->remove(guid(7)));
  auto e = rollback_error("imp-1");
  EXPECT_THAT(e.message, HasSubstr("task:/t/new (" + guid(7) +
                                   "): changed since import imp-1 left it at revision 1 "
                                   "(deleted since)"));
}

TEST_F(RollbackTest, WhatTheImportCreatedCannotGoWhileSomethingNewUsesIt) {
  deploy_ok({DeployStep::upsert(with_guid(draft("datasource", "/s", "wh"), 7))}, "imp-1");
  apply_ok({with_ref(with_guid(draft("dataset", "/f", "user"), 8), guid(7))});
  std::string before = dump();
  auto e = rollback_error("imp-1");
  EXPECT_EQ(e.message, "import imp-1 cannot be rolled back; nothing was changed:\ndatasource:/s/wh (" + guid(7) +
                           "): created by this import, so the rollback removes it, but it is referenced by "
                           "dataset:/f/user (" +
                           guid(8) + ") uses it since; change those first");
  EXPECT_EQ(dump(), before);
}

TEST_F(RollbackTest, APriorAddressTakenSinceRefuses) {
  apply_ok({with_guid(draft("task", "/t", "a"), 1)});
  deploy_ok({DeployStep::remove(guid(1))}, "imp-1");
  apply_ok({with_guid(draft("task", "/t", "a"), 2)});  // someone took the freed address
  auto e = rollback_error("imp-1");
  EXPECT_EQ(e.message,
            "import imp-1 cannot be rolled back; nothing was changed:\ntask:/t/a: name clash: the address "
            "is held by another object (" +
                guid(2) + ")");
}

TEST_F(RollbackTest, ARecreatedObjectGetsItsEarlierTombstoneBack) {
  apply_ok({with_guid(draft("task", "/t", "a"), 1)});
  auto gone = catalog_->remove(guid(1)).value();
  deploy_ok({DeployStep::upsert(with_guid(draft("task", "/t", "a"), 1))}, "imp-1");  // on_deleted_in_target: recreate
  EXPECT_FALSE(catalog_->tombstone(guid(1)).value());
  auto r = rollback_ok("imp-1");
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].action, RollbackAction::removed);
  auto tomb = catalog_->tombstone(guid(1)).value();
  ASSERT_TRUE(tomb);  // deleted here again, as before the import
  EXPECT_EQ(tomb->deleted_at, gone[0].deleted_at);
  EXPECT_EQ(tomb->revision, r.revision);
}

TEST_F(RollbackTest, AnEarlierImportCanBeRolledBackAfterALaterOneOfOtherObjects) {
  deploy_ok({DeployStep::upsert(with_guid(draft("task", "/t", "a"), 1))}, "imp-1");
  deploy_ok({DeployStep::upsert(with_guid(draft("task", "/t", "b"), 2))}, "imp-2");
  deploy_ok({DeployStep::upsert(with_guid(draft("task", "/t", "a", {{"v", 2}}), 1))}, "imp-3");
  rollback_ok("imp-3");
  rollback_ok("imp-1");
  EXPECT_FALSE(catalog_->find(guid(1)).value());
  EXPECT_TRUE(catalog_->find(guid(2)).value());
}

}  // namespace
}  // namespace ferry::catalog
