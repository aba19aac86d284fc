#include "import/import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "import/import_fixture.h"

namespace ferry::importer {
namespace {

using namespace ferry::importer::test;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ImportDeploy : public ImportTest {
 protected:
  // A data source (global), a table containing two fields, a dataset using the data
  // source and the table, with attachments: in deployment order.
  PackageSpec sample() {
    PackageSpec s;
    s.add(1, "datasource", "/shared", "warehouse", {{"host", "db.internal"}, {"port", 5432}});
    s.secret(1, "/password");
    s.add(3, "field", "/finance", "id", {{"sql_type", "int"}});
    s.add(4, "field", "/finance", "amount", {{"sql_type", "numeric"}});
    s.add(2, "table", "/finance", "orders_table", {{"rows", 10}});
    s.contains(2, 3);
    s.contains(2, 4);
    s.add(5, "dataset", "/finance", "orders", {{"query", "select * from orders"}});
    s.uses(5, 1);
    s.uses(5, 2);
    s.attach(5, "schema.sql", schema_);
    s.attach(5, "sample.csv", sample_);
    return s;
  }

  std::string schema_ = "create table orders (id int, amount numeric);\n";
  std::string sample_ = std::string(100000, 'a') + "sample rows";
};

TEST_F(ImportDeploy, DeploysEverythingInPackageOrder) {
  auto s = sample();
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  ASSERT_TRUE(p.ok());
  int64_t before = catalog_->revision().value();
  auto r = deploy_ok(pkg, p);
  EXPECT_EQ(r.state, ImportState::deployed);
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(r.objects.size(), 5u);
  std::vector<std::string> order;
  for (size_t i = 0; i < r.objects.size(); ++i) {
    const ObjectResult& o = r.objects[i];
    EXPECT_EQ(o.result, Outcome::deployed) << o.address;
    EXPECT_EQ(o.action, Action::create);
    EXPECT_EQ(o.revision, before + static_cast<int64_t>(i) + 1) << o.address;  // revisions follow the order
    order.push_back(o.address);
  }
  EXPECT_THAT(order, ElementsAre("datasource:/shared/warehouse", "field:/finance/id", "field:/finance/amount",
                                 "table:/finance/orders_table", "dataset:/finance/orders"));
  EXPECT_EQ(r.revision, catalog_->revision().value());
  auto ds = catalog_->get(guid(5)).value();
  EXPECT_EQ(ds.owner, "ferry");
  EXPECT_EQ(ds.spec, json::parse(R"({"query":"select * from orders"})"));
  EXPECT_THAT(ds.refs, ElementsAre(catalog::Ref{guid(1), catalog::RefKind::uses},
                                   catalog::Ref{guid(2), catalog::RefKind::uses}));
  EXPECT_EQ(catalog_->get(guid(2)).value().refs.at(0).kind, catalog::RefKind::contains);
}

TEST_F(ImportDeploy, APlainNewObjectIsWrittenFromThePlansText) {
  PackageSpec s;
  s.add(1, "dataset", "/finance", "orders", {{"query", "select 1"}});
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  ASSERT_TRUE(p.items.at(0).spec_text);
  ASSERT_EQ(*p.items.at(0).spec_text, R"({"query":"select 1"})");
  // The package is not read again.
  p.items.at(0).spec_text = std::make_shared<const std::string>(R"({"query":"from the plan"})");
  deploy_ok(pkg, p);
  EXPECT_EQ(catalog_->get(guid(1)).value().spec, json::parse(R"({"query":"from the plan"})"));
}

// The object appeared here between plan and deploy: the catalog compares it with the
// plan's text (its tree), finds it the same and leaves it unchanged.
TEST_F(ImportDeploy, AnObjectCreatedHereSincePlanningIsComparedWithThePlansText) {
  PackageSpec s;
  s.add(1, "dataset", "/finance", "orders", {{"query", "select 1"}});
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  ASSERT_TRUE(p.items.at(0).spec_text);
  apply({draft(1, "dataset", "/finance", "orders", {{"query", "select 1"}})});
  int64_t before = catalog_->revision().value();
  auto r = deploy_ok(pkg, p);
  EXPECT_EQ(r.objects.at(0).result, Outcome::unchanged);
  EXPECT_EQ(catalog_->revision().value(), before);
}

TEST_F(ImportDeploy, AttachmentBytesArriveInTheBlobStore) {
  auto s = sample();
  auto pkg = open(s);
  deploy_ok(pkg, plan_ok(pkg));
  auto ds = catalog_->get(guid(5)).value();
  ASSERT_EQ(ds.attachments.size(), 2u);
  EXPECT_EQ(ds.attachments[0].name, "sample.csv");
  EXPECT_EQ(slurp(catalog_->blob_path(ds.attachments[0].sha256)), sample_);
  EXPECT_EQ(ds.attachments[1].name, "schema.sql");
  EXPECT_EQ(slurp(catalog_->blob_path(ds.attachments[1].sha256)), schema_);
  // No temporary file is left beside the blobs.
  for (const auto& e : fs::directory_iterator(dir_.path() / "dest" / "blobs")) {
    EXPECT_TRUE(e.is_directory()) << e.path();
  }
}

// Attachments are stored a few at a time, each thread with its own package handle:
// one that fails its checks (the file changed after it was opened) fails the deploy
// before any change, naming it.
TEST_F(ImportDeploy, AnAttachmentChangedAfterOpeningFailsTheDeployBeforeAnyChange) {
  PackageSpec s;
  s.add(1, "dataset", "/finance", "orders");
  std::mt19937 random(7);
  std::vector<std::string> blobs;
  for (int n = 0; n < 6; ++n) {
    std::string bytes(4096, '\0');
    for (char& c : bytes) c = static_cast<char>(random());  // incompressible: stored as is
    s.attach(1, "part" + std::to_string(n), bytes);
    blobs.push_back(bytes);
  }
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  ASSERT_TRUE(p.ok());
  {
    std::string zip = slurp(pkg.path());
    size_t at = zip.find(blobs[4]);
    ASSERT_NE(at, std::string::npos);
    std::fstream f(pkg.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(at + 100));
    f.put(static_cast<char>(~blobs[4][100]));
  }
  auto r = deploy(pkg, p, *catalog_, "imp-1", "ferry");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->state, ImportState::failed);
  EXPECT_THAT(r->error, HasSubstr("attachments/" + sha256_hex(blobs[4])));
  EXPECT_THAT(r->error, HasSubstr("damaged data"));  // libzip's CRC check comes first
  EXPECT_EQ(catalog_->revision().value(), 0);
  EXPECT_FALSE(catalog_->find(guid(1)).value().has_value());
}

TEST_F(ImportDeploy, ReimportingTheSamePackageIsAllUnchanged) {
  auto secrets = parse_secrets("s.yaml", "secrets: [{guid: " + guid(1) + ", pointer: /password, value: pw}]");
  ASSERT_TRUE(secrets);
  auto pkg = open(sample());
  deploy_ok(pkg, plan_ok(pkg, {}, *secrets), "imp-1");
  std::string after_first = dump();
  auto again = plan_ok(pkg, {}, *secrets);
  EXPECT_EQ(again.count(Action::unchanged), 5u);
  auto r = deploy_ok(pkg, again, "imp-2");
  EXPECT_EQ(r.state, ImportState::unchanged);
  for (const auto& o : r.objects) EXPECT_EQ(o.result, Outcome::unchanged) << o.address;
  EXPECT_EQ(dump(), after_first);
  EXPECT_TRUE(catalog_->prior_versions("imp-2").value().empty());
  EXPECT_EQ(catalog_->get(guid(1)).value().spec.at("password"), "pw");
}

TEST_F(ImportDeploy, AnUpdateKeepsTheSecretAndRecordsPriorVersions) {
  apply({draft(1, "datasource", "/shared", "warehouse", {{"host", "old"}, {"password", "prod-pw"}})});
  auto old = catalog_->get(guid(1)).value();
  PackageSpec s;
  s.add(1, "datasource", "/shared", "warehouse", {{"host", "new"}});
  s.secret(1, "/password");
  s.add(2, "dataset", "/d", "new");
  s.uses(2, 1);
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  EXPECT_EQ(item(p, 1).action, Action::update);
  auto r = deploy_ok(pkg, p, "imp-7");
  EXPECT_EQ(r.state, ImportState::deployed);
  auto now = catalog_->get(guid(1)).value();
  EXPECT_EQ(now.spec, json::parse(R"({"host":"new","password":"prod-pw"})"));
  EXPECT_EQ(now.owner, "alice");  // updates keep the owner
  auto prior = catalog_->prior_versions("imp-7").value();
  ASSERT_EQ(prior.size(), 2u);
  EXPECT_EQ(prior[0].guid, guid(1));
  ASSERT_TRUE(prior[0].object);
  EXPECT_EQ(prior[0].object->spec, old.spec);
  EXPECT_EQ(prior[1].guid, guid(2));
  EXPECT_FALSE(prior[1].object);  // absent before
}

TEST_F(ImportDeploy, DeletionsAreApplied) {
  apply({draft(1, "dataset", "/f", "a"), draft(2, "dataset", "/f", "b")});
  PackageSpec s;
  s.remove(1, "dataset", "/f", "a");
  s.remove(3, "dataset", "/f", "never-here");
  s.add(4, "dataset", "/f", "a");  // takes the freed address
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  ASSERT_TRUE(p.ok()) << p.problems().front();
  auto r = deploy_ok(pkg, p);
  EXPECT_EQ(r.state, ImportState::deployed);
  ASSERT_EQ(r.objects.size(), 3u);
  EXPECT_EQ(r.objects[0].action, Action::remove);
  EXPECT_EQ(r.objects[0].result, Outcome::deployed);
  EXPECT_EQ(r.objects[1].result, Outcome::skipped);
  EXPECT_EQ(r.objects[1].reason, "already absent");
  EXPECT_TRUE(catalog_->tombstone(guid(1)).value());
  EXPECT_EQ(catalog_->get("dataset:/f/a").value().guid, guid(4));
}

TEST_F(ImportDeploy, APlanWithAnErrorChangesNothing) {
  apply({draft(9, "dataset", "/finance", "orders")});
  auto s = sample();  // dataset 5 clashes with object 9
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  ASSERT_FALSE(p.ok());
  std::string before = dump();
  auto r = deploy_ok(pkg, p);
  EXPECT_EQ(r.state, ImportState::failed);
  EXPECT_THAT(r.error, HasSubstr("dataset:/finance/orders (" + guid(5) + "): name clash"));
  EXPECT_EQ(r.objects.at(4).result, Outcome::failed);
  EXPECT_THAT(r.objects.at(4).reason, HasSubstr("name clash"));
  EXPECT_EQ(r.objects.at(0).result, Outcome::failed);
  EXPECT_EQ(r.objects.at(0).reason, "not deployed: the import is atomic and other objects cannot be deployed");
  EXPECT_EQ(dump(), before);
  EXPECT_TRUE(catalog_->prior_versions("imp-1").value().empty());
}

TEST_F(ImportDeploy, ACatalogRefusalChangesNothing) {
  // The catalog checks everything again inside its transaction: here the address
  // was taken between the plan and the deploy.
  PackageSpec s;
  s.add(1, "dataset", "/f", "d");
  s.add(2, "dataset", "/c", "workdays");
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  ASSERT_TRUE(p.ok());
  apply({draft(9, "dataset", "/c", "workdays")});
  std::string before = dump();
  auto r = deploy_ok(pkg, p);
  EXPECT_EQ(r.state, ImportState::failed);
  EXPECT_THAT(r.objects[1].reason, HasSubstr("refused by the catalog: "));
  EXPECT_THAT(r.objects[1].reason, HasSubstr(guid(9)));
  EXPECT_EQ(r.objects[0].reason, "not deployed: the import is atomic and the catalog refused it");
  EXPECT_EQ(dump(), before);
}

TEST_F(ImportDeploy, AMetadataOnlyPackageUsesBlobsAlreadyHere) {
  store(schema_);
  PackageSpec s;
  s.include_data = false;
  s.add(1, "dataset", "/f", "d");
  s.attach(1, "schema.sql", schema_);
  auto pkg = open(s);
  auto r = deploy_ok(pkg, plan_ok(pkg));
  EXPECT_EQ(r.state, ImportState::deployed);
  EXPECT_EQ(catalog_->get(guid(1)).value().attachments.at(0).sha256, sha256_hex(schema_));
}

TEST_F(ImportDeploy, RefusesAPlanOfAnotherPackageAndAnEmptyImportId) {
  auto s = sample();
  auto pkg = open(s);
  auto p = plan_ok(pkg);
  EXPECT_EQ(importer::deploy(pkg, p, *catalog_, "", "ferry").error().code, Errc::invalid_argument);
  s.package_id = "11111111-2222-4333-8444-555555555555";
  auto other = open(s, "other.zip");
  auto r = importer::deploy(other, p, *catalog_, "imp-1", "ferry");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(catalog_->revision().value(), 0);
}

// Report ---------------------------------------------------------------------------

TEST_F(ImportDeploy, TheReportNamesEveryObjectAndNoSecretValue) {
  auto secrets = parse_secrets("s.yaml", "secrets: [{guid: " + guid(1) + ", pointer: /password, value: SECRET-77}]");
  ASSERT_TRUE(secrets);
  auto pkg = open(sample());
  auto p = plan_ok(pkg, {}, *secrets);
  auto r = deploy_ok(pkg, p, "imp-9");
  Report report;
  report.import_id = "imp-9";
  report.file = pkg.path();
  report.manifest = &pkg.manifest();
  report.plan = &p;
  report.result = &r;
  report.started_at = parse_rfc3339("2026-11-24T07:00:00Z").value();
  report.finished_at = parse_rfc3339("2026-11-24T07:00:01.5Z").value();
  json j = report_json(report);
  EXPECT_EQ(j.dump().find("SECRET-77"), std::string::npos);
  EXPECT_EQ(j["format"], "ferry-import-report/1");
  EXPECT_EQ(j["state"], "deployed");
  EXPECT_EQ(j["import_id"], "imp-9");
  EXPECT_EQ(j["file"], pkg.path().string());
  EXPECT_EQ(j["started_at"], "2026-11-24T07:00:00.000Z");
  EXPECT_EQ(j["finished_at"], "2026-11-24T07:00:01.500Z");
  EXPECT_EQ(j["package"]["id"], pkg.manifest().package_id);
  EXPECT_EQ(j["package"]["name"], "test-full-1");
  EXPECT_EQ(j["package"]["source"]["environment"], "test");
  EXPECT_EQ(j["policy"], json::parse(R"({"id_policy":"keep","on_name_conflict":"fail",
      "on_deleted_in_target":"fail","require_secrets":false,"atomic":true,"into":null})"));
  EXPECT_EQ(j["counts"]["create"], 5);
  EXPECT_FALSE(j.contains("error"));
  ASSERT_EQ(j["objects"].size(), 5u);
  EXPECT_EQ(j["objects"][0],
            json::parse(R"({"kind":"object","type":"datasource",
      "address":"datasource:/shared/warehouse","source_guid":")" +
                        guid(1) + R"(","guid":")" + guid(1) +
                        R"(","guid_before":null,"action":"create","result":"deployed","revision":1,"overrides":[],
      "secrets":[{"pointer":"/password","set":true,"source":"secrets_file"}],"warnings":[]})"));
  EXPECT_EQ(j["warnings"], json::array());
}

TEST_F(ImportDeploy, ReportStates) {
  auto pkg = open(sample());
  auto p = plan_ok(pkg);  // the password is missing: a warning
  Report staged;
  staged.manifest = &pkg.manifest();
  staged.plan = &p;
  EXPECT_EQ(state_of(staged), ImportState::staged);
  json j = report_json(staged);
  EXPECT_EQ(j["state"], "staged");
  EXPECT_FALSE(j["objects"][0].contains("result"));
  EXPECT_THAT(j["warnings"].dump(), HasSubstr("secret /password not set"));
  EXPECT_EQ(j["objects"][0]["secrets"][0], json::parse(R"({"pointer":"/password","set":false,"source":"missing"})"));

  Report rejected;
  rejected.file = "/in/bad.zip";
  rejected.error = Error{Errc::corrupt, "package /in/bad.zip: signature does not verify"};
  EXPECT_EQ(state_of(rejected), ImportState::rejected);
  json k = report_json(rejected);
  EXPECT_EQ(k["state"], "rejected");
  EXPECT_EQ(k["package"], nullptr);
  EXPECT_EQ(k["error"], "package /in/bad.zip: signature does not verify");
  EXPECT_EQ(k["objects"], json::array());

  auto r = deploy_ok(pkg, p);
  auto again = plan_ok(pkg);
  auto second = deploy_ok(pkg, again, "imp-2");
  Report unchanged;
  unchanged.manifest = &pkg.manifest();
  unchanged.plan = &again;
  unchanged.result = &second;
  EXPECT_EQ(report_json(unchanged)["state"], "unchanged");
  EXPECT_EQ(r.state, ImportState::deployed);
}

}  // namespace
}  // namespace ferry::importer
