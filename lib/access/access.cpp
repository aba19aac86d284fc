// Role decisions for control requests. Construction reads the group database
// once; afterwards everything is pure and may run on any thread.
#include "access/access.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

namespace ferry::access {
namespace {

constexpr uid_t kRootUid = 0;

// Runs a getXXX_r call, growing its buffer on ERANGE. `call(buffer, size)` returns
// the function's result code and whether an entry was found.
template <typename Call>
bool lookup_entry(Call call) {
  std::vector<char> buffer(16 * 1024);
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto [rc, found] = call(buffer.data(), buffer.size());
    if (rc != ERANGE) return rc == 0 && found;
    buffer.resize(buffer.size() * 4);
  }
  return false;
}

std::optional<gid_t> system_group_id(const std::string& name) {
  gid_t gid = 0;
  bool found = lookup_entry([&](char* buffer, std::size_t size) {
    group entry{};
    group* result = nullptr;
    int rc = ::getgrnam_r(name.c_str(), &entry, buffer, size, &result);
    if (result != nullptr) gid = result->gr_gid;
    return std::pair{rc, result != nullptr};
  });
  return found ? std::optional(gid) : std::nullopt;
}

std::optional<std::string> system_user_name(uid_t uid) {
  std::string name;
  bool found = lookup_entry([&](char* buffer, std::size_t size) {
    passwd entry{};
    passwd* result = nullptr;
    int rc = ::getpwuid_r(uid, &entry, buffer, size, &result);
    if (result != nullptr) name = result->pw_name;
    return std::pair{rc, result != nullptr};
  });
  return found ? std::optional(name) : std::nullopt;
}

// "alice (uid 1001)", or "uid 1001" when the uid has no name.
std::string describe(const Caller& caller) {
  std::string uid = "uid " + std::to_string(caller.uid);
  return caller.user.empty() ? uid : caller.user + " (" + uid + ")";
}

bool has_group(const Caller& caller, gid_t gid) {
  return caller.gid == gid || std::find(caller.groups.begin(), caller.groups.end(), gid) != caller.groups.end();
}

}  // namespace

Directory system_directory() { return Directory{system_group_id, system_user_name}; }

std::string_view role_name(config::Role role) {
  switch (role) {
    case config::Role::viewer:
      return "viewer";
    case config::Role::editor:
      return "editor";
    case config::Role::deployer:
      return "deployer";
    case config::Role::admin:
      return "admin";
  }
  return "viewer";
}

Access::Access(const config::Roles& roles, uid_t daemon_uid, const Directory& directory)
    : configured_(roles.configured), daemon_uid_(daemon_uid) {
  auto daemon_user = directory.user_name ? directory.user_name(daemon_uid) : std::nullopt;
  daemon_user_ = daemon_user ? *daemon_user : "uid " + std::to_string(daemon_uid);
  for (const auto& [role, names] : roles.groups) {
    for (const std::string& name : names) {
      auto gid = directory.group_id ? directory.group_id(name) : std::nullopt;
      if (gid) {
        group_roles_.push_back(GroupRole{*gid, role});
      } else {
        warnings_.push_back("roles: group '" + name + "' (role " + std::string(role_name(role)) +
                            ") does not exist on this system; nobody gets that role through it");
      }
    }
  }
}

std::optional<config::Role> Access::role_of(const Caller& caller) const {
  if (caller.uid == kRootUid) return config::Role::admin;
  if (!configured_) {
    return caller.uid == daemon_uid_ ? std::optional(config::Role::admin) : std::nullopt;
  }
  std::optional<config::Role> best;
  for (const GroupRole& entry : group_roles_) {
    if (has_group(caller, entry.gid) && (!best || entry.role > *best)) best = entry.role;
  }
  return best;
}

Status Access::require(const Caller& caller, config::Role needed, std::string_view action) const {
  auto role = role_of(caller);
  if (role && *role >= needed) return {};
  if (!configured_) {
    return fail(Errc::permission_denied, "permission denied: only root and the daemon's user (" + daemon_user_ +
                                             ") may use ferryd until roles: is set in ferryd.yaml");
  }
  std::string head = "permission denied: " + std::string(action) + " needs role " + std::string(role_name(needed)) +
                     "; " + describe(caller);
  if (!role)
    return fail(Errc::permission_denied, head + " has no role (roles: in ferryd.yaml maps Unix groups to roles)");
  return fail(Errc::permission_denied, head + " has role " + std::string(role_name(*role)));
}

}  // namespace ferry::access
