// The control server on a real Unix socket, driven by the blocking client (and by
// raw frames where the client would refuse to misbehave).
#include "control/control.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "support/temp_dir.h"

namespace ferry::control {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using namespace std::chrono_literals;

int open_fd_count() {
  return static_cast<int>(
      std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator()));
}

// A socket connected by hand, for frames the Client would never send.
class RawConnection {
 public:
  explicit RawConnection(const std::filesystem::path& path) : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, path.c_str());
    EXPECT_EQ(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  }
  void send_bytes(const std::string& bytes, std::span<const int> fds = {}) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control(CMSG_SPACE(fds.size_bytes()));
    if (!fds.empty()) {
      msg.msg_control = control.data();
      msg.msg_controllen = control.size();
      cmsghdr* header = CMSG_FIRSTHDR(&msg);
      header->cmsg_level = SOL_SOCKET;
      header->cmsg_type = SCM_RIGHTS;
      header->cmsg_len = CMSG_LEN(fds.size_bytes());
      std::memcpy(CMSG_DATA(header), fds.data(), fds.size_bytes());
    }
    ASSERT_EQ(::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  void send_message(const json& message, std::span<const int> fds = {}) { send_bytes(*encode_message(message), fds); }
  // The next message, or null when the daemon closed the connection.
  json receive() {
    for (;;) {
      auto next = decoder_.next();
      if (next && *next) return *parse_payload(**next);
      char buffer[4096];
      ssize_t n = ::recv(fd_.get(), buffer, sizeof(buffer), 0);
      if (n <= 0) return nullptr;
      decoder_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    }
  }

 private:
  UniqueFd fd_;
  FrameDecoder decoder_;
};

class ControlSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    socket_ = dir_.path() / "run" / "ferryd.sock";  // "run" does not exist yet
    auto server = ControlServer::listen(io_.get_executor(), socket_, ServerOptions{},
                                        [this](Request& r, Responder& s) { return handle(r, s); });
    ASSERT_TRUE(server) << server.error().message;
    server_.emplace(std::move(*server));
    loop_ = std::thread([this] { io_.run(); });
  }

  // Runs f on the event loop and waits for it.
  template <typename F>
  auto on_loop(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto done = task.get_future();
    asio::post(io_, [&task] { task(); });
    return done.get();
  }

  void TearDown() override {
    if (loop_.joinable()) {
      on_loop([this] { server_->stop(); });
      io_.stop();
      loop_.join();
    }
    server_.reset();
  }

  Client connect() {
    auto client = Client::connect(socket_);
    EXPECT_TRUE(client) << client.error().message;
    return std::move(*client);
  }

  // The test daemon's commands.
  asio::awaitable<Expected<json>> handle(Request& request, Responder& responder) {
    if (request.command == "echo") co_return request.args;
    if (request.command == "fail") co_return fail(Errc::not_found, "object /a/b not found");
    if (request.command == "throw") throw std::runtime_error("boom");
    if (request.command == "progress") {
      for (int i = 1; i <= 3; ++i) {
        json event = {{"event", "progress"}, {"done", i}};  // g++ 12: no init-lists inside co_await
        co_await responder.event(std::move(event));
      }
      co_return json{{"finished", true}};
    }
    if (request.command == "read_fds") co_return read_fds(request);
    if (request.command == "whoami") {
      const Peer& p = request.peer;
      co_return json{{"pid", p.pid}, {"uid", p.uid}, {"gid", p.gid}, {"user", p.user}, {"groups", p.groups}};
    }
    if (request.command == "wait") co_return co_await wait_for_release();
    if (request.command == "release") {
      release_.cancel();
      co_return json::object();
    }
    co_return fail(Errc::invalid_argument, "unknown command " + request.command);
  }

  static Expected<json> read_fds(Request& request) {
    json contents = json::array();
    for (UniqueFd& fd : request.fds) contents.push_back(FERRY_TRY(read_all(fd.get(), "passed file")));
    return contents;
  }

  asio::awaitable<Expected<json>> wait_for_release() {
    release_.expires_after(10s);
    boost::system::error_code ec;
    co_await release_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return json{{"released", ec == asio::error::operation_aborted}};
  }

  test::TempDir dir_;
  std::filesystem::path socket_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};  // run() until TearDown
  asio::steady_timer release_{io_};
  std::optional<ControlServer> server_;
  std::thread loop_;
};

TEST_F(ControlSocketTest, CallReturnsTheResult) {
  Client client = connect();
  auto result = client.call("echo", json{{"a", 1}});
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(*result, json({{"a", 1}}));
  auto again = client.call("echo", json{{"b", "two"}});  // several requests on one connection
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, json({{"b", "two"}}));
}

TEST_F(ControlSocketTest, ErrorResponseKeepsItsErrc) {
  Client client = connect();
  auto result = client.call("fail", json::object());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::not_found);
  EXPECT_EQ(result.error().message, "object /a/b not found");
  EXPECT_TRUE(client.call("echo", json::object()));  // the connection stays usable
}

