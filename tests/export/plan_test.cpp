#include "export/export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "export/export_fixture.h"

namespace ferry::exporter {
namespace {

using namespace ferry::exporter::test;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// A small catalog: a data source, two finance datasets (one in a subfolder), a sales
// task, and an ad-hoc query that must never leave.
struct Small : Snapshot {
  int warehouse = add("datasource", "/shared", "warehouse");
  int orders = add("dataset", "/finance", "orders");
  int ledger = add("dataset", "/finance/eu", "ledger");
  int report = add("task", "/sales", "report");
  int query = add("adhoc_query", "/finance", "peek");
};

Expected<Plan> select_from(const Snapshot& s, Selection sel) { return plan_of(s, selected(std::move(sel))); }

TEST(ExportPlan, FullTakesEveryExportableObjectAndSkipsOthersSilently) {
  Small s;
  auto p = plan_of(s, {});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_THAT(addresses(*p), ElementsAre("datasource:/shared/warehouse", "dataset:/finance/eu/ledger",
                                         "dataset:/finance/orders", "task:/sales/report"));
  EXPECT_TRUE(p->deleted.empty());
  EXPECT_EQ(p->revision_from, 0);
  EXPECT_EQ(p->revision_to, s.revision);
}

TEST(ExportPlan, FolderIsExactAndDoubleStarIsTheSubtree) {
  Small s;
  auto exact = select_from(s, {.folders = {"/finance"}});
  ASSERT_TRUE(exact) << exact.error().message;
  EXPECT_THAT(addresses(*exact), ElementsAre("dataset:/finance/orders"));
  auto tree = select_from(s, {.folders = {"/finance/**"}});
  ASSERT_TRUE(tree) << tree.error().message;
  EXPECT_THAT(addresses(*tree), ElementsAre("dataset:/finance/eu/ledger", "dataset:/finance/orders"));
  auto all = select_from(s, {.types = {"dataset", "task"}, .folders = {"/**"}});
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->objects.size(), 3u);
}

TEST(ExportPlan, ValuesOfOneFlagAreOredAndFlagsAreAnded) {
  Small s;
  auto ored = select_from(s, {.folders = {"/sales", "/shared"}});
  ASSERT_TRUE(ored) << ored.error().message;
  EXPECT_THAT(addresses(*ored), ElementsAre("datasource:/shared/warehouse", "task:/sales/report"));
  auto anded = select_from(s, {.types = {"dataset", "task"}, .folders = {"/sales", "/finance/**"}, .names = {"l*"}});
  ASSERT_TRUE(anded) << anded.error().message;
  EXPECT_THAT(addresses(*anded), ElementsAre("dataset:/finance/eu/ledger"));
  // guid and address are different flags too: both must hold.
  auto both = select_from(s, {.guids = {guid(s.orders)}, .addresses = {"dataset:/finance/eu/ledger"}});
  ASSERT_TRUE(both) << both.error().message;
  EXPECT_TRUE(both->objects.empty());
}

TEST(ExportPlan, NamesAreGlobs) {
  Small s;
  auto p = select_from(s, {.names = {"or?ers", "rep*", "[w]*"}});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_THAT(addresses(*p),
              ElementsAre("datasource:/shared/warehouse", "dataset:/finance/orders", "task:/sales/report"));
}

TEST(ExportPlan, AddressesAndGuidsSelectAndAcceptEitherForm) {
  Small s;
  auto p = select_from(s, {.addresses = {"task:/sales/report", guid(s.orders)}});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_THAT(addresses(*p), ElementsAre("dataset:/finance/orders", "task:/sales/report"));
}

TEST(ExportPlan, MissingAddressesAndGuidsAreEachNamed) {
  Small s;
  auto p = select_from(s, {.guids = {guid(99)}, .addresses = {"dataset:/finance/gone", "task:/sales/report"}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::invalid_argument);
  EXPECT_EQ(p.error().message,
            "selection: no object with guid " + guid(99) + "\nselection: no object with address dataset:/finance/gone");
  auto full = plan_of(s, {.select = {.addresses = {"dataset:/nowhere/x"}}});
  ASSERT_FALSE(full);
  EXPECT_THAT(full.error().message, HasSubstr("no object with address dataset:/nowhere/x"));
}

TEST(ExportPlan, MalformedSelectionValuesAreReported) {
  Small s;
  auto p = select_from(s, {.guids = {"not-a-guid"}, .addresses = {"noaddress"}, .folders = {"/a/../b"}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::invalid_argument);
  EXPECT_THAT(p.error().message, HasSubstr("guid \"not-a-guid\" is not a GUID"));
  EXPECT_THAT(p.error().message, HasSubstr("address \"noaddress\""));
  EXPECT_THAT(p.error().message, HasSubstr("folder \"/a/../b\""));
}

TEST(ExportPlan, SelectedNeedsASelection) {
  Small s;
  auto p = plan_of(s, {.mode = Mode::selected});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::invalid_argument);
  EXPECT_EQ(p.error().message,
            "selected export needs at least one of --guid, --address, --type, --folder, --object-name");
}

// table contains two fields; one field contains a sub-field; the table is selected.
TEST(ExportPlan, ContainsChildrenAlwaysTravelAndDeployFirst) {
  Snapshot s;
  int table = s.add("table", "/db", "a_orders");
  int f1 = s.add("field", "/db", "z_id");
  int f2 = s.add("field", "/db", "y_amount");
  int sub = s.add("field", "/db", "x_cents");
  s.add("field", "/db", "w_unrelated");
  s.contains(table, f1);
  s.contains(table, f2);
  s.contains(f2, sub);
  for (Mode mode : {Mode::selected, Mode::full}) {
    auto p = plan_of(s, {.mode = mode, .select = {.types = {"table"}}});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_THAT(addresses(*p),
                ElementsAre("field:/db/x_cents", "field:/db/y_amount", "field:/db/z_id", "table:/db/a_orders"));
  }
}

TEST(ExportPlan, UsesIsFollowedOnlyWithUpstream) {
  Small s;
  s.uses(s.orders, s.warehouse);
  auto without = select_from(s, {.addresses = {"dataset:/finance/orders"}});
  ASSERT_TRUE(without) << without.error().message;
  EXPECT_THAT(addresses(*without), ElementsAre("dataset:/finance/orders"));
  auto r = selected({.addresses = {"dataset:/finance/orders"}});
  r.include_upstream = true;
  auto with = plan_of(s, r);
  ASSERT_TRUE(with) << with.error().message;
  EXPECT_THAT(addresses(*with), ElementsAre("datasource:/shared/warehouse", "dataset:/finance/orders"));
}

// task contains step; step uses dataset; dataset uses datasource and contains a field;
// the datasource's calendar is upstream of the datasource.
TEST(ExportPlan, UpstreamClosureFollowsChildrenAndBringsTheirChildren) {
  Snapshot s;
  int task = s.add("task", "/etl", "load");
  int step = s.add("task", "/etl", "load-step");
  int ds = s.add("dataset", "/data", "orders");
  int field = s.add("field", "/data", "orders-id");
  int src = s.add("datasource", "/shared", "wh");
  int cal = s.add("calendar", "/shared", "work-days");
  s.add("dataset", "/data", "unrelated");
  s.contains(task, step);
  s.uses(step, ds);
  s.contains(ds, field);
  s.uses(ds, src);
  s.uses(src, cal);
  auto r = selected({.addresses = {"task:/etl/load"}});
  r.include_upstream = true;
  auto p = plan_of(s, r);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_THAT(addresses(*p), ElementsAre("calendar:/shared/work-days", "datasource:/shared/wh", "field:/data/orders-id",
                                         "dataset:/data/orders", "task:/etl/load-step", "task:/etl/load"));
}

TEST(ExportPlan, NotExportableContainedChildIsAnErrorNamingBoth) {
  Small s;
  s.contains(s.orders, s.query);
  auto p = plan_of(s, {});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::conflict);
  EXPECT_EQ(p.error().message, "adhoc_query:/finance/peek (" + guid(s.query) +
                                   ") is of type adhoc_query, which is not exportable (types.yaml exportable: false); "
                                   "needed by dataset:/finance/orders (" +
                                   guid(s.orders) + ")");
}

TEST(ExportPlan, NotExportableUpstreamIsAnErrorOnlyWithUpstream) {
  Small s;
  s.uses(s.report, s.query);
  auto without = select_from(s, {.addresses = {"task:/sales/report"}});
  ASSERT_TRUE(without) << without.error().message;
  auto r = selected({.addresses = {"task:/sales/report"}});
  r.include_upstream = true;
  auto with = plan_of(s, r);
  ASSERT_FALSE(with);
  EXPECT_THAT(with.error().message, HasSubstr("adhoc_query:/finance/peek (" + guid(s.query) +
                                              ") is of type adhoc_query, which is not exportable"));
  EXPECT_THAT(with.error().message, HasSubstr("needed by task:/sales/report (" + guid(s.report) + ")"));
}

TEST(ExportPlan, NamingANotExportableObjectIsAnError) {
  Small s;
  std::string expected = "adhoc_query:/finance/peek (" + guid(s.query) +
                         ") is of type adhoc_query, which is not exportable (types.yaml exportable: false); ";
  auto by_address = select_from(s, {.addresses = {"adhoc_query:/finance/peek"}});
  ASSERT_FALSE(by_address);
  EXPECT_EQ(by_address.error().message, expected + "selected by address adhoc_query:/finance/peek");
  auto by_guid = plan_of(s, {.select = {.guids = {guid(s.query)}}});  // full, filtered
  ASSERT_FALSE(by_guid);
  EXPECT_EQ(by_guid.error().message, expected + "selected by guid " + guid(s.query));
  auto by_type = select_from(s, {.types = {"adhoc_query"}});
  ASSERT_FALSE(by_type);
  EXPECT_EQ(by_type.error().message, expected + "selected by type adhoc_query");
  // Matched only by a folder or name pattern: left out, like full does.
  auto by_folder = select_from(s, {.folders = {"/finance"}});
  ASSERT_TRUE(by_folder) << by_folder.error().message;
  EXPECT_THAT(addresses(*by_folder), ElementsAre("dataset:/finance/orders"));
}

TEST(ExportPlan, ACycleIsNamedInCycleOrder) {
  Snapshot s;
  int x = s.add("task", "/a", "x");
  int y = s.add("task", "/a", "y");
  int z = s.add("task", "/a", "z");
  s.add("task", "/a", "free");
  s.uses(x, y);
  s.contains(y, z);
  s.uses(z, x);
  auto r = Request{};
  r.include_upstream = true;
  auto p = plan_of(s, r);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::conflict);
  EXPECT_EQ(p.error().message, "dependency cycle: task:/a/x (" + guid(x) + ") -> task:/a/y (" + guid(y) +
                                   ") -> task:/a/z (" + guid(z) + ") -> task:/a/x (" + guid(x) + ")");
}

