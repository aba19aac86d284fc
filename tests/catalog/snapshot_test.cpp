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

// The export's packed list: the same objects in the same order, each row giving back
// what objects() has but owner, timestamps and spec; refs resolve to rows.
TEST_F(SnapshotTest, ObjectTableHoldsWhatObjectsHoldWithoutOwnerTimesOrSpec) {
  auto a = store_text("a,b\n1,2\n", "rows.csv");
  auto b = store_text("select 1", "q.sql");
  auto ds = with_ref(draft("dataset", "/f", "orders", {{"password", "s3cret"}}), "datasource:/shared/wh");
  ds.attachments = {a, b};
  auto task = with_ref(with_ref(draft("task", "/t", "load"), "dataset:/f/orders"), "datasource:/shared/wh");
  apply_ok({draft("datasource", "/shared", "wh", {{"port", 5432}}), ds, task, draft("task", "/t", "idle")});
  auto snap = snapshot_ok();
  auto objects = snap->objects().value();
  auto table = snap->object_table().value();
  ASSERT_EQ(table.size(), objects.size());
  for (size_t i = 0; i < objects.size(); ++i) {
    Object expected = objects[i];
    expected.owner.clear();
    expected.created_at = expected.updated_at = {};
    Object row = table.object(i);
    EXPECT_EQ(row.guid, expected.guid);
    EXPECT_EQ(row.address(), expected.address());
    EXPECT_EQ(row.revision, expected.revision);
    EXPECT_EQ(row.refs, expected.refs);
    EXPECT_EQ(row.attachments, expected.attachments);
    EXPECT_EQ(row.owner, "");
    EXPECT_EQ(row.spec, nlohmann::json::object());
    EXPECT_EQ(table.find(expected.guid), i);
    for (const auto& ref : table.refs(i)) {
      ASSERT_TRUE(table.resolved(ref));
      EXPECT_EQ(table.guid(ref.target), table.ref_guid(ref));
    }
  }
  EXPECT_EQ(table.address(0).to_string(), "dataset:/f/orders");  // before datasource
  EXPECT_EQ(table.address(3).to_string(), "task:/t/load");
  ASSERT_EQ(table.refs(3).size(), 2u);  // in the order given
  EXPECT_EQ(table.refs(3)[0].target, 0u);
  EXPECT_EQ(table.refs(3)[1].target, 1u);
  EXPECT_TRUE(table.refs(2).empty());
  EXPECT_EQ(table.find("6f9619ff-8b86-d011-b42d-00cf4fc964ff"), std::nullopt);
}

// Built from Objects (plan() of vectors): a ref to a GUID that is no row keeps its GUID.
TEST(ObjectTable, KeepsTheGuidOfAReferenceToNoRow) {
  Object a;
  a.guid = "00000000-0000-4000-8000-000000000002";
  a.type = "task";
  a.folder = "/";
  a.name = "a";
  a.refs = {{"00000000-0000-4000-8000-000000000009", RefKind::contains},
            {"00000000-0000-4000-8000-000000000001", RefKind::uses}};
  Object b = a;
  b.guid = "00000000-0000-4000-8000-000000000001";
  b.name = "b";
  b.refs = {};
  ObjectTable table;
  table.add(a);
  table.add(b);
  table.seal();
  ASSERT_EQ(table.refs(0).size(), 2u);
  EXPECT_FALSE(table.resolved(table.refs(0)[0]));
  EXPECT_EQ(table.ref_guid(table.refs(0)[0]), "00000000-0000-4000-8000-000000000009");
  EXPECT_EQ(table.refs(0)[0].kind, RefKind::contains);
  EXPECT_TRUE(table.resolved(table.refs(0)[1]));
  EXPECT_EQ(table.refs(0)[1].target, 1u);
  EXPECT_TRUE(table.refs(1).empty());
  EXPECT_EQ(table.object(0).refs, a.refs);
  EXPECT_EQ(table.find(b.guid), 1u);
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
