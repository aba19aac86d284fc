#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include "catalog/catalog_fixture.h"
#include "support/guids.h"

namespace ferry::catalog {
namespace {

using std::chrono::seconds;

using test::guid;  // a fixed GUID per number, as an importer would take them from a package

ObjectDraft with_guid(ObjectDraft d, int n) {
  d.guid = guid(n);
  return d;
}

class DeployTest : public CatalogTest {
 protected:
  std::vector<DeployItem> deploy_ok(const std::vector<DeployStep>& steps, const std::string& import_id = "imp-1") {
    auto items = catalog_->deploy(steps, {import_id, "deployer"});
    EXPECT_TRUE(items) << items.error().message;
    return items ? *items : std::vector<DeployItem>{};
  }

  Error deploy_error(const std::vector<DeployStep>& steps, const std::string& import_id = "imp-1") {
    auto items = catalog_->deploy(steps, {import_id, "deployer"});
    EXPECT_FALSE(items);
    return items ? Error{} : items.error();
  }

  std::vector<PriorVersion> versions(const std::string& import_id = "imp-1") {
    auto v = catalog_->prior_versions(import_id);
    EXPECT_TRUE(v) << v.error().message;
    return v ? *v : std::vector<PriorVersion>{};
  }
};

using Step = DeployStep;

TEST_F(DeployTest, CreatesWithTheGivenGuidsInStepOrder) {
  clock_.advance(seconds(3));
  auto items =
      deploy_ok({Step::upsert(with_guid(draft("datasource", "/shared", "wh"), 1)),
                 Step::upsert(with_ref(with_guid(draft("dataset", "/f", "orders"), 2), "datasource:/shared/wh")),
                 Step::upsert(with_ref(with_guid(draft("task", "/t", "load"), 3), guid(2)))});
  ASSERT_EQ(items.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(items[i].guid, guid(i + 1));
    EXPECT_EQ(items[i].action, DeployAction::created);
    EXPECT_EQ(items[i].revision, i + 1);
  }
  EXPECT_EQ(items[1].address, "dataset:/f/orders");
  auto load = get_ok("task:/t/load");
  EXPECT_EQ(load.refs, (std::vector<Ref>{{guid(2), RefKind::uses}}));
  EXPECT_EQ(load.owner, "deployer");
  EXPECT_EQ(load.created_at, clock_.now());
  EXPECT_EQ(get_ok("dataset:/f/orders").refs, (std::vector<Ref>{{guid(1), RefKind::uses}}));
  auto stored = versions();
  ASSERT_EQ(stored.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(stored[i].guid, guid(i + 1));
    EXPECT_EQ(stored[i].seq, i + 1);
    EXPECT_FALSE(stored[i].object);
    EXPECT_FALSE(stored[i].tombstone);
  }
}

// An importer hands over a spec's text alone (no tree): written as is for a new
// object, parsed only to compare with an object already here.
TEST_F(DeployTest, ASpecGivenAsTextAloneIsWrittenAndComparedAsItsTree) {
  auto text_only = [](ObjectDraft d, const std::string& text) {
    d.spec = nullptr;
    d.spec_text = std::make_shared<const std::string>(text);
    return d;
  };
  auto items = deploy_ok({Step::upsert(text_only(with_guid(draft("dataset", "/f", "a"), 1), R"({"rows":1})"))});
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].action, DeployAction::created);
  EXPECT_EQ(get_ok("dataset:/f/a").spec, (nlohmann::json{{"rows", 1}}));
  items = deploy_ok({Step::upsert(text_only(with_guid(draft("dataset", "/f", "a"), 1), R"({"rows":1})"))}, "imp-2");
  EXPECT_EQ(items[0].action, DeployAction::unchanged);
  items = deploy_ok({Step::upsert(text_only(with_guid(draft("dataset", "/f", "a"), 1), R"({"rows":2})"))}, "imp-3");
  EXPECT_EQ(items[0].action, DeployAction::updated);
  EXPECT_EQ(get_ok("dataset:/f/a").spec, (nlohmann::json{{"rows", 2}}));
}

