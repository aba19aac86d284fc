// Non-atomic deploys (atomic: false, ferryctl import --partial): what fails is
// reported, what depends on it is skipped naming it, the rest deploys.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "import/import.h"
#include "import/import_fixture.h"

namespace ferry::importer {
namespace {

using namespace ferry::importer::test;
using ::testing::HasSubstr;

class ImportPartial : public ImportTest {
 protected:
  // a <- b <- c <- e (each uses the one before), d on its own; b is a task whose
  // /token secret is required and missing.
  PackageSpec chain() {
    PackageSpec s;
    s.add(1, "dataset", "/f", "a");
    s.add(2, "task", "/f", "b");
    s.uses(2, 1);
    s.secret(2, "/token");
    s.add(3, "dataset", "/f", "c");
    s.uses(3, 2);
    s.add(5, "table", "/f", "e");
    s.uses(5, 3);
    s.add(4, "dataset", "/f", "d");
    return s;
  }

  static Policy partial() {
    Policy p;
    p.atomic = false;
    p.require_secrets = RequireSecrets::yes;
    return p;
  }

  std::string b_ = "task:/f/b (" + guid(2) + ")";
};

TEST_F(ImportPartial, AFailingMiddleNodeSkipsItsDependentsAndTheRestDeploys) {
  auto pkg = open(chain());
  auto p = plan_ok(pkg, partial());
  ASSERT_FALSE(p.ok());
  auto r = deploy_ok(pkg, p);
  EXPECT_EQ(r.state, ImportState::partially_deployed);
  ASSERT_EQ(r.objects.size(), 5u);
  EXPECT_EQ(r.objects[0].result, Outcome::deployed);  // a
  EXPECT_EQ(r.objects[1].result, Outcome::failed);    // b
  EXPECT_THAT(r.objects[1].reason, HasSubstr("secret /token"));
  EXPECT_EQ(r.objects[2].result, Outcome::skipped);  // c
  EXPECT_EQ(r.objects[2].reason, "depends on " + b_ + ", which failed");
  EXPECT_EQ(r.objects[3].result, Outcome::skipped);  // e, through c
  EXPECT_EQ(r.objects[3].reason,
            "depends on dataset:/f/c (" + guid(3) + "), which is skipped because " + b_ + " failed");
  EXPECT_EQ(r.objects[4].result, Outcome::deployed);  // d
  EXPECT_EQ(r.error, b_ + ": " + r.objects[1].reason);
  EXPECT_TRUE(catalog_->find("dataset:/f/a").value());
  EXPECT_TRUE(catalog_->find("dataset:/f/d").value());
  EXPECT_FALSE(catalog_->find(guid(2)).value());
  EXPECT_FALSE(catalog_->find(guid(3)).value());
  EXPECT_EQ(r.revision, catalog_->revision().value());
  EXPECT_EQ(catalog_->prior_versions("imp-1").value().size(), 2u);  // a and d, one transaction
}

TEST_F(ImportPartial, TheSamePlanDeploysNothingWhenAtomic) {
  auto pkg = open(chain());
  Policy atomic = partial();
  atomic.atomic = true;
  auto r = deploy_ok(pkg, plan_ok(pkg, atomic));
  EXPECT_EQ(r.state, ImportState::failed);
  EXPECT_EQ(catalog_->revision().value(), 0);
}

TEST_F(ImportPartial, ACatalogRefusalFailsOnlyThatObjectAndItsDependents) {
  PackageSpec s;
  s.add(1, "dataset", "/f", "a");
  s.add(2, "dataset", "/f", "b");
  s.add(3, "task", "/f", "c");
  s.uses(3, 2);
  auto pkg = open(s);
  auto p = plan_ok(pkg, partial());
  ASSERT_TRUE(p.ok());
  apply({draft(9, "dataset", "/f", "b")});  // between the plan and the deploy
  auto r = deploy_ok(pkg, p);
  EXPECT_EQ(r.state, ImportState::partially_deployed);
  EXPECT_EQ(r.objects[0].result, Outcome::deployed);
  EXPECT_EQ(r.objects[1].result, Outcome::failed);
  EXPECT_THAT(r.objects[1].reason, HasSubstr("refused by the catalog: "));
  EXPECT_THAT(r.objects[1].reason, HasSubstr(guid(9)));
  EXPECT_EQ(r.objects[2].result, Outcome::skipped);
  EXPECT_EQ(r.objects[2].reason, "depends on dataset:/f/b (" + guid(2) + "), which failed");
  EXPECT_TRUE(catalog_->find(guid(1)).value());
  EXPECT_FALSE(catalog_->find(guid(3)).value());
}

TEST_F(ImportPartial, NothingDeployableIsFailed) {
  PackageSpec s;
  s.add(2, "task", "/f", "b");
  s.secret(2, "/token");
  auto pkg = open(s);
  auto r = deploy_ok(pkg, plan_ok(pkg, partial()));
  EXPECT_EQ(r.state, ImportState::failed);
  EXPECT_EQ(r.objects[0].result, Outcome::failed);
  EXPECT_EQ(catalog_->revision().value(), 0);
}

TEST_F(ImportPartial, WithoutProblemsItIsAnOrdinaryDeploy) {
  auto s = chain();
  s.required.clear();
  auto pkg = open(s);
  auto r = deploy_ok(pkg, plan_ok(pkg, partial()));
  EXPECT_EQ(r.state, ImportState::deployed);
  auto again = deploy_ok(pkg, plan_ok(pkg, partial()), "imp-2");
  EXPECT_EQ(again.state, ImportState::unchanged);
}

TEST_F(ImportPartial, ARefusedPlanIsRefusedWhole) {
  PackageSpec s;
  s.add(1, "dataset", "/f", "a");
  s.add(2, "report", "/f", "r");  // not importable here
  auto pkg = open(s);
  auto p = plan_ok(pkg, partial());
  ASSERT_TRUE(p.refused);
  auto r = deploy_ok(pkg, p);
  EXPECT_EQ(r.state, ImportState::failed);
  EXPECT_EQ(catalog_->revision().value(), 0);
}

TEST_F(ImportPartial, ThePolicyShowsAtomic) {
  EXPECT_EQ(policy_json(partial())["atomic"], false);
  EXPECT_EQ(policy_json(Policy{})["atomic"], true);
  config::WatchRule rule;
  rule.atomic = false;
  EXPECT_FALSE(Policy::from(rule).atomic);
}

}  // namespace
}  // namespace ferry::importer