TEST_F(ControlSocketTest, HandlerExceptionBecomesInternalError) {
  Client client = connect();
  auto result = client.call("throw", json::object());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::internal);
  EXPECT_EQ(result.error().message, "throw: unexpected failure in ferryd: boom");
}

TEST_F(ControlSocketTest, EventsArriveBeforeTheResult) {
  Client client = connect();
  std::vector<json> seen;
  auto result = client.call("progress", json::object(), {}, [&](const json& event) { seen.push_back(event); });
  ASSERT_TRUE(result) << result.error().message;
  seen.push_back(*result);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], json::parse(R"({"id":1,"event":"progress","done":1})"));
  EXPECT_EQ(seen[2]["done"], 3);
  EXPECT_EQ(seen[3], json({{"finished", true}}));
}

TEST_F(ControlSocketTest, PassesFileDescriptors) {
  auto a = test::write_text(dir_.path() / "a.yaml", "kind: a\n");
  auto b = test::write_text(dir_.path() / "b.yaml", "kind: b\n");
  UniqueFd fa(::open(a.c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd fb(::open(b.c_str(), O_RDONLY | O_CLOEXEC));
  int fds[] = {fa.get(), fb.get()};
  Client client = connect();
  ASSERT_TRUE(client.call("echo", json::object()));  // the daemon has accepted
  int before = open_fd_count();
  auto result = client.call("read_fds", json::object(), fds);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(*result, json({"kind: a\n", "kind: b\n"}));
  EXPECT_EQ(open_fd_count(), before);  // the daemon's copies were closed after the request
}

TEST_F(ControlSocketTest, MoreThan250FdsIsRefusedByTheClient) {
  std::vector<int> fds(251, 0);
  Client client = connect();
  auto result = client.call("read_fds", json::object(), fds);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::invalid_argument);
  EXPECT_EQ(result.error().message,
            "read_fds: 251 files to pass, but at most 250 may travel with one request; split the command");
}

TEST_F(ControlSocketTest, UndeclaredFdsAreClosed) {
  auto a = test::write_text(dir_.path() / "a.txt", "a");
  UniqueFd fa(::open(a.c_str(), O_RDONLY | O_CLOEXEC));
  int fds[] = {fa.get(), fa.get(), fa.get()};
  RawConnection raw(socket_);
  raw.send_message(request_message(RequestHeader{1, "echo", json::object(), 0}));
  raw.receive();  // the daemon has accepted: its end of the connection is counted
  int before = open_fd_count();
  raw.send_message(request_message(RequestHeader{2, "read_fds", json::object(), 1}), fds);
  json reply = raw.receive();
  EXPECT_EQ(reply["result"], json({"a"}));
  EXPECT_EQ(open_fd_count(), before);
}

TEST_F(ControlSocketTest, PeerIsTheCallingProcess) {
  Client client = connect();
  auto result = client.call("whoami", json::object());
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)["uid"], getuid());
  EXPECT_EQ((*result)["gid"], getgid());
  EXPECT_EQ((*result)["pid"], getpid());
  passwd* me = ::getpwuid(getuid());
  ASSERT_NE(me, nullptr);
  EXPECT_EQ((*result)["user"], me->pw_name);
  EXPECT_TRUE((*result)["groups"].is_array());
}

TEST_F(ControlSocketTest, NewerClientProtocolGetsUpgradeMessageAndIsClosed) {
  RawConnection raw(socket_);
  raw.send_message(json{{"protocol", 2}, {"id", 5}, {"command", "echo"}, {"args", json::object()}, {"fds", 0}});
  json reply = raw.receive();
  EXPECT_EQ(reply, json::parse(R"({"protocol":1,"id":5,"ok":false,"error":{"code":"unavailable",
      "message":"ferryctl speaks control protocol 2 and ferryd speaks 1: upgrade ferryd so both match"}})"));
  EXPECT_EQ(raw.receive(), nullptr);
}

TEST_F(ControlSocketTest, MalformedFramesGetAnErrorAndTheDaemonCarriesOn) {
  {
    RawConnection raw(socket_);
    raw.send_bytes(*encode_frame("{not json"));
    json reply = raw.receive();
    EXPECT_EQ(reply["ok"], false);
    EXPECT_EQ(reply["error"]["code"], "corrupt");
    EXPECT_EQ(raw.receive(), nullptr);
  }
  {
    RawConnection raw(socket_);
    raw.send_bytes(std::string("\x7f\xff\xff\xff", 4));  // 2 GiB announced
    json reply = raw.receive();
    EXPECT_EQ(reply["error"]["message"],
              "control frame of 2147483647 bytes exceeds the limit of 16777216 bytes (16 MiB)");
    EXPECT_EQ(raw.receive(), nullptr);
  }
  {
    RawConnection raw(socket_);  // declares fds it does not send
    raw.send_message(request_message(RequestHeader{9, "read_fds", json::object(), 2}));
    json reply = raw.receive();
    EXPECT_EQ(reply["id"], 9);
    EXPECT_EQ(reply["error"]["message"], "control request declared 2 file descriptors but 0 arrived");
  }
  EXPECT_TRUE(connect().call("echo", json::object()));
}