TEST_F(DeployTest, EveryUpsertNeedsAGuidAndEveryDeployAnImportId) {
  auto e = deploy_error({Step::upsert(at(draft("dataset", "/f", "a"), "pkg:objects/1"))});
  EXPECT_EQ(e.code, Errc::invalid_argument);
  EXPECT_EQ(e.message, "pkg:objects/1: dataset:/f/a: no GUID given; every object of a deploy needs one");
  auto no_id = catalog_->deploy({Step::upsert(with_guid(draft("dataset", "/f", "a"), 1))}, {"", "deployer"});
  ASSERT_FALSE(no_id);
  EXPECT_EQ(no_id.error().code, Errc::invalid_argument);
  EXPECT_EQ(no_id.error().message, "a deploy needs an import id");
  EXPECT_EQ(revision(), 0);
}

TEST_F(DeployTest, AFailingStepChangesNothingAndStoresNoVersions) {
  apply_ok({with_guid(draft("dataset", "/f", "a", {{"v", 1}}), 1), with_guid(draft("task", "/t", "c"), 3)});
  std::string before = dump();
  clock_.advance(seconds(1));
  auto e = deploy_error({Step::upsert(with_guid(draft("dataset", "/f", "a", {{"v", 2}}), 1)),
                         Step::upsert(with_guid(draft("dataset", "/f", "b"), 2)), Step::remove(guid(3)),
                         Step::upsert(with_ref(with_guid(draft("task", "/t", "bad"), 4), "task:/t/nowhere"))});
  EXPECT_EQ(e.code, Errc::conflict);
  EXPECT_EQ(e.message,
            "task:/t/bad: reference to task:/t/nowhere not found: not in this deploy and not in the catalog");
  EXPECT_EQ(dump(), before);
  EXPECT_TRUE(versions().empty());
}

TEST_F(DeployTest, EveryProblemIsReportedIncludingRemoves) {
  apply_ok({with_guid(draft("calendar", "/", "c1"), 1), with_guid(draft("calendar", "/", "c2"), 2)});
  auto e = deploy_error({Step::remove("nonsense"), Step::remove(guid(9)),
                         Step::upsert(with_guid(draft("calendar", "/", "c3"), 3)), Step::remove(guid(1)),
                         Step::remove(guid(1))});
  EXPECT_EQ(e.code, Errc::invalid_argument);
  EXPECT_EQ(e.message,
            "step 1: 'nonsense' is not a GUID\n"
            "step 2: cannot delete " +
                guid(9) +
                ": no object with that GUID in the catalog\n"
                "step 5: calendar:/c1 (" +
                guid(1) + "): deleted twice in this deploy");
  // The quota counts what the deploy deletes: one out, one in.
  auto items = deploy_ok({Step::remove(guid(1)), Step::upsert(with_guid(draft("calendar", "/", "c3"), 3))});
  EXPECT_EQ(items[0].action, DeployAction::deleted);
  EXPECT_EQ(items[1].action, DeployAction::created);
}

