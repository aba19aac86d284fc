// The import policies (issue 7): plan detail, refusals before any change, id_policy,
// --into, on_name_conflict, on_deleted_in_target, tombstones, overrides, --only and
// --skip. Real packages written by the test, a real destination catalog.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "import/import.h"
#include "import/import_fixture.h"

namespace ferry::importer {
namespace {

using namespace ferry::importer::test;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class ImportPolicies : public ImportTest {
 protected:
  Policy with(config::NameConflict on_conflict) {
    Policy p;
    p.on_name_conflict = on_conflict;
    return p;
  }
  Policy copy_into(std::string folder) {
    Policy p;
    p.id_policy = config::IdPolicy::fresh;
    p.into = std::move(folder);
    return p;
  }
  /// Plans and deploys; expects the deploy to succeed.
  Plan deploy_plan(const PackageSpec& s, const Policy& policy, const std::string& import_id,
                   const Overrides& overrides = {}) {
    auto pkg = open(s, import_id + ".zip");
    auto p = importer::plan(pkg, *catalog_, types_, {}, policy, overrides);
    EXPECT_TRUE(p) << p.error().message;
    if (!p) return {};
    EXPECT_TRUE(p->ok()) << (p->problems().empty() ? p->refused.value_or("") : p->problems().front());
    auto r = deploy_ok(pkg, *p, import_id);
    EXPECT_NE(r.state, ImportState::failed) << r.error;
    return *p;
  }
  catalog::Object get(const std::string& what) {
    auto o = catalog_->get(what);
    EXPECT_TRUE(o) << o.error().message;
    return o ? *o : catalog::Object{};
  }
};

// Plan detail ------------------------------------------------------------------------

TEST_F(ImportPolicies, AnUpdateNamesTheSpecFieldsRefsAndAttachmentsThatChange) {
  auto old_bytes = store("v1");
  auto kept = store("same");
  auto d = draft(2, "dataset", "/f", "old-name", {{"query", "select 1"}, {"limit", 5}, {"gone", true}, {"same", 1}});
  d.refs.push_back({guid(1), catalog::RefKind::uses, ""});
  d.attachments = {{"schema.sql", old_bytes.sha256, old_bytes.size},
                   {"keep.csv", kept.sha256, kept.size},
                   {"old.txt", kept.sha256, kept.size}};
  apply({draft(1, "datasource", "/shared", "a"), draft(3, "datasource", "/shared", "b"), d});
  PackageSpec s;
  s.add(2, "dataset", "/f", "orders", {{"query", "select 2"}, {"limit", 5}, {"new/field", 1}, {"same", 1}});
  s.uses(2, 3, "datasource:/shared/b");
  s.attach(2, "schema.sql", "v2");
  s.attach(2, "keep.csv", "same");
  auto p = plan_ok(open(s));
  ASSERT_TRUE(p.ok()) << p.problems().front();
  const PlanItem& i = item(p, 2);
  EXPECT_EQ(i.action, Action::update);
  EXPECT_EQ(i.changes.moved_from, "dataset:/f/old-name");
  EXPECT_THAT(i.changes.spec, ElementsAre("/gone", "/new~1field", "/query"));
  EXPECT_THAT(i.changes.refs, ElementsAre("+uses datasource:/shared/b (" + guid(3) + ")",
                                          "-uses datasource:/shared/a (" + guid(1) + ")"));
  EXPECT_THAT(i.changes.attachments, ElementsAre("~schema.sql", "-old.txt"));
  // An unchanged object has nothing to say.
  PackageSpec again;
  again.add(1, "datasource", "/shared", "a");
  EXPECT_TRUE(item(plan_ok(open(again)), 1).changes.empty());
}

TEST_F(ImportPolicies, TheReportShowsChangesAndOverrides) {
  apply({draft(1, "dataset", "/f", "d", {{"query", "old"}})});
  PackageSpec s;
  s.add(1, "dataset", "/f", "d", {{"query", "new"}, {"host", "test-db"}});
  auto overrides = parse_overrides("o.yaml", "overrides: [{type: dataset, pointer: /host, value: prod-db}]");
  ASSERT_TRUE(overrides) << overrides.error().message;
  auto pkg = open(s);
  auto p = importer::plan(pkg, *catalog_, types_, {}, {}, *overrides);
  ASSERT_TRUE(p);
  Report r;
  r.import_id = "imp";
  r.manifest = &pkg.manifest();
  r.plan = &*p;
  auto doc = report_json(r);
  const auto& o = doc["objects"][0];
  EXPECT_EQ(o["changes"]["spec"], json::parse(R"(["/host","/query"])")) << doc.dump(2);
  EXPECT_EQ(o["overrides"][0]["pointer"], "/host");
  EXPECT_EQ(o["overrides"][0]["value"], "prod-db");
  EXPECT_EQ(o["overrides"][0]["by"], "type");
  EXPECT_EQ(doc["policy"]["into"], nullptr);
}

// Refusals before any change -----------------------------------------------------------

TEST_F(ImportPolicies, AQuotaTheImportWouldExceedRefusesItBeforeAnyChange) {
  apply({draft(9, "calendar", "/c", "holidays")});
  auto before = dump();
  PackageSpec s;
  s.add(1, "calendar", "/c", "workdays");
  s.add(2, "dataset", "/f", "d");
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  EXPECT_FALSE(p.ok());
  ASSERT_TRUE(p.refused);
  EXPECT_EQ(*p.refused,
            "quota: type 'calendar' allows 1 objects here (types.yaml: max_objects) and this import would make 2 "
            "(1 here, 1 to create, 0 to delete); raise max_objects or delete some first");
  EXPECT_EQ(item(p, 1).action, Action::error);
  EXPECT_EQ(item(p, 2).action, Action::create);
  auto r = deploy_ok(pkg, p);
  EXPECT_EQ(r.state, ImportState::failed);
  EXPECT_THAT(r.error, HasSubstr("refused: quota: type 'calendar'"));
  EXPECT_EQ(dump(), before);
}

TEST_F(ImportPolicies, AQuotaCountsWhatThePackageDeletes) {
  apply({draft(9, "calendar", "/c", "holidays")});
  PackageSpec s;
  s.remove(9, "calendar", "/c", "holidays");
  s.add(1, "calendar", "/c", "workdays");
  EXPECT_TRUE(plan_ok(open(s)).ok());
}

TEST_F(ImportPolicies, ATypeNotImportableHereRefusesTheImportBeforeAnyChange) {
  auto before = dump();
  PackageSpec s;
  s.add(1, "dataset", "/f", "fine");
  s.add(2, "report", "/r", "monthly");
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  ASSERT_TRUE(p.refused);
  EXPECT_EQ(*p.refused, "type 'report' is not importable in this environment (types.yaml: importable: false)");
  EXPECT_EQ(deploy_ok(pkg, p).state, ImportState::failed);
  EXPECT_EQ(dump(), before);
}

// id_policy: new and --into --------------------------------------------------------------

TEST_F(ImportPolicies, NewGuidsTwiceIntoTwoFoldersMakeTwoDisjointCopies) {
  // Objects outside the package that it uses: both copies keep using them.
  apply({draft(1, "datasource", "/", "warehouse"), draft(50, "dataset", "/shared", "workdays")});
  PackageSpec copyable;
  copyable.add(2, "field", "/finance", "id");
  copyable.add(3, "table", "/finance", "orders");
  copyable.contains(3, 2);
  copyable.uses(3, 1, "datasource:/warehouse");
  copyable.add(4, "task", "/etl", "daily");
  copyable.uses(4, 3);
  copyable.uses(4, 50, "dataset:/shared/workdays");

  auto first = deploy_plan(copyable, copy_into("/copy1"), "imp-1");
  auto second = deploy_plan(copyable, copy_into("/copy2"), "imp-2");
  std::set<std::string> a, b;
  for (const auto& i : first.items) a.insert(i.guid);
  for (const auto& i : second.items) b.insert(i.guid);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (const auto& g : a) {
    EXPECT_FALSE(b.contains(g));
    for (int n : {2, 3, 4}) EXPECT_NE(g, guid(n));
  }
  for (const std::string root : {"/copy1", "/copy2"}) {
    auto field = get("field:" + root + "/finance/id");
    auto table = get("table:" + root + "/finance/orders");
    auto task = get("task:" + root + "/etl/daily");
    EXPECT_THAT(table.refs, ElementsAre(catalog::Ref{field.guid, catalog::RefKind::contains},
                                        catalog::Ref{guid(1), catalog::RefKind::uses}));
    EXPECT_THAT(task.refs, ElementsAre(catalog::Ref{table.guid, catalog::RefKind::uses},
                                       catalog::Ref{guid(50), catalog::RefKind::uses}));
  }
  // The originals' GUIDs are not used by either copy.
  EXPECT_FALSE(catalog_->find(guid(3)).value());
  EXPECT_EQ(item(first, 3).address, "table:/copy1/finance/orders");
  EXPECT_EQ(item(first, 3).source_guid, guid(3));
}

TEST_F(ImportPolicies, IntoReRootsTheRootFolderAndKeepsGuidsWithIdPolicyKeep) {
  PackageSpec s;
  s.add(1, "dataset", "/", "top");
  s.add(2, "dataset", "/a/b", "deep");
  Policy p;
  p.into = "/copy";
  auto plan = deploy_plan(s, p, "imp-1");
  EXPECT_EQ(item(plan, 1).address, "dataset:/copy/top");
  EXPECT_EQ(get("dataset:/copy/a/b/deep").guid, guid(2));
}

TEST_F(ImportPolicies, IntoStillClashesForUniqueNameTypeTypes) {
  apply({draft(9, "datasource", "/shared", "warehouse")});
  PackageSpec s;
  s.add(1, "datasource", "/shared", "warehouse");
  auto p = plan_ok(open(s), copy_into("/copy2"));
  EXPECT_EQ(item(p, 1).action, Action::conflict);
  EXPECT_THAT(item(p, 1).reason, HasSubstr("unique_name: type"));
}

TEST_F(ImportPolicies, AnIntoThatIsNoFolderIsRefused) {
  PackageSpec s;
  s.add(1, "dataset", "/f", "d");
  Policy p;
  p.into = "relative/../x";
  auto planned = importer::plan(open(s), *catalog_, types_, {}, p);
  ASSERT_FALSE(planned);
  EXPECT_EQ(planned.error().code, Errc::invalid_argument);
  EXPECT_THAT(planned.error().message, HasSubstr("--into relative/../x"));
}

TEST_F(ImportPolicies, NewGuidsIgnoreThePackagesDeletions) {
  apply({draft(1, "dataset", "/f", "d")});
  PackageSpec s;
  s.remove(1, "dataset", "/f", "d");
  Policy p;
  p.id_policy = config::IdPolicy::fresh;
  auto plan = plan_ok(open(s), p);
  EXPECT_EQ(item(plan, 1).action, Action::skip);
  EXPECT_THAT(item(plan, 1).reason, HasSubstr("id_policy: new"));
}

// on_name_conflict ----------------------------------------------------------------------

TEST_F(ImportPolicies, NameConflictSkipKeepsTheHolderAndPointsRefsAtIt) {
  apply({draft(9, "dataset", "/finance", "orders", {{"query", "here"}})});
  PackageSpec s;
  s.add(1, "dataset", "/finance", "orders", {{"query", "package"}});
  s.add(2, "task", "/etl", "daily");
  s.uses(2, 1);
  auto plan = deploy_plan(s, with(config::NameConflict::skip), "imp-1");
  EXPECT_EQ(item(plan, 1).action, Action::skip);
  EXPECT_EQ(item(plan, 1).guid, guid(9));
  EXPECT_EQ(item(plan, 1).reason, "name clash: the address is held here by another object (" + guid(9) +
                                      "); on_name_conflict: skip keeps dataset:/finance/orders (" + guid(9) + ")");
  EXPECT_EQ(get(guid(9)).spec, json({{"query", "here"}}));
  EXPECT_FALSE(catalog_->find(guid(1)).value());
  EXPECT_THAT(get(guid(2)).refs, ElementsAre(catalog::Ref{guid(9), catalog::RefKind::uses}));
}

TEST_F(ImportPolicies, NameConflictOverwriteReplacesTheWholeObjectKeepingItsGuidAndSecrets) {
  auto a = store("old attachment");
  auto holder = draft(9, "datasource", "/shared", "warehouse", {{"host", "old"}, {"extra", 1}, {"password", "pw"}});
  holder.attachments = {{"old.txt", a.sha256, a.size}};
  apply({draft(7, "calendar", "/c", "cal"), holder});
  auto with_ref = draft(9, "datasource", "/shared", "warehouse", {{"host", "old"}, {"extra", 1}, {"password", "pw"}});
  with_ref.attachments = holder.attachments;
  with_ref.refs.push_back({guid(7), catalog::RefKind::uses, ""});
  apply({with_ref});
  PackageSpec s;
  s.add(1, "datasource", "/shared", "warehouse", {{"host", "new"}});
  s.secret(1, "/password");
  s.add(2, "dataset", "/f", "d");
  s.uses(2, 1);
  auto plan = deploy_plan(s, with(config::NameConflict::overwrite), "imp-1");
  const PlanItem& i = item(plan, 1);
  EXPECT_EQ(i.action, Action::update);
  EXPECT_EQ(i.guid, guid(9));
  EXPECT_EQ(i.guid_before, guid(9));
  EXPECT_EQ(i.reason, "overwrites datasource:/shared/warehouse (" + guid(9) + ") (on_name_conflict: overwrite)");
  auto now = get(guid(9));
  EXPECT_EQ(now.spec, json({{"host", "new"}, {"password", "pw"}}));  // no merge: "extra" is gone
  EXPECT_THAT(now.refs, IsEmpty());
  EXPECT_THAT(now.attachments, IsEmpty());
  EXPECT_THAT(get(guid(2)).refs, ElementsAre(catalog::Ref{guid(9), catalog::RefKind::uses}));
  // Importing the same package again overwrites the same object: unchanged.
  auto again = plan_ok(open(s, "again.zip"), with(config::NameConflict::overwrite));
  EXPECT_EQ(item(again, 1).action, Action::unchanged);
  EXPECT_EQ(item(again, 2).action, Action::unchanged);
}

TEST_F(ImportPolicies, NameConflictOverwriteAcrossFoldersForUniqueNameType) {
  apply({draft(9, "datasource", "/other", "warehouse", {{"host", "old"}})});
  PackageSpec s;
  s.add(1, "datasource", "/shared", "warehouse", {{"host", "new"}});
  auto plan = deploy_plan(s, with(config::NameConflict::overwrite), "imp-1");
  EXPECT_EQ(item(plan, 1).guid, guid(9));
  EXPECT_EQ(item(plan, 1).changes.moved_from, "datasource:/other/warehouse");
  EXPECT_EQ(get(guid(9)).folder, "/shared");
}

TEST_F(ImportPolicies, NameConflictFailIsAConflict) {
  apply({draft(9, "dataset", "/f", "d")});
  PackageSpec s;
  s.add(1, "dataset", "/f", "d");
  auto p = plan_ok(open(s), with(config::NameConflict::fail));
  EXPECT_EQ(item(p, 1).action, Action::conflict);
  EXPECT_THAT(item(p, 1).reason, HasSubstr("on_name_conflict: fail"));
}

TEST_F(ImportPolicies, TwoPackageObjectsAtOneAddressConflictWhateverThePolicy) {
  PackageSpec s;
  s.add(1, "dataset", "/f", "d");
  s.add(2, "dataset", "/f", "d");
  for (auto policy : {config::NameConflict::skip, config::NameConflict::overwrite}) {
    auto p = plan_ok(open(s), with(policy));
    EXPECT_EQ(item(p, 2).action, Action::conflict);
  }
}

// on_deleted_in_target and tombstones ------------------------------------------------------

TEST_F(ImportPolicies, DeletedHereIsRecreatedWithRecreate) {
  apply({draft(1, "dataset", "/f", "d")});
  ASSERT_TRUE(catalog_->remove(guid(1)));
  PackageSpec s;
  s.add(1, "dataset", "/f", "d");
  Policy p;
  p.on_deleted_in_target = config::DeletedInTarget::recreate;
  deploy_plan(s, p, "imp-1");
  EXPECT_EQ(get("dataset:/f/d").guid, guid(1));
  EXPECT_FALSE(catalog_->tombstone(guid(1)).value());
}

TEST_F(ImportPolicies, TombstonesDeleteHereAndAUserOutsideThePackageIsNamed) {
  apply({draft(1, "dataset", "/f", "gone"), draft(2, "dataset", "/f", "used")});
  auto user = draft(3, "task", "/t", "user");
  user.refs.push_back({guid(2), catalog::RefKind::uses, ""});
  apply({user});
  PackageSpec s;
  s.remove(1, "dataset", "/f", "gone");
  deploy_plan(s, {}, "imp-1");
  EXPECT_FALSE(catalog_->find(guid(1)).value());
  EXPECT_TRUE(catalog_->tombstone(guid(1)).value());

  PackageSpec t;
  t.remove(2, "dataset", "/f", "used");
  auto p = plan_ok(open(t));
  EXPECT_EQ(item(p, 2).action, Action::error);
  EXPECT_EQ(item(p, 2).reason,
            "cannot delete it: still referenced here by task:/t/user (" + guid(3) + "); delete or change those first");
}

// Overrides -----------------------------------------------------------------------------

TEST_F(ImportPolicies, OverridesByGuidAddressAndTypeAreShownAndApplied) {
  PackageSpec s;
  s.add(1, "dataset", "/f", "a", {{"host", "test-a"}, {"bucket", "test"}});
  s.add(2, "dataset", "/f", "b", {{"host", "test-b"}, {"bucket", "test"}});
  s.add(3, "dataset", "/f", "c", {{"host", "test-c"}, {"nested", {{"queue", "q-test"}}}});
  auto overrides = parse_overrides("overrides.yaml",
                                   "overrides:\n"
                                   "  - {type: dataset, pointer: /host, value: prod-any}\n"
                                   "  - {address: 'dataset:/f/b', pointer: /host, value: prod-b}\n"
                                   "  - {guid: " +
                                       guid(3) +
                                       ", pointer: /host, value: prod-c}\n"
                                       "  - {guid: " +
                                       guid(3) +
                                       ", pointer: /nested/queue, value: q-prod}\n"
                                       "  - {type: dataset, pointer: /bucket, value: {name: prod, region: eu}}\n");
  ASSERT_TRUE(overrides) << overrides.error().message;
  auto plan = deploy_plan(s, {}, "imp-1", *overrides);
  EXPECT_THAT(item(plan, 2).overrides,
              ElementsAre(OverrideValue{"/host", "prod-b", TargetKind::address, "overrides.yaml:3:5"},
                          OverrideValue{"/bucket", json{{"name", "prod"}, {"region", "eu"}}, TargetKind::type,
                                        "overrides.yaml:6:5"}));
  EXPECT_EQ(get(guid(1)).spec["host"], "prod-any");
  EXPECT_EQ(get(guid(2)).spec["host"], "prod-b");
  EXPECT_EQ(
      get(guid(3)).spec,
      json({{"host", "prod-c"}, {"nested", {{"queue", "q-prod"}}}, {"bucket", {{"name", "prod"}, {"region", "eu"}}}}));
  // On the next import the same overrides make the objects unchanged.
  auto again = importer::plan(open(s, "again.zip"), *catalog_, types_, {}, {}, *overrides);
  ASSERT_TRUE(again);
  for (const auto& i : again->items) EXPECT_EQ(i.action, Action::unchanged) << i.address;
}

TEST_F(ImportPolicies, OverridesApplyUnderTheAddressAfterInto) {
  PackageSpec s;
  s.add(1, "dataset", "/f", "a", {{"host", "test"}});
  auto overrides = parse_overrides("o.yaml", "overrides: [{address: 'dataset:/copy/f/a', pointer: /host, value: x}]");
  ASSERT_TRUE(overrides);
  Policy p;
  p.into = "/copy";
  deploy_plan(s, p, "imp-1", *overrides);
  EXPECT_EQ(get("dataset:/copy/f/a").spec["host"], "x");
}

TEST(Overrides, ParseRefusesBadEntriesWithPositions) {
  auto bad = parse_overrides("o.yaml", "overrides:\n  - {pointer: /x, value: 1}\n  - {type: t, guid: x, pointer: y}\n");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("o.yaml:2:5"));
  EXPECT_THAT(bad.error().message, HasSubstr("o.yaml:3:"));
}

TEST(Overrides, AbsentFileMeansNone) {
  auto none = load_overrides("/nonexistent/overrides.yaml");
  ASSERT_TRUE(none);
  EXPECT_THAT(none->entries(), IsEmpty());
}

// Secrets with policies ----------------------------------------------------------------

TEST_F(ImportPolicies, SecretsKeptFilledWarnedAndRequiredOnOneDeploy) {
  apply({draft(1, "datasource", "/s", "kept", {{"password", "here"}})});
  PackageSpec s;
  s.add(1, "datasource", "/s", "kept");
  s.secret(1, "/password");
  s.add(2, "datasource", "/s", "filled");
  s.secret(2, "/password");
  s.add(3, "datasource", "/s", "missing");
  s.secret(3, "/password");
  auto secrets = parse_secrets("s.yaml", "secrets: [{address: 'datasource:/s/filled', pointer: /password, value: f}]");
  ASSERT_TRUE(secrets);
  auto pkg = open(s);
  auto p = plan_ok(pkg, {}, *secrets);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(item(p, 1).secrets.at(0).source, SecretSource::kept);
  EXPECT_EQ(item(p, 2).secrets.at(0).source, SecretSource::file);
  EXPECT_EQ(item(p, 3).secrets.at(0).source, SecretSource::missing);
  EXPECT_THAT(p.warnings, ElementsAre("datasource:/s/missing (" + guid(3) +
                                      "): secret /password not set: add it to the secrets file"));
  deploy_ok(pkg, p);
  EXPECT_EQ(get(guid(1)).spec["password"], "here");
  EXPECT_EQ(get(guid(2)).spec["password"], "f");
  EXPECT_FALSE(get(guid(3)).spec.contains("password"));
  Policy strict;
  strict.require_secrets = RequireSecrets::yes;
  auto q = plan_ok(open(s, "again.zip"), strict, *secrets);
  EXPECT_FALSE(q.ok());
  EXPECT_EQ(item(q, 3).action, Action::error);
  EXPECT_EQ(item(q, 1).action, Action::unchanged);
}

// --only / --skip ----------------------------------------------------------------------------

TEST_F(ImportPolicies, OnlyAndSkipChooseObjects) {
  PackageSpec s;
  s.add(1, "dataset", "/f", "a");
  s.add(2, "dataset", "/f", "b");
  s.add(3, "dataset", "/f", "c");
  Policy only;
  only.only = {"dataset:/f/a", guid(3)};
  auto p = deploy_plan(s, only, "imp-1");
  EXPECT_EQ(item(p, 2).action, Action::skip);
  EXPECT_EQ(item(p, 2).reason, "not named by --only");
  EXPECT_TRUE(catalog_->find(guid(1)).value());
  EXPECT_FALSE(catalog_->find(guid(2)).value());
  Policy skip;
  skip.skip = {"dataset:/f/c"};
  auto q = plan_ok(open(s, "again.zip"), skip);
  EXPECT_EQ(item(q, 3).action, Action::skip);
  EXPECT_EQ(item(q, 3).reason, "left out by --skip");
  EXPECT_EQ(item(q, 2).action, Action::create);
}

TEST_F(ImportPolicies, SkippingAnUpstreamObjectIsAllowedOnlyIfItIsHere) {
  PackageSpec s;
  s.add(1, "datasource", "/shared", "warehouse");
  s.add(2, "dataset", "/f", "orders");
  s.uses(2, 1, "datasource:/shared/warehouse");
  Policy skip;
  skip.skip = {"datasource:/shared/warehouse"};
  auto p = plan_ok(open(s), skip);
  EXPECT_EQ(item(p, 2).action, Action::error);
  EXPECT_EQ(item(p, 2).reason, "input datasource:/shared/warehouse (" + guid(1) +
                                   ") not matched: left out by --skip and not in this environment; deploy it too or "
                                   "deploy it first");
  apply({draft(1, "datasource", "/shared", "warehouse")});
  auto q = plan_ok(open(s, "again.zip"), skip);
  EXPECT_TRUE(q.ok()) << q.problems().front();
  EXPECT_EQ(item(q, 2).action, Action::create);
}

TEST_F(ImportPolicies, AnOnlyEntryThatNamesNothingIsRefused) {
  PackageSpec s;
  s.add(1, "dataset", "/f", "a");
  Policy only;
  only.only = {"dataset:/f/typo"};
  auto p = importer::plan(open(s), *catalog_, types_, {}, only);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message, "--only dataset:/f/typo: package " + s.package_id +
                                   " has no such object (give an address or GUID from the package)");
}

}  // namespace
}  // namespace ferry::importer
