// Blocking control-socket client for ferryctl. Plain POSIX; the calling thread only.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "control/control.h"
#include "control/unix_address.h"

namespace ferry::control {
namespace {

using nlohmann::json;

std::unexpected<Error> connect_error(const std::filesystem::path& path, int err) {
  const std::string p = path.string();
  if (err == ENOENT || err == ECONNREFUSED) {
    return fail(Errc::unavailable, "ferryd is not running or not listening on " + p);
  }
  if (err == EACCES || err == EPERM) {
    return fail(Errc::permission_denied, "cannot open " + p +
                                             ": permission denied (the socket is group-restricted; ask an admin to "
                                             "add you to its group)");
  }
  return fail(Errc::unavailable, "cannot connect to ferryd on " + p + ": " + errno_text(err));
}

std::unexpected<Error> lost(const std::filesystem::path& path, std::string_view what) {
  return fail(Errc::unavailable, "lost the connection to ferryd on " + path.string() + ": " + std::string(what));
}

// Sends bytes with the descriptors attached to the first byte (one sendmsg).
ssize_t send_with_fds(int socket, std::string_view bytes, std::span<const int> fds) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.resize(CMSG_SPACE(fds.size_bytes()));
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* header = CMSG_FIRSTHDR(&msg);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(fds.size_bytes());
    std::memcpy(CMSG_DATA(header), fds.data(), fds.size_bytes());
  }
  return ::sendmsg(socket, &msg, MSG_NOSIGNAL);
}

}  // namespace

Expected<sockaddr_un> unix_address(const std::filesystem::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string& text = path.native();
  if (text.empty() || text.size() >= sizeof(address.sun_path)) {
    return fail(Errc::invalid_argument, "control socket path '" + text + "' must be 1 to " +
                                            std::to_string(sizeof(address.sun_path) - 1) + " bytes long");
  }
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  return address;
}

Expected<Client> Client::connect(const std::filesystem::path& socket) {
  sockaddr_un address = FERRY_TRY(unix_address(socket));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail(Errc::io, "cannot create a Unix socket: " + errno_text(errno));
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return connect_error(socket, errno);
  return Client(std::move(fd), socket);
}

Status Client::send_request(const std::string& frame, std::span<const int> fds) {
  std::string_view rest = frame;
  bool first = true;
  while (!rest.empty()) {
    ssize_t sent = send_with_fds(fd_.get(), rest, first ? fds : std::span<const int>{});
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return lost(path_, errno_text(errno));
    rest.remove_prefix(static_cast<std::size_t>(sent));
    first = false;  // the kernel took the descriptors with the first byte
  }
  return {};
}

Expected<json> Client::next_message() {
  char chunk[64 * 1024];
  for (;;) {
    auto payload = decoder_.next();
    if (!payload) return std::unexpected(payload.error().with_context("ferryd on " + path_.string()));
    if (*payload) return parse_payload(**payload);
    ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return lost(path_, errno_text(errno));
    if (n == 0) return lost(path_, "ferryd closed it before answering");
    decoder_.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
  }
}

Expected<json> Client::call(std::string_view command, json args, std::span<const int> fds,
                            const std::function<void(const json& event)>& on_event) {
  if (!fd_) return fail(Errc::internal, "control client used after a lost connection");
  if (fds.size() > kMaxFds) {
    return fail(Errc::invalid_argument, std::string(command) + ": " + std::to_string(fds.size()) +
                                            " files to pass, but at most " + std::to_string(kMaxFds) +
                                            " may travel with one request; split the command");
  }
  RequestHeader header{next_id_++, std::string(command), std::move(args), fds.size()};
  std::string frame = FERRY_TRY(encode_message(request_message(header)));
  FERRY_TRY(send_request(frame, fds));
  for (;;) {
    json message = FERRY_TRY(next_message());
    Reply reply = FERRY_TRY(parse_reply(message));
    if (reply.id != header.id) {
      return fail(Errc::corrupt, "ferryd answered request " + std::to_string(reply.id) + " while request " +
                                     std::to_string(header.id) + " was waiting");
    }
    if (reply.kind == ReplyKind::event) {
      if (on_event) on_event(reply.event);
      continue;
    }
    if (reply.kind == ReplyKind::error) return std::unexpected(std::move(reply.error));
    return std::move(reply.result);
  }
}

}  // namespace ferry::control