TEST_F(DeployTest, PriorVersionsAreTheExactOldRowsOrAbsence) {
  auto blob = store_text("select 1", "q.sql");
  auto a = with_ref(with_guid(draft("dataset", "/f", "a", {{"v", 1}, {"password", "s3cret"}}), 1), guid(3),
                    RefKind::contains);
  a.attachments.push_back(blob);
  apply_ok({a, with_guid(draft("task", "/t", "gone"), 2), with_guid(draft("field", "/f", "c"), 3),
            with_guid(draft("task", "/t", "same"), 4), with_guid(draft("task", "/t", "doomed"), 6)});
  auto gone = catalog_->remove(guid(2)).value();
  std::string old_a = line(get_ok(guid(1)));
  std::string old_doomed = line(get_ok(guid(6)));
  clock_.advance(seconds(60));

  auto items = deploy_ok({Step::upsert(with_guid(draft("task", "/t", "gone"), 2)),              // re-created
                          Step::upsert(with_guid(draft("task", "/t", "same"), 4)),              // unchanged
                          Step::upsert(with_guid(draft("dataset", "/f", "a", {{"v", 2}}), 1)),  // updated
                          Step::remove(guid(6)),                                                // deleted
                          Step::upsert(with_guid(draft("task", "/t", "new"), 5))});             // created
  std::vector<DeployAction> actions;
  for (const auto& item : items) actions.push_back(item.action);
  EXPECT_EQ(actions, (std::vector<DeployAction>{DeployAction::created, DeployAction::unchanged, DeployAction::updated,
                                                DeployAction::deleted, DeployAction::created}));
  EXPECT_EQ(items[0].revision, 7);
  EXPECT_EQ(items[1].revision, 4);  // unchanged keeps its revision
  EXPECT_EQ(items[2].revision, 8);
  EXPECT_EQ(items[3].revision, 9);
  EXPECT_EQ(items[3].address, "task:/t/doomed");
  EXPECT_EQ(revision(), 10);

  auto stored = versions();
  ASSERT_EQ(stored.size(), 4u);  // nothing for the unchanged object
  EXPECT_EQ(stored[0].guid, guid(2));
  EXPECT_FALSE(stored[0].object);
  ASSERT_TRUE(stored[0].tombstone);
  EXPECT_EQ(stored[0].tombstone->revision, gone[0].revision);
  EXPECT_EQ(stored[0].tombstone->deleted_at, gone[0].deleted_at);
  EXPECT_EQ(stored[0].tombstone->address().to_string(), "task:/t/gone");
  EXPECT_EQ(stored[1].guid, guid(1));
  ASSERT_TRUE(stored[1].object);
  EXPECT_EQ(line(*stored[1].object), old_a);
  EXPECT_EQ(stored[2].guid, guid(6));
  ASSERT_TRUE(stored[2].object);
  EXPECT_EQ(line(*stored[2].object), old_doomed);
  EXPECT_EQ(stored[3].guid, guid(5));
  EXPECT_FALSE(stored[3].object);
  EXPECT_FALSE(stored[3].tombstone);
  EXPECT_EQ((std::vector<int64_t>{stored[0].seq, stored[1].seq, stored[2].seq, stored[3].seq}),
            (std::vector<int64_t>{1, 2, 3, 4}));
  // The revision each step left its object (or the tombstone) at.
  EXPECT_EQ((std::vector<int64_t>{stored[0].after_revision, stored[1].after_revision, stored[2].after_revision,
                                  stored[3].after_revision}),
            (std::vector<int64_t>{7, 8, 9, items[4].revision}));
  EXPECT_EQ(items[4].revision, 10);
  EXPECT_TRUE(versions("imp-other").empty());
}

TEST_F(DeployTest, OnlyTheFirstPriorVersionPerImportCounts) {
  auto one = deploy_ok({Step::upsert(with_guid(draft("task", "/t", "a", {{"v", 1}}), 1))}, "imp-1");
  auto two = deploy_ok({Step::upsert(with_guid(draft("task", "/t", "a", {{"v", 2}}), 1)),
                        Step::upsert(with_guid(draft("task", "/t", "b"), 2))},
                       "imp-1");  // a non-atomic import: one call per object
  EXPECT_EQ(two[0].action, DeployAction::updated);
  auto stored = versions("imp-1");
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].guid, guid(1));
  EXPECT_FALSE(stored[0].object);                        // still absent: the state before imp-1
  EXPECT_EQ(stored[0].after_revision, two[0].revision);  // but where imp-1 left it last
  EXPECT_GT(two[0].revision, one[0].revision);
  EXPECT_EQ(stored[1].guid, guid(2));
  EXPECT_EQ(stored[1].seq, 2);
  EXPECT_EQ(stored[1].after_revision, two[1].revision);
  deploy_ok({Step::upsert(with_guid(draft("task", "/t", "a", {{"v", 3}}), 1))}, "imp-2");
  auto later = versions("imp-2");
  ASSERT_EQ(later.size(), 1u);
  ASSERT_TRUE(later[0].object);
  EXPECT_EQ(later[0].object->spec, nlohmann::json({{"v", 2}}));
}