TEST(ExportPlan, EveryCycleAndEveryProblemIsReported) {
  Snapshot s;
  int a = s.add("task", "/c", "a");
  int b = s.add("task", "/c", "b");
  int c = s.add("task", "/d", "c");
  int d = s.add("task", "/d", "d");
  int q = s.add("adhoc_query", "/d", "q");
  s.contains(a, b);
  s.contains(b, a);
  s.contains(c, d);
  s.contains(d, c);
  s.contains(d, q);
  auto p = plan_of(s, {});
  ASSERT_FALSE(p);
  auto lines = p.error().message;
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 2) << lines;
  EXPECT_THAT(lines, HasSubstr("dependency cycle: task:/c/a (" + guid(a) + ") -> task:/c/b (" + guid(b) + ")"));
  EXPECT_THAT(lines, HasSubstr("dependency cycle: task:/d/c (" + guid(c) + ") -> task:/d/d (" + guid(d) + ")"));
  EXPECT_THAT(lines, HasSubstr("adhoc_query:/d/q (" + guid(q) + ")"));
}

TEST(ExportPlan, GlobalsComeFirstAndSoDoesWhatTheyNeed) {
  Snapshot s;
  s.add("dataset", "/a", "a-first-by-name");
  int src = s.add("datasource", "/z", "late-by-name");
  int vars = s.add("table", "/m", "settings");  // not global, but the data source needs it
  s.add("calendar", "/y", "days");
  s.add("task", "/b", "b");
  s.uses(src, vars);
  auto p = plan_of(s, {});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_THAT(addresses(*p), ElementsAre("calendar:/y/days", "table:/m/settings", "datasource:/z/late-by-name",
                                         "dataset:/a/a-first-by-name", "task:/b/b"));
}

