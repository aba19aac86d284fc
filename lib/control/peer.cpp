// Identifying the process on the other end of a control connection. Called on the
// event loop once per accepted connection; getpwuid_r may consult NSS.
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "control/server_state.h"

namespace ferry::control {
namespace {

std::string user_name(uid_t uid) {
  std::vector<char> buffer(16 * 1024);
  for (int attempt = 0; attempt < 4; ++attempt) {
    passwd entry{};
    passwd* found = nullptr;
    int rc = ::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE) {
      buffer.resize(buffer.size() * 4);
      continue;
    }
    return rc == 0 && found != nullptr ? std::string(found->pw_name) : std::string();
  }
  return {};
}

// SO_PEERGROUPS (Linux 4.13+) gives the groups the peer had when it connected.
std::optional<std::vector<gid_t>> socket_groups(int socket) {
#ifdef SO_PEERGROUPS
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto length = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(socket, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length) == 0) {
      groups.resize(length / sizeof(gid_t));
      return groups;
    }
    if (errno != ERANGE) return std::nullopt;
    groups.resize(length / sizeof(gid_t) + 1);  // the kernel reported the size it needs
  }
#else
  (void)socket;
#endif
  return std::nullopt;
}

// Fallback: the group database's view of the user (may differ from the process).
std::vector<gid_t> database_groups(const std::string& user, gid_t gid) {
  if (user.empty()) return {gid};
  int count = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  if (::getgrouplist(user.c_str(), gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<std::size_t>(count));
    if (::getgrouplist(user.c_str(), gid, groups.data(), &count) < 0) return {gid};
  }
  groups.resize(static_cast<std::size_t>(count));
  return groups;
}

}  // namespace

Expected<Peer> identify_peer(int socket) {
  ucred credentials{};
  socklen_t length = sizeof(credentials);
  if (::getsockopt(socket, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
    return fail(Errc::io, "cannot read the control client's credentials: " + errno_text(errno));
  }
  Peer peer;
  peer.pid = credentials.pid;
  peer.uid = credentials.uid;
  peer.gid = credentials.gid;
  peer.user = user_name(credentials.uid);
  auto groups = socket_groups(socket);
  peer.groups = groups ? std::move(*groups) : database_groups(peer.user, peer.gid);
  return peer;
}

}  // namespace ferry::control
