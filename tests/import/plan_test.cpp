#include "import/import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "import/import_fixture.h"

namespace ferry::importer {
namespace {

using namespace ferry::importer::test;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ImportPlan : public ImportTest {};

TEST_F(ImportPlan, NewObjectsAreCreatedKeepingTheirGuids) {
  PackageSpec s;
  s.add(1, "datasource", "/shared", "warehouse", {{"host", "db"}});
  s.add(2, "dataset", "/finance", "orders", {{"query", "select 1"}});
  s.uses(2, 1);
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  ASSERT_TRUE(p.ok()) << p.problems().front();
  ASSERT_EQ(p.items.size(), 2u);
  EXPECT_EQ(p.package_id, s.package_id);
  const PlanItem& ds = p.items[1];
  EXPECT_EQ(ds.kind, ItemKind::object);
  EXPECT_EQ(ds.type, "dataset");
  EXPECT_EQ(ds.address, "dataset:/finance/orders");
  EXPECT_EQ(ds.source_guid, guid(2));
  EXPECT_EQ(ds.guid, guid(2));
  EXPECT_EQ(ds.guid_before, std::nullopt);
  EXPECT_EQ(ds.action, Action::create);
  EXPECT_EQ(p.items[0].action, Action::create);
  EXPECT_EQ(p.count(Action::create), 2u);
}

TEST_F(ImportPlan, PresentObjectsAreUpdatedOrUnchanged) {
  apply({draft(1, "dataset", "/finance", "orders", {{"query", "select 1"}}),
         draft(2, "dataset", "/finance", "old-name", {{"query", "select 2"}})});
  PackageSpec s;
  s.add(1, "dataset", "/finance", "orders", {{"query", "select 1"}});
  s.add(2, "dataset", "/finance", "new-name", {{"query", "select 2"}});
  auto p = plan_ok(open(s));
  EXPECT_EQ(item(p, 1).action, Action::unchanged);
  EXPECT_EQ(item(p, 1).guid_before, guid(1));
  EXPECT_EQ(item(p, 2).action, Action::update);
  EXPECT_EQ(item(p, 2).address, "dataset:/finance/new-name");
}

TEST_F(ImportPlan, ADifferentRefOrAttachmentIsAnUpdate) {
  auto a = store("bytes");
  auto d = draft(2, "dataset", "/f", "d");
  d.attachments = {a};
  apply({draft(1, "dataset", "/f", "src"), d});
  PackageSpec s;
  s.add(2, "dataset", "/f", "d");
  s.attach(2, "upload", "bytes");
  EXPECT_EQ(item(plan_ok(open(s)), 2).action, Action::unchanged);
  s.uses(2, 1);
  EXPECT_EQ(item(plan_ok(open(s)), 2).action, Action::update);
}

TEST_F(ImportPlan, DeletionsDeleteWhatIsPresentAndSkipWhatIsAbsent) {
  apply({draft(1, "dataset", "/finance", "here")});
  PackageSpec s;
  s.remove(1, "dataset", "/finance", "here-in-source");
  s.remove(2, "dataset", "/finance", "gone");
  auto p = plan_ok(open(s));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p.items.size(), 2u);
  EXPECT_EQ(p.items[0].kind, ItemKind::deletion);
  EXPECT_EQ(p.items[0].action, Action::remove);
  EXPECT_EQ(to_string(p.items[0].action), "delete");
  EXPECT_EQ(p.items[0].address, "dataset:/finance/here");  // as it is here
  EXPECT_EQ(p.items[1].action, Action::skip);
  EXPECT_EQ(p.items[1].reason, "already absent");
  EXPECT_EQ(p.items[1].address, "dataset:/finance/gone");
}

TEST_F(ImportPlan, ADeletionStillReferencedHereIsAnError) {
  apply({draft(1, "dataset", "/f", "target")});
  auto user = draft(2, "task", "/f", "user");
  user.refs.push_back({guid(1), catalog::RefKind::uses, ""});
  apply({user});
  PackageSpec s;
  s.remove(1, "dataset", "/f", "target");
  auto p = plan_ok(open(s));
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(item(p, 1).action, Action::error);
  EXPECT_EQ(item(p, 1).reason,
            "cannot delete it: still referenced here by task:/f/user (" + guid(2) + "); delete or change those first");
}

TEST_F(ImportPlan, AnotherGuidAtTheAddressIsAConflict) {
  apply({draft(9, "dataset", "/finance", "orders")});
  PackageSpec s;
  s.add(1, "dataset", "/finance", "orders");
  auto p = plan_ok(open(s));
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(item(p, 1).action, Action::conflict);
  EXPECT_EQ(item(p, 1).reason,
            "name clash: the address is held here by another object (" + guid(9) + "); on_name_conflict: fail");
  EXPECT_THAT(p.problems(), ElementsAre("dataset:/finance/orders (" + guid(1) + "): " + item(p, 1).reason));
}

TEST_F(ImportPlan, UniqueNameTypeClashesAcrossFolders) {
  apply({draft(9, "datasource", "/other", "warehouse")});
  PackageSpec s;
  s.add(1, "datasource", "/shared", "warehouse");
  auto p = plan_ok(open(s));
  EXPECT_EQ(item(p, 1).action, Action::conflict);
  EXPECT_EQ(item(p, 1).reason, "name clash: name 'warehouse' is held here by datasource:/other/warehouse (" + guid(9) +
                                   ") (datasource names are unique across all folders: unique_name: type); "
                                   "on_name_conflict: fail");
}

TEST_F(ImportPlan, AHolderThePackageMovesOrDeletesIsNoConflict) {
  apply({draft(8, "dataset", "/f", "a"), draft(9, "dataset", "/f", "b")});
  PackageSpec s;
  s.add(1, "dataset", "/f", "a");
  s.add(8, "dataset", "/f", "moved");
  s.add(2, "dataset", "/f", "b");
  s.remove(9, "dataset", "/f", "b");
  auto p = plan_ok(open(s));
  EXPECT_TRUE(p.ok()) << p.problems().front();
  EXPECT_EQ(item(p, 1).action, Action::create);
  EXPECT_EQ(item(p, 2).action, Action::create);
  EXPECT_EQ(item(p, 9).action, Action::remove);
}

TEST_F(ImportPlan, DeletedHereFailsUnlessRecreate) {
  apply({draft(1, "dataset", "/finance", "orders")});
  ASSERT_TRUE(catalog_->remove(guid(1)));
  int64_t tomb_revision = catalog_->revision().value();
  PackageSpec s;
  s.add(1, "dataset", "/finance", "orders");
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  EXPECT_EQ(item(p, 1).action, Action::error);
  EXPECT_EQ(item(p, 1).reason, "deleted in this environment at revision " + std::to_string(tomb_revision) +
                                   " (as dataset:/finance/orders); import with on_deleted_in_target: recreate to "
                                   "create it again");
  Policy recreate;
  recreate.on_deleted_in_target = config::DeletedInTarget::recreate;
  auto again = plan_ok(pkg, recreate);
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(item(again, 1).action, Action::create);
  EXPECT_THAT(item(again, 1).reason, HasSubstr("re-created: it was deleted in this environment"));
}

TEST_F(ImportPlan, UnknownOrNotImportableTypesRefuseTheWholeImport) {
  PackageSpec s;
  s.add(1, "dataset", "/f", "fine");
  s.add(2, "gadget", "/f", "g");
  s.add(3, "report", "/f", "r");
  auto p = plan_ok(open(s));
  EXPECT_FALSE(p.ok());
  ASSERT_TRUE(p.refused);
  EXPECT_EQ(*p.refused, "type 'gadget' is not known in this environment (types.yaml; known types: " + types_.names() +
                            "); type 'report' is not importable in this environment (types.yaml: importable: false)");
  EXPECT_EQ(item(p, 1).action, Action::create);
  EXPECT_EQ(item(p, 2).action, Action::error);
  EXPECT_EQ(item(p, 3).action, Action::error);
  EXPECT_EQ(item(p, 3).reason, "type 'report' is not importable in this environment (types.yaml: importable: false)");
}

TEST_F(ImportPlan, AMissingDependencyIsNamedExactly) {
  PackageSpec s;
  s.add(2, "dataset", "/finance", "orders");
  s.uses(2, 1);  // datasource 1 is neither in the package nor here
  auto p = plan_ok(open(s));
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(item(p, 2).action, Action::error);
  EXPECT_THAT(p.problems(), ElementsAre("dataset:/finance/orders (" + guid(2) + "): input (unknown address) (" +
                                        guid(1) + ") not matched: not in the package and not in this environment"));
}

// Packages name every ref target's address, so the message names the missing input
// by address even though the package does not carry it.
TEST_F(ImportPlan, AMissingDependencyIsNamedByItsSourceAddress) {
  PackageSpec s;
  s.add(2, "dataset", "/finance", "orders");
  s.uses(2, 1, "datasource:/shared/warehouse");
  auto p = plan_ok(open(s));
  EXPECT_THAT(p.problems(),
              ElementsAre("dataset:/finance/orders (" + guid(2) + "): input datasource:/shared/warehouse (" + guid(1) +
                          ") not matched: not in the package and not in this environment"));
}

TEST_F(ImportPlan, ADependencyHereIsMatched) {
  apply({draft(1, "datasource", "/shared", "warehouse")});
  PackageSpec s;
  s.add(2, "dataset", "/finance", "orders");
  s.uses(2, 1);
  EXPECT_TRUE(plan_ok(open(s)).ok());
}

TEST_F(ImportPlan, AReferenceToAnObjectThePackageDeletesIsNamedWithItsAddress) {
  apply({draft(1, "datasource", "/shared", "warehouse")});
  PackageSpec s;
  s.add(2, "dataset", "/finance", "orders");
  s.uses(2, 1);
  s.remove(1, "datasource", "/shared", "warehouse");
  auto p = plan_ok(open(s));
  EXPECT_EQ(item(p, 2).reason,
            "input datasource:/shared/warehouse (" + guid(1) + ") not matched: this package deletes it");
}

TEST_F(ImportPlan, ObjectsThatDependOnAnErrorAreErrorsToo) {
  PackageSpec s;
  s.add(1, "dataset", "/f", "broken");
  s.uses(1, 99);
  s.add(2, "task", "/f", "user");
  s.uses(2, 1);
  s.add(3, "field", "/f", "part");
  s.add(4, "table", "/f", "parent");
  s.contains(4, 3);
  s.uses(3, 2);
  auto p = plan_ok(open(s));
  EXPECT_EQ(item(p, 1).action, Action::error);
  EXPECT_EQ(item(p, 2).action, Action::error);
  EXPECT_EQ(item(p, 2).reason, "depends on dataset:/f/broken (" + guid(1) + "), which cannot be deployed");
  EXPECT_EQ(item(p, 3).reason, "depends on task:/f/user (" + guid(2) + "), which cannot be deployed");
  EXPECT_EQ(item(p, 4).reason, "contains field:/f/part (" + guid(3) + "), which cannot be deployed");
}

TEST_F(ImportPlan, MissingAttachmentsOfAMetadataOnlyPackageAreErrors) {
  auto here = store("already here");
  PackageSpec s;
  s.include_data = false;
  s.add(1, "dataset", "/f", "d");
  s.attach(1, "here.csv", "already here");
  s.attach(1, "gone.csv", "nowhere");
  auto p = plan_ok(open(s));
  EXPECT_EQ(item(p, 1).action, Action::error);
  EXPECT_EQ(item(p, 1).reason, "attachment 'gone.csv' (sha256 " + sha256_hex("nowhere") +
                                   ") is neither in the package (exported without data) nor in this environment's "
                                   "blob store");
  EXPECT_EQ(here.sha256, sha256_hex("already here"));
}

// Secrets -------------------------------------------------------------------------

TEST_F(ImportPlan, SecretsAreKeptFromTheObjectHere) {
  apply({draft(1, "datasource", "/shared", "warehouse", {{"host", "old"}, {"password", "prod-pw"}})});
  PackageSpec s;
  s.add(1, "datasource", "/shared", "warehouse", {{"host", "old"}});
  s.secret(1, "/password");
  auto secrets = parse_secrets("s.yaml", "secrets: [{guid: " + guid(1) + ", pointer: /password, value: file-pw}]");
  ASSERT_TRUE(secrets);
  auto p = plan_ok(open(s), {}, *secrets);
  const PlanItem& i = item(p, 1);
  EXPECT_EQ(i.action, Action::unchanged);  // the kept secret makes it equal
  EXPECT_THAT(i.secrets, ElementsAre(SecretStatus{"/password", SecretSource::kept}));
  ASSERT_EQ(i.fills.size(), 1u);
  EXPECT_EQ(i.fills[0].value, "prod-pw");
  EXPECT_TRUE(p.warnings.empty());
}

TEST_F(ImportPlan, SecretsComeFromTheFileByAddressOrGuid) {
  PackageSpec s;
  s.add(1, "datasource", "/shared", "warehouse", {{"host", "db"}});
  s.secret(1, "/password");
  s.add(2, "task", "/t", "job");
  s.secret(2, "/token");
  auto secrets = parse_secrets("s.yaml",
                               "secrets:\n"
                               "  - {address: 'datasource:/shared/warehouse', pointer: /password, value: pw}\n"
                               "  - {guid: " +
                                   guid(2) + ", pointer: /token, value: {t: 1}}\n");
  ASSERT_TRUE(secrets) << secrets.error().message;
  auto p = plan_ok(open(s), {}, *secrets);
  EXPECT_TRUE(p.ok());
  EXPECT_THAT(item(p, 1).secrets, ElementsAre(SecretStatus{"/password", SecretSource::file}));
  EXPECT_EQ(item(p, 1).fills.at(0).value, "pw");
  EXPECT_EQ(item(p, 2).fills.at(0).value, json::parse(R"({"t":1})"));
}

TEST_F(ImportPlan, AMissingSecretIsAWarningOrWithRequireSecretsAnError) {
  PackageSpec s;
  s.add(1, "datasource", "/shared", "warehouse", {{"host", "db"}});
  s.secret(1, "/password");
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  EXPECT_TRUE(p.ok());
  EXPECT_EQ(item(p, 1).action, Action::create);
  EXPECT_THAT(item(p, 1).warnings, ElementsAre("secret /password not set: add it to the secrets file"));
  EXPECT_THAT(item(p, 1).secrets, ElementsAre(SecretStatus{"/password", SecretSource::missing}));
  EXPECT_THAT(p.warnings, ElementsAre("datasource:/shared/warehouse (" + guid(1) +
                                      "): secret /password not set: add it to the secrets file"));
  Policy strict;
  strict.require_secrets = RequireSecrets::yes;
  auto q = plan_ok(pkg, strict);
  EXPECT_FALSE(q.ok());
  EXPECT_EQ(item(q, 1).reason, "secret /password not set: add it to the secrets file (require_secrets is on)");
}

TEST_F(ImportPlan, ASecretFieldNotRequiredIsStillKept) {
  // The source had no password; the destination's stays.
  apply({draft(1, "datasource", "/shared", "warehouse", {{"password", "prod-pw"}})});
  PackageSpec s;
  s.add(1, "datasource", "/shared", "warehouse");
  auto p = plan_ok(open(s));
  EXPECT_EQ(item(p, 1).action, Action::unchanged);
  EXPECT_THAT(item(p, 1).secrets, ElementsAre(SecretStatus{"/password", SecretSource::kept}));
}

// deploy() writes this text instead of reading the package again (ImportDeploy.
// APlainNewObjectIsWrittenFromThePlansText); only where nothing is set in the spec.
TEST_F(ImportPlan, ANewObjectWithNothingToSetCarriesTheTextDeployWrites) {
  apply({draft(3, "dataset", "/finance", "here", {{"query", "select 0"}})});
  PackageSpec s;
  s.add(1, "dataset", "/finance", "orders", {{"query", "select 1"}, {"limit", 5}});
  s.add(2, "datasource", "/shared", "warehouse", {{"host", "db"}});  // has a secret field
  s.add(3, "dataset", "/finance", "here", {{"query", "select 3"}});  // an update
  s.add(4, "task", "/etl", "load", {{"step", 1}});                   // has a secret field
  auto p = plan_ok(open(s));
  ASSERT_TRUE(p.ok()) << p.problems().front();
  EXPECT_EQ(item(p, 1).action, Action::create);
  ASSERT_TRUE(item(p, 1).spec_text);
  EXPECT_EQ(*item(p, 1).spec_text, R"({"limit":5,"query":"select 1"})");
  EXPECT_EQ(item(p, 2).action, Action::create);
  EXPECT_FALSE(item(p, 2).spec_text);
  EXPECT_EQ(item(p, 3).action, Action::update);
  EXPECT_FALSE(item(p, 3).spec_text);
  EXPECT_FALSE(item(p, 4).spec_text);
}

TEST(ImportPolicy, FromAWatchRule) {
  config::WatchRule rule;
  rule.on_deleted_in_target = config::DeletedInTarget::recreate;
  rule.require_secrets = true;
  rule.into = "/copy2";
  Policy p = Policy::from(rule);
  EXPECT_EQ(p.into, "/copy2");
  EXPECT_EQ(p.id_policy, config::IdPolicy::keep);
  EXPECT_EQ(p.on_name_conflict, config::NameConflict::fail);
  EXPECT_EQ(p.on_deleted_in_target, config::DeletedInTarget::recreate);
  EXPECT_EQ(p.require_secrets, RequireSecrets::yes);
}

}  // namespace
}  // namespace ferry::importer