TEST(ExportPlan, OrderDoesNotDependOnInputOrder) {
  Snapshot s;
  for (int i = 0; i < 40; ++i) s.add(i % 3 ? "dataset" : "task", "/f" + std::to_string(i % 4), "n" + std::to_string(i));
  for (int i = 2; i <= 40; i += 3) s.uses(i, i - 1);
  for (int i = 5; i <= 40; i += 5) s.contains(i, i - 3);
  auto first = plan_of(s, {});
  ASSERT_TRUE(first) << first.error().message;
  std::mt19937 rng(7);
  for (int round = 0; round < 5; ++round) {
    Snapshot shuffled = s;
    std::shuffle(shuffled.objects.begin(), shuffled.objects.end(), rng);
    auto again = plan_of(shuffled, {});
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(addresses(*again), addresses(*first));
  }
}

TEST(ExportPlan, RequiredSecretsListFieldsThatAreSet) {
  Small s;
  s.at(s.warehouse).spec = {{"host", "db"}, {"password", "s3cret"}};  // /tls/key not set
  s.at(s.report).spec = {{"token", "t0k"}};
  auto p = plan_of(s, {});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_THAT(p->required_secrets, UnorderedElementsAre(package::RequiredSecret{guid(s.warehouse), "/password"},
                                                        package::RequiredSecret{guid(s.report), "/token"}));
}

TEST(ExportPlan, ReferenceToAMissingObjectIsAnError) {
  Small s;
  s.contains(s.orders, 77);
  auto p = plan_of(s, {});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message,
            "dataset:/finance/orders (" + guid(s.orders) + ") contains " + guid(77) + ", which is not in the catalog");
}