TEST_F(DeployTest, RemoveIsRefusedWhileAnObjectTheDeployKeepsReferencesIt) {
  apply_ok({with_guid(draft("datasource", "/s", "wh"), 1), with_ref(with_guid(draft("dataset", "/f", "a"), 2), guid(1)),
            with_ref(with_guid(draft("task", "/t", "b"), 3), guid(1))});
  std::string before = dump();
  auto e =
      deploy_error({Step::remove(guid(1)), Step::upsert(with_ref(with_guid(draft("task", "/t", "new"), 4), guid(1)))});
  EXPECT_EQ(e.code, Errc::conflict);
  EXPECT_EQ(e.message, "task:/t/new: reference to " + guid(1) + ", which this deploy deletes (" + guid(1) +
                           ")\n"
                           "datasource:/s/wh (" +
                           guid(1) + "): cannot delete it: still referenced by dataset:/f/a (" + guid(2) +
                           ") uses it, task:/t/b (" + guid(3) + ") uses it; delete or change those in the same deploy");
  EXPECT_EQ(dump(), before);
  // Referrers that the same deploy deletes, or rewrites without the reference, are fine.
  auto items =
      deploy_ok({Step::upsert(with_guid(draft("task", "/t", "b"), 3)), Step::remove(guid(1)), Step::remove(guid(2))});
  EXPECT_EQ(items[1].action, DeployAction::deleted);
  EXPECT_TRUE(get_ok(guid(3)).refs.empty());
}

TEST_F(DeployTest, RemoveLeavesATombstoneAndDoesNotCascade) {
  apply_ok({with_ref(with_guid(draft("dataset", "/f", "table"), 1), guid(2), RefKind::contains),
            with_guid(draft("field", "/f", "id"), 2)});
  auto items = deploy_ok({Step::remove(guid(1))});
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].revision, 3);
  auto tomb = catalog_->tombstone(guid(1)).value();
  ASSERT_TRUE(tomb);
  EXPECT_EQ(tomb->address().to_string(), "dataset:/f/table");
  EXPECT_EQ(tomb->revision, 3);
  EXPECT_FALSE(catalog_->tombstone(guid(2)).value());
  EXPECT_EQ(get_ok(guid(2)).address().to_string(), "field:/f/id");  // the package lists every deletion
  EXPECT_FALSE(catalog_->find(guid(1)).value());
}

TEST_F(DeployTest, AnAddressFreedByARemoveMayBeTakenInTheSameDeploy) {
  apply_ok({with_guid(draft("datasource", "/s", "wh"), 1), with_guid(draft("dataset", "/f", "a"), 2)});
  auto items = deploy_ok({Step::upsert(with_guid(draft("datasource", "/other", "wh"), 3)),
                          Step::upsert(with_guid(draft("dataset", "/f", "a"), 4)), Step::remove(guid(1)),
                          Step::remove(guid(2))});
  EXPECT_EQ(items[0].action, DeployAction::created);
  EXPECT_EQ(get_ok("dataset:/f/a").guid, guid(4));
  EXPECT_EQ(get_ok("datasource:/other/wh").guid, guid(3));
  EXPECT_EQ(catalog_->tombstone(guid(2)).value()->address().to_string(), "dataset:/f/a");
}

TEST_F(DeployTest, AnObjectCannotBeUpsertedAndRemovedInOneDeploy) {
  apply_ok({with_guid(draft("task", "/t", "a"), 1)});
  auto e = deploy_error({Step::upsert(with_guid(draft("task", "/t", "a", {{"v", 2}}), 1)), Step::remove(guid(1))});
  EXPECT_EQ(e.message, "task:/t/a: this deploy also deletes this object (GUID " + guid(1) + "); do one or the other");
}

