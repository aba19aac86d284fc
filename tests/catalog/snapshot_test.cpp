#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include "catalog/catalog_fixture.h"

namespace ferry::catalog {
namespace {

class SnapshotTest : public CatalogTest {
 protected:
  std::unique_ptr<Snapshot> snapshot_ok() {
    auto snap = catalog_->snapshot();
    EXPECT_TRUE(snap) << snap.error().message;
    return snap ? std::move(*snap) : nullptr;
  }

  static std::vector<std::string> addresses(const Snapshot& snap) {
    std::vector<std::string> out;
    auto objects = snap.objects().value();
    for (const auto& o : objects) out.push_back(o.address().to_string());
    return out;
  }
};

using V = std::vector<std::string>;

TEST_F(SnapshotTest, KeepsSeeingItsStateWhileTheCatalogIsWritten) {
  auto made = apply_ok({draft("dataset", "/f", "a", {{"v", 1}}), draft("task", "/t", "b"), draft("task", "/t", "c")});
  ASSERT_TRUE(catalog_->remove("task:/t/c"));
  auto snap = snapshot_ok();
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->revision(), 4);

  apply_ok({draft("dataset", "/f", "a", {{"v", 2}}), draft("task", "/t", "d")});
  ASSERT_TRUE(catalog_->remove("task:/t/b"));
  ASSERT_EQ(revision(), 7);

  EXPECT_EQ(snap->revision(), 4);
  EXPECT_EQ(addresses(*snap), (V{"dataset:/f/a", "task:/t/b"}));
  EXPECT_EQ(snap->objects().value()[0].revision, 1);
  EXPECT_EQ(snap->spec(made.items[0].guid).value(), nlohmann::json({{"v", 1}}));
  auto tombs = snap->tombstones(0).value();
  ASSERT_EQ(tombs.size(), 1u);
  EXPECT_EQ(tombs[0].address().to_string(), "task:/t/c");
  EXPECT_EQ(snap->spec(get_ok("task:/t/d").guid).error().code, Errc::not_found);

  auto fresh = snapshot_ok();
  EXPECT_EQ(fresh->revision(), 7);
  EXPECT_EQ(addresses(*fresh), (V{"dataset:/f/a", "task:/t/d"}));
  EXPECT_EQ(fresh->spec(made.items[0].guid).value(), nlohmann::json({{"v", 2}}));
  EXPECT_EQ(fresh->tombstones(4).value().size(), 1u);
}

TEST_F(SnapshotTest, ObjectsCarryRefsAndAttachmentsButNoSpec) {
  auto blob = store_text("select 1", "q.sql");
  auto ds =
      with_ref(draft("dataset", "/f", "orders", {{"query", "q"}, {"password", "s3cret"}}), "datasource:/shared/wh");
  ds.attachments.push_back(blob);
  apply_ok({draft("datasource", "/shared", "wh", {{"port", 5432}}), ds});
  auto snap = snapshot_ok();
  auto objects = snap->objects().value();
  ASSERT_EQ(objects.size(), 2u);
  const Object& orders = objects[0];
  auto stored = get_ok("dataset:/f/orders");
  EXPECT_EQ(orders.guid, stored.guid);
  EXPECT_EQ(orders.owner, "alice");
  EXPECT_EQ(orders.revision, stored.revision);
  EXPECT_EQ(orders.refs, stored.refs);
  EXPECT_EQ(orders.attachments, std::vector<Attachment>{blob});
  EXPECT_EQ(orders.spec, nlohmann::json::object());
  EXPECT_EQ(objects[1].spec, nlohmann::json::object());
  EXPECT_EQ(snap->spec(orders.guid).value(), stored.spec);
}

TEST_F(SnapshotTest, SpecOfSomethingThatIsNotAGuidIsInvalid) {
  auto snap = snapshot_ok();
  EXPECT_EQ(snap->revision(), 0);
  EXPECT_TRUE(snap->objects().value().empty());
  EXPECT_EQ(snap->spec("dataset:/f/a").error().code, Errc::invalid_argument);
  EXPECT_EQ(snap->spec("6f9619ff-8b86-d011-b42d-00cf4fc964ff").error().message,
            "no object with GUID 6f9619ff-8b86-d011-b42d-00cf4fc964ff in the catalog at revision 0");
}

TEST_F(SnapshotTest, DoesNotBlockWritersAndMayOutliveTheCatalog) {
  apply_ok({draft("task", "/", "a")});
  auto snap = snapshot_ok();
  for (int i = 0; i < 20; ++i) apply_ok({draft("task", "/", "n" + std::to_string(i))});
  catalog_.reset();
  EXPECT_EQ(snap->revision(), 1);
  EXPECT_EQ(addresses(*snap), (V{"task:/a"}));
  snap.reset();
  reopen();
  EXPECT_EQ(revision(), 21);
}

}  // namespace
}  // namespace ferry::catalog
