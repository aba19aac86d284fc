// Private to lib/control: the state a ControlServer shares with its sessions.
// Event loop thread only.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "control/control.h"

namespace ferry::control {

struct ControlServer::State : std::enable_shared_from_this<ControlServer::State> {
  enum class Phase { running, stopped };

  State(boost::asio::any_io_executor executor, std::filesystem::path path, Handler handler);

  void start_accepting();
  static boost::asio::awaitable<void> accept_loop(std::shared_ptr<State> self);
  boost::asio::awaitable<void> accept_ready();
  void start_session(UniqueFd fd);  // session.cpp
  void close_idle_sessions();       // session.cpp
  void stop();

  boost::asio::any_io_executor executor_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::filesystem::path path_;
  Handler handler_;
  Phase phase_ = Phase::running;
  dev_t socket_dev_ = 0;  ///< identity of the file we bound, so stop() unlinks only ours
  ino_t socket_ino_ = 0;
  std::set<Session*> sessions_;  ///< live sessions; each adds and removes itself
};

/// One accepted connection. Owns itself: its coroutine holds a shared_ptr until
/// the connection ends. Serves one request at a time.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ControlServer::State> server, boost::asio::local::stream_protocol::socket socket, Peer peer);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  static boost::asio::awaitable<void> run(std::shared_ptr<Session> self);
  /// Closes the connection if no request is being handled (stop()).
  void close_if_idle();
  /// Writes one message as a frame; unavailable when the peer has gone.
  boost::asio::awaitable<Status> send(const nlohmann::json& message);

 private:
  enum class Activity { idle, busy };
  enum class After { keep_open, close };
  enum class Received { data, nothing, closed };

  /// Next frame payload; nullopt when the connection ended or was closed.
  boost::asio::awaitable<Expected<std::optional<std::string>>> read_frame();
  Received receive_some();
  void collect_fds(msghdr& msg);
  boost::asio::awaitable<After> serve(const std::string& payload);
  boost::asio::awaitable<Expected<nlohmann::json>> call_handler(Request& request);
  Expected<std::vector<UniqueFd>> take_fds(std::size_t declared);
  boost::asio::awaitable<void> send_final(std::uint64_t id, Expected<nlohmann::json> outcome);
  void close();

  std::shared_ptr<ControlServer::State> server_;
  boost::asio::local::stream_protocol::socket socket_;
  Peer peer_;
  Activity activity_ = Activity::idle;
  FrameDecoder decoder_;
  std::deque<UniqueFd> received_fds_;  ///< SCM_RIGHTS not yet given to a request
};

/// Reads the peer's credentials and groups (SO_PEERCRED, SO_PEERGROUPS or
/// getgrouplist) and its user name (getpwuid_r).
Expected<Peer> identify_peer(int socket);

}  // namespace ferry::control
