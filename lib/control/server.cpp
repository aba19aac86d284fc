// ControlServer: binds the control socket and accepts connections. Everything here
// runs on the event loop thread (one thread runs the io_context), except listen(),
// which may also run before the loop starts.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <chrono>

#include "control/control.h"
#include "control/server_state.h"
#include "control/unix_address.h"

namespace ferry::control {
namespace {

namespace asio = boost::asio;
using Protocol = asio::local::stream_protocol;

// What is at the socket path before we bind: nothing, a listening daemon, a stale
// socket left by a crash, or something that is not ours to remove.
Status clear_socket_path(const std::filesystem::path& path, const sockaddr_un& address) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status{} : fail_errno("cannot inspect the control socket", path.string(), errno);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return fail(Errc::conflict,
                path.string() + " exists and is not a socket; remove it or set socket: to another path");
  }
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) return fail_errno("cannot create a Unix socket", path.string(), errno);
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0) {
    return fail(Errc::conflict, "another process (another ferryd?) is already listening on " + path.string() +
                                    "; stop it first or set socket: to another path");
  }
  if (errno != ECONNREFUSED) return fail_errno("cannot probe the existing control socket", path.string(), errno);
  // Nobody listens: a socket file left behind by a daemon that did not stop cleanly.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return fail_errno("cannot remove the stale control socket", path.string(), errno);
  }
  return {};
}

Status create_parent(const std::filesystem::path& path) {
  if (!path.has_parent_path()) return {};
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return fail_errno("cannot create the control socket's folder", path.parent_path().string(), ec.value());
  return {};
}

// Permissions, group and listen() on a freshly bound socket file.
Status finish_socket(int fd, const std::filesystem::path& path, const ServerOptions& options) {
  if (::chmod(path.c_str(), options.mode) != 0)
    return fail_errno("cannot chmod the control socket", path.string(), errno);
  if (options.group && ::chown(path.c_str(), static_cast<uid_t>(-1), *options.group) != 0) {
    return fail_errno("cannot give the control socket to group " + std::to_string(*options.group), path.string(),
                      errno);
  }
  if (::listen(fd, SOMAXCONN) != 0) return fail_errno("cannot listen on the control socket", path.string(), errno);
  return {};
}

// Creates, binds and listens; the file gets `options` permissions and group.
Expected<UniqueFd> bind_socket(const std::filesystem::path& path, const sockaddr_un& address,
                               const ServerOptions& options) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fail_errno("cannot create a Unix socket", path.string(), errno);
  // Linux creates the file from the socket inode's mode: restrict it before bind so
  // no one can connect through a wider mode in the moment before chmod().
  (void)::fchmod(fd.get(), options.mode);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return fail_errno("cannot bind the control socket", path.string(), errno);
  }
  if (auto finished = finish_socket(fd.get(), path, options); !finished) {
    ::unlink(path.c_str());
    return std::unexpected(finished.error());
  }
  return fd;
}

}  // namespace

ControlServer::State::State(asio::any_io_executor executor, std::filesystem::path path, Handler handler)
    : executor_(executor), acceptor_(executor), path_(std::move(path)), handler_(std::move(handler)) {}

void ControlServer::State::start_accepting() {
  asio::co_spawn(executor_, accept_loop(shared_from_this()), asio::detached);
}

asio::awaitable<void> ControlServer::State::accept_loop(std::shared_ptr<State> self) {
  while (self->phase_ == Phase::running) {
    boost::system::error_code ec;
    co_await self->acceptor_.async_wait(Protocol::acceptor::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || self->phase_ != Phase::running) co_return;
    if (ec) co_return;  // the acceptor is unusable; stop() still cleans up
    co_await self->accept_ready();
  }
}

// Accepts every pending connection. Out of descriptors (EMFILE/ENFILE) pauses
// briefly instead of spinning: the pending connection stays queued.
asio::awaitable<void> ControlServer::State::accept_ready() {
  for (;;) {
    int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      start_session(UniqueFd(fd));
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      asio::steady_timer pause(executor_, std::chrono::milliseconds(100));
      boost::system::error_code ec;
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return;  // EAGAIN or a transient error: wait for the next readiness
  }
}

void ControlServer::State::stop() {
  if (phase_ == Phase::stopped) return;
  phase_ = Phase::stopped;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  // Unlink only our own file: a successor may already have replaced it.
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == socket_dev_ && st.st_ino == socket_ino_) {
    ::unlink(path_.c_str());
  }
  close_idle_sessions();
}

Expected<ControlServer> ControlServer::listen(asio::any_io_executor executor, const std::filesystem::path& socket,
                                              ServerOptions options, Handler handler) {
  sockaddr_un address = FERRY_TRY(unix_address(socket));
  FERRY_TRY(create_parent(socket));
  FERRY_TRY(clear_socket_path(socket, address));
  UniqueFd fd = FERRY_TRY(bind_socket(socket, address, options));
  struct stat st {};
  if (::lstat(socket.c_str(), &st) != 0) return fail_errno("cannot inspect the control socket", socket.string(), errno);
  auto state = std::make_shared<State>(executor, socket, std::move(handler));
  state->socket_dev_ = st.st_dev;
  state->socket_ino_ = st.st_ino;
  boost::system::error_code ec;
  state->acceptor_.assign(Protocol(), fd.get(), ec);
  if (ec) {
    ::unlink(socket.c_str());
    return fail(Errc::io, socket.string() + ": cannot watch the control socket: " + ec.message());
  }
  fd.release();  // the acceptor owns it now
  state->start_accepting();
  return ControlServer(std::move(state));
}

ControlServer::ControlServer(ControlServer&&) noexcept = default;

ControlServer& ControlServer::operator=(ControlServer&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::stop() {
  if (state_) state_->stop();
}

std::size_t ControlServer::connections() const { return state_ ? state_->sessions_.size() : 0; }

const std::filesystem::path& ControlServer::socket_path() const { return state_->path_; }

}  // namespace ferry::control