TEST_F(DeployTest, UpsertsAreCheckedLikeApply) {
  apply_ok({with_guid(draft("datasource", "/s", "wh"), 1), with_guid(draft("dataset", "/f", "a"), 2),
            with_guid(draft("task", "/t", "t"), 6)});
  auto e = deploy_error({Step::upsert(with_guid(draft("datasource", "/x", "wh"), 3)),
                         Step::upsert(with_guid(draft("dataset", "/f", "a"), 4)),
                         Step::upsert(with_guid(draft("dataset", "/t", "t"), 6)),
                         Step::upsert(with_guid(draft("widget", "/", "w"), 5))});
  EXPECT_EQ(e.code, Errc::invalid_argument);
  EXPECT_EQ(e.message, "dataset:/t/t: GUID " + guid(6) +
                           " is task:/t/t in the catalog; an object's type cannot change\n"
                           "widget:/w: unknown type 'widget'; known types: datasource, dataset, task, field, calendar\n"
                           "datasource:/x/wh: name clash: name 'wh' is held by datasource:/s/wh (" +
                           guid(1) +
                           ") (datasource names are unique across all folders: unique_name: type)\n"
                           "dataset:/f/a: name clash: the address is held by another object (" +
                           guid(2) + ")");
}

TEST_F(DeployTest, ReimportingTheSameObjectsIsUnchanged) {
  std::vector<Step> steps{Step::upsert(with_guid(draft("datasource", "/s", "wh", {{"port", 1}}), 1)),
                          Step::upsert(with_ref(with_guid(draft("dataset", "/f", "a"), 2), "datasource:/s/wh"))};
  deploy_ok(steps, "imp-1");
  auto again = deploy_ok(steps, "imp-2");
  EXPECT_EQ(again[0].action, DeployAction::unchanged);
  EXPECT_EQ(again[1].action, DeployAction::unchanged);
  EXPECT_EQ(again[1].revision, 2);
  EXPECT_EQ(revision(), 2);
  EXPECT_TRUE(versions("imp-2").empty());
}

// --- the importer's read helpers ---------------------------------------------------------

TEST_F(DeployTest, FindTombstoneAndReferrers) {
  apply_ok({with_guid(draft("datasource", "/s", "wh"), 1),
            with_ref(with_ref(with_guid(draft("dataset", "/f", "b"), 2), guid(1)), guid(1), RefKind::contains),
            with_ref(with_guid(draft("dataset", "/a", "x"), 3), "datasource:/s/wh"),
            with_guid(draft("task", "/", "t"), 4)});
  ASSERT_TRUE(catalog_->remove(guid(4)));
  EXPECT_EQ(catalog_->find("datasource:/s/wh").value()->guid, guid(1));
  EXPECT_EQ(catalog_->find(guid(2)).value()->address().to_string(), "dataset:/f/b");
  EXPECT_FALSE(catalog_->find("dataset:/f/none").value());
  EXPECT_FALSE(catalog_->find(guid(4)).value());
  EXPECT_EQ(catalog_->find("garbage").error().code, Errc::invalid_argument);
  EXPECT_EQ(catalog_->tombstone(guid(4)).value()->revision, 5);
  EXPECT_FALSE(catalog_->tombstone(guid(1)).value());
  EXPECT_EQ(catalog_->tombstone("task:/t").error().code, Errc::invalid_argument);
  auto referrers = catalog_->referrers(guid(1)).value();
  ASSERT_EQ(referrers.size(), 2u);  // b uses and contains it: listed once
  EXPECT_EQ(referrers[0].address().to_string(), "dataset:/a/x");
  EXPECT_EQ(referrers[1].address().to_string(), "dataset:/f/b");
  EXPECT_TRUE(catalog_->referrers(guid(3)).value().empty());
}

}  // namespace
}  // namespace ferry::catalog
