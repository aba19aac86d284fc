#include "access/access.h"

#include <gtest/gtest.h>

#include <map>

namespace ferry::access {
namespace {

using config::Role;

constexpr uid_t kDaemonUid = 990;

// A fake group database: ops=2001, devs=2002, readers=2003, admins=2004.
Directory fake_directory() {
  static const std::map<std::string, gid_t> groups = {
      {"ops", 2001}, {"devs", 2002}, {"readers", 2003}, {"admins", 2004}};
  return Directory{[](const std::string& name) -> std::optional<gid_t> {
                     auto it = groups.find(name);
                     return it == groups.end() ? std::nullopt : std::optional(it->second);
                   },
                   [](uid_t uid) -> std::optional<std::string> {
                     return uid == kDaemonUid ? std::optional<std::string>("ferry") : std::nullopt;
                   }};
}

config::Roles configured_roles() {
  config::Roles roles;
  roles.configured = true;
  roles.groups[Role::viewer] = {"readers"};
  roles.groups[Role::editor] = {"devs"};
  roles.groups[Role::deployer] = {"ops", "nosuchgroup"};
  roles.groups[Role::admin] = {"admins"};
  return roles;
}

Caller caller(uid_t uid, gid_t gid, std::vector<gid_t> groups, std::string user) {
  return Caller{uid, gid, std::move(groups), std::move(user)};
}

TEST(AccessTest, RootIsAlwaysAdmin) {
  Access with_roles(configured_roles(), kDaemonUid, fake_directory());
  Access without_roles(config::Roles{}, kDaemonUid, fake_directory());
  EXPECT_EQ(with_roles.role_of(caller(0, 0, {}, "root")), Role::admin);
  EXPECT_EQ(without_roles.role_of(caller(0, 0, {}, "root")), Role::admin);
  EXPECT_TRUE(with_roles.require(caller(0, 0, {}, "root"), Role::admin, "maintenance on").has_value());
}

TEST(AccessTest, WithoutRolesOnlyRootAndDaemonUser) {
  Access access(config::Roles{}, kDaemonUid, fake_directory());
  EXPECT_EQ(access.role_of(caller(kDaemonUid, 990, {}, "ferry")), Role::admin);
  EXPECT_EQ(access.role_of(caller(1001, 2004, {2004}, "alice")), std::nullopt);
  auto refused = access.require(caller(1001, 2004, {2004}, "alice"), Role::viewer, "status");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::permission_denied);
  EXPECT_EQ(refused.error().message,
            "permission denied: only root and the daemon's user (ferry) may use ferryd until roles: is set in "
            "ferryd.yaml");
}

TEST(AccessTest, DaemonUserWithoutNameIsShownByUid) {
  Access access(config::Roles{}, 4242, fake_directory());
  auto refused = access.require(caller(1001, 100, {}, "alice"), Role::viewer, "status");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "permission denied: only root and the daemon's user (uid 4242) may use ferryd until roles: is set in "
            "ferryd.yaml");
}

TEST(AccessTest, HighestRoleOfAnyGroup) {
  Access access(configured_roles(), kDaemonUid, fake_directory());
  EXPECT_EQ(access.role_of(caller(1001, 100, {2003}, "alice")), Role::viewer);
  EXPECT_EQ(access.role_of(caller(1001, 100, {2003, 2001, 2002}, "alice")), Role::deployer);
  EXPECT_EQ(access.role_of(caller(1001, 2004, {}, "alice")), Role::admin);  // primary group counts
  EXPECT_EQ(access.role_of(caller(1002, 100, {100}, "bob")), std::nullopt);
}

TEST(AccessTest, RolesIncludeLowerOnes) {
  Access access(configured_roles(), kDaemonUid, fake_directory());
  Caller deployer = caller(1003, 100, {2001}, "carol");
  EXPECT_TRUE(access.require(deployer, Role::viewer, "object list").has_value());
  EXPECT_TRUE(access.require(deployer, Role::editor, "object apply").has_value());
  EXPECT_TRUE(access.require(deployer, Role::deployer, "import").has_value());
  auto refused = access.require(deployer, Role::admin, "maintenance on");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "permission denied: maintenance on needs role admin; carol (uid 1003) has role deployer");
}

TEST(AccessTest, RefusalNamesNeededAndHeldRole) {
  Access access(configured_roles(), kDaemonUid, fake_directory());
  auto refused = access.require(caller(1001, 100, {2003}, "alice"), Role::editor, "object apply");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::permission_denied);
  EXPECT_EQ(refused.error().message,
            "permission denied: object apply needs role editor; alice (uid 1001) has role viewer");
}

TEST(AccessTest, RefusalWithoutAnyRole) {
  Access access(configured_roles(), kDaemonUid, fake_directory());
  auto refused = access.require(caller(1002, 100, {100}, "bob"), Role::editor, "object apply");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "permission denied: object apply needs role editor; bob (uid 1002) has no role (roles: in ferryd.yaml "
            "maps Unix groups to roles)");
}

TEST(AccessTest, UnnamedCallerShownByUid) {
  Access access(configured_roles(), kDaemonUid, fake_directory());
  auto refused = access.require(caller(5000, 100, {}, ""), Role::viewer, "status");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "permission denied: status needs role viewer; uid 5000 has no role (roles: in ferryd.yaml maps Unix "
            "groups to roles)");
}

TEST(AccessTest, DaemonUserHasNoImplicitRoleOnceRolesAreSet) {
  Access access(configured_roles(), kDaemonUid, fake_directory());
  EXPECT_EQ(access.role_of(caller(kDaemonUid, 990, {}, "ferry")), std::nullopt);
}

TEST(AccessTest, UnknownGroupIsAWarningNotAnError) {
  Access access(configured_roles(), kDaemonUid, fake_directory());
  ASSERT_EQ(access.warnings().size(), 1u);
  EXPECT_EQ(access.warnings()[0],
            "roles: group 'nosuchgroup' (role deployer) does not exist on this system; nobody gets that role "
            "through it");
}

TEST(AccessTest, SystemDirectoryResolvesRoot) {
  Directory directory = system_directory();
  EXPECT_EQ(directory.group_id("root"), gid_t{0});
  EXPECT_EQ(directory.user_name(0), std::string("root"));
  EXPECT_EQ(directory.group_id("ferry-no-such-group-xyz"), std::nullopt);
}

TEST(AccessTest, RoleNames) {
  EXPECT_EQ(role_name(Role::viewer), "viewer");
  EXPECT_EQ(role_name(Role::editor), "editor");
  EXPECT_EQ(role_name(Role::deployer), "deployer");
  EXPECT_EQ(role_name(Role::admin), "admin");
}

}  // namespace
}  // namespace ferry::access