TEST_F(ControlSocketTest, ConnectionsAreServedConcurrently) {
  auto waiting = std::async(std::launch::async, [this] { return connect().call("wait", json::object()); });
  // The second connection is served while the first request is still running.
  Client other = connect();
  for (int i = 0; i < 200 && on_loop([this] { return server_->connections(); }) < 2; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(other.call("release", json::object()));
  auto result = waiting.get();
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(*result, json({{"released", true}}));
}

TEST_F(ControlSocketTest, SocketFileIsMode0660InACreatedFolder) {
  struct stat st {};
  ASSERT_EQ(::lstat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
}

TEST_F(ControlSocketTest, SecondServerOnTheSamePathIsRefused) {
  auto second =
      on_loop([this] { return ControlServer::listen(io_.get_executor(), socket_, ServerOptions{}, Handler{}); });
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::conflict);
  EXPECT_EQ(second.error().message, "another process (another ferryd?) is already listening on " + socket_.string() +
                                        "; stop it first or set socket: to another path");
  EXPECT_TRUE(connect().call("echo", json::object()));  // the first one is untouched
}

TEST_F(ControlSocketTest, StopUnlinksTheSocketAndClosesIdleConnections) {
  Client idle = connect();
  ASSERT_TRUE(idle.call("echo", json::object()));
  on_loop([this] { server_->stop(); });
  EXPECT_FALSE(std::filesystem::exists(socket_));
  auto after = idle.call("echo", json::object());
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, Errc::unavailable);
  auto refused = Client::connect(socket_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_EQ(refused.error().message, "ferryd is not running or not listening on " + socket_.string());
}

TEST_F(ControlSocketTest, StopLetsARunningRequestFinish) {
  auto waiting = std::async(std::launch::async, [this] { return connect().call("wait", json::object()); });
  for (int i = 0; i < 200 && on_loop([this] { return server_->connections(); }) < 1; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(20ms);  // let the request reach the handler
  on_loop([this] {
    server_->stop();
    release_.cancel();
  });
  auto result = waiting.get();
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(*result, json({{"released", true}}));
}

TEST_F(ControlSocketTest, ClientWithoutPermissionIsToldWhy) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to drop to another uid";
  std::filesystem::permissions(dir_.path(), std::filesystem::perms(0755));
  std::filesystem::permissions(socket_.parent_path(), std::filesystem::perms(0755));
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // nobody: neither owner nor in the socket's group
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
    auto client = Client::connect(socket_);
    bool expected = !client && client.error().code == Errc::permission_denied &&
                    client.error().message == "cannot open " + socket_.string() +
                                                  ": permission denied (the socket is group-restricted; ask an admin "
                                                  "to add you to its group)";
    ::_exit(expected ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Without a fixture server: stale files and foreign daemons.
class ControlSocketPathTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
  asio::io_context io_;
};

TEST_F(ControlSocketPathTest, StaleSocketFileIsReplaced) {
  auto path = dir_.path() / "ferryd.sock";
  {  // bound but never listening, then abandoned: what a crash leaves behind
    UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, path.c_str());
    ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  auto server = ControlServer::listen(io_.get_executor(), path, ServerOptions{},
                                      [](Request& r, Responder&) -> asio::awaitable<Expected<json>> {
                                        co_return json{{"command", r.command}};
                                      });
  ASSERT_TRUE(server) << server.error().message;
  std::thread loop([this] { io_.run(); });
  auto client = Client::connect(path);  // g++ 12's std::expected has no and_then
  ASSERT_TRUE(client) << client.error().message;
  auto result = client->call("status", json::object());
  asio::post(io_, [&] { server->stop(); });
  loop.join();
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(*result, json({{"command", "status"}}));
}

TEST_F(ControlSocketPathTest, NonSocketAtThePathIsNotRemoved) {
  auto path = test::write_text(dir_.path() / "ferryd.sock", "precious");
  auto server = ControlServer::listen(io_.get_executor(), path, ServerOptions{}, Handler{});
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code, Errc::conflict);
  EXPECT_EQ(server.error().message,
            path.string() + " exists and is not a socket; remove it or set socket: to another path");
  EXPECT_TRUE(std::filesystem::is_regular_file(path));
}

TEST_F(ControlSocketPathTest, ModeAndGroupOptionsApply) {
  auto path = dir_.path() / "ferryd.sock";
  auto server = ControlServer::listen(io_.get_executor(), path, ServerOptions{0600, getgid()}, Handler{});
  ASSERT_TRUE(server) << server.error().message;
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_gid, getgid());
}

TEST_F(ControlSocketPathTest, TooLongPathIsRefused) {
  auto path = dir_.path() / std::string(120, 'x');
  auto server = ControlServer::listen(io_.get_executor(), path, ServerOptions{}, Handler{});
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code, Errc::invalid_argument);
}

TEST(ControlClientTest, MissingDaemonIsUnavailable) {
  test::TempDir dir;
  auto client = Client::connect(dir.path() / "none.sock");
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code, Errc::unavailable);
  EXPECT_EQ(client.error().message, "ferryd is not running or not listening on " + (dir.path() / "none.sock").string());
}

}  // namespace
}  // namespace ferry::control