// Revisions 1..5 from Small; then orders changes (6), ledger and an old object are
// deleted (3 before the baseline, 7 after), a new task appears (8).
struct Changed : Small {
  int fresh = 0;
  Changed() {
    at(orders).revision = 6;
    deleted(50, "dataset", "/finance", "old", 3);
    deleted(51, "dataset", "/finance/eu", "gone", 7);
    deleted(52, "task", "/sales", "retired", 8);
    deleted(53, "adhoc_query", "/finance", "scratch", 8);
    fresh = add("task", "/sales", "new", 9);
  }
};

TEST(ExportPlan, IncrementalTakesChangesAndDeletionsAfterTheBaseline) {
  Changed s;
  auto p = plan_of(s, {.mode = Mode::incremental, .since_revision = 5});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_THAT(addresses(*p), ElementsAre("dataset:/finance/orders", "task:/sales/new"));
  ASSERT_EQ(p->deleted.size(), 2u);  // not the one before the baseline, not the ad-hoc query
  EXPECT_EQ(p->deleted[0].guid, guid(51));
  EXPECT_EQ(p->deleted[1].guid, guid(52));
  EXPECT_EQ(p->revision_from, 5);
  EXPECT_EQ(p->revision_to, 9);
}

TEST(ExportPlan, IncrementalFiltersObjectsAndDeletionsBySelection) {
  Changed s;
  auto p = plan_of(s, {.mode = Mode::incremental, .select = {.folders = {"/finance/**"}}, .since_revision = 5});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_THAT(addresses(*p), ElementsAre("dataset:/finance/orders"));
  ASSERT_EQ(p->deleted.size(), 1u);
  EXPECT_EQ(p->deleted[0].guid, guid(51));
  auto by_guid = plan_of(s, {.mode = Mode::incremental, .select = {.guids = {guid(52)}}, .since_revision = 5});
  ASSERT_TRUE(by_guid) << by_guid.error().message;  // a deleted GUID exists for the selection
  EXPECT_TRUE(by_guid->objects.empty());
  ASSERT_EQ(by_guid->deleted.size(), 1u);
}

TEST(ExportPlan, IncrementalCarriesUnchangedChildrenOfChangedParents) {
  Changed s;
  s.contains(s.orders, s.ledger);
  auto p = plan_of(s, {.mode = Mode::incremental, .since_revision = 6});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_THAT(addresses(*p), ElementsAre("task:/sales/new"));
  auto q = plan_of(s, {.mode = Mode::incremental, .since_revision = 5});
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_THAT(addresses(*q), ElementsAre("dataset:/finance/eu/ledger", "dataset:/finance/orders", "task:/sales/new"));
}

TEST(ExportPlan, IncrementalWithoutBaselineIsFullAndNothingNewIsEmpty) {
  Changed s;
  auto first = plan_of(s, {.mode = Mode::incremental});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->objects.size(), 5u);
  EXPECT_TRUE(first->deleted.empty());  // nothing to delete downstream on a first run
  EXPECT_EQ(first->revision_from, 0);
  auto none = plan_of(s, {.mode = Mode::incremental, .since_revision = 9});
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());
}

// A 50,000-object chain: no recursion deep enough to hurt a worker's stack, in the
// sort or in the cycle search, and the cycle is still named.
TEST(ExportPlan, LongChainsAreOrderedAndALongCycleIsFound) {
  Snapshot s;
  constexpr int kCount = 50000;
  for (int i = 1; i <= kCount; ++i) s.add("task", "/chain", "t" + std::to_string(i));
  for (int i = 1; i < kCount; ++i) s.contains(i, i + 1);
  auto p = plan_of(s, {});
  ASSERT_TRUE(p) << p.error().message.substr(0, 500);
  EXPECT_EQ(p->table.guid(p->objects.front()), guid(kCount));
  EXPECT_EQ(p->table.guid(p->objects.back()), guid(1));
  s.contains(kCount, 1);
  auto cyclic = plan_of(s, {});
  ASSERT_FALSE(cyclic);
  EXPECT_THAT(cyclic.error().message,
              HasSubstr("dependency cycle: task:/chain/t1 (" + guid(1) + ") -> task:/chain/t2"));
}

TEST(ExportPlan, SettingsJsonRecordsTheRequest) {
  Request r{.mode = Mode::incremental, .select = {.folders = {"/x/**"}}, .include_data = false, .since_revision = 4};
  EXPECT_EQ(settings_json(r), nlohmann::json::parse(R"({"mode":"incremental","select":{"folders":["/x/**"]},
      "include_upstream":false,"include_data":false,"since_revision":4})"));
  EXPECT_EQ(parse_mode("selected").value(), Mode::selected);
  EXPECT_FALSE(parse_mode("partial"));
}

}  // namespace
}  // namespace ferry::exporter
