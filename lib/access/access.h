// Who may do what on the control socket (PRODUCT.md §10). Pure decisions over a
// caller's Unix identity and the roles: table of ferryd.yaml; no I/O after
// construction. Independent of lib/control: the server builds a Caller from the
// control::Peer of the connection.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "util/error.h"

namespace ferry::access {

/// The Unix identity of whoever sent a request.
struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;              ///< primary group
  std::vector<gid_t> groups;  ///< supplementary groups (may repeat gid)
  std::string user;           ///< login name; empty when unknown
};

/// The user and group database, a seam so tests need not depend on /etc/group.
/// Either function may be called from any thread.
struct Directory {
  std::function<std::optional<gid_t>(const std::string& group)> group_id;  ///< getgrnam_r
  std::function<std::optional<std::string>(uid_t uid)> user_name;          ///< getpwuid_r
};

/// The system's database (getgrnam_r, getpwuid_r).
Directory system_directory();

/// Role names as in ferryd.yaml: "viewer", "editor", "deployer", "admin".
std::string_view role_name(config::Role role);

/// Decides access. Immutable after construction; const members may be called
/// from any thread.
class Access {
 public:
  /// Resolves every group name in `roles` once. Unknown groups are not fatal:
  /// they are listed by warnings(). `daemon_uid` is the uid ferryd runs as.
  Access(const config::Roles& roles, uid_t daemon_uid, const Directory& directory = system_directory());

  /// root is always admin. Without roles configured, the daemon's own uid is admin
  /// and everyone else has no role. With roles, the highest role of any of the
  /// caller's groups (primary or supplementary); nullopt when none matches.
  std::optional<config::Role> role_of(const Caller& caller) const;

  /// Ok when the caller's role includes `needed`; otherwise permission_denied:
  ///   "permission denied: ACTION needs role R; alice (uid 1001) has role viewer"
  ///   "permission denied: ACTION needs role R; bob (uid 1002) has no role (roles: in
  ///    ferryd.yaml maps Unix groups to roles)"
  ///   "permission denied: only root and the daemon's user (ferry) may use ferryd until
  ///    roles: is set in ferryd.yaml"
  /// `action` is what the caller tried, e.g. "object apply".
  Status require(const Caller& caller, config::Role needed, std::string_view action) const;

  /// One line per group name of roles: that does not exist on this system.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct GroupRole {
    gid_t gid;
    config::Role role;
  };

  bool configured_;
  uid_t daemon_uid_;
  std::string daemon_user_;  ///< name for messages; "uid N" when it has none
  std::vector<GroupRole> group_roles_;
  std::vector<std::string> warnings_;
};

}  // namespace ferry::access
