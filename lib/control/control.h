// The control-socket protocol between ferryctl and ferryd (docs/control-protocol.md).
//
// Three layers, each usable alone:
//   - the codec (FrameDecoder, encode_frame, *_message, parse_*): pure, no I/O;
//   - Client: blocking POSIX code for ferryctl, one call at a time;
//   - ControlServer: Asio, runs on ferryd's event loop; every connection is a
//     self-owning session that serves one request at a time.
// This module knows nothing about roles; lib/access decides who may do what with
// the Peer a session reports.
#pragma once

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

namespace ferry::control {

/// The version both sides write into "protocol" and check on receipt.
inline constexpr int kProtocolVersion = 1;
/// Largest frame payload accepted or sent (16 MiB).
inline constexpr std::size_t kMaxFrameBytes = std::size_t{16} << 20;
/// Most file descriptors one request may carry (SCM_RIGHTS).
inline constexpr std::size_t kMaxFds = 250;

// ---------------------------------------------------------------------------
// Codec: framing and message shapes. Pure functions; any thread.

/// Returns the 4-byte big-endian length followed by payload.
/// Fails (invalid_argument) when payload exceeds kMaxFrameBytes.
Expected<std::string> encode_frame(std::string_view payload);

/// Serialises a message as a frame. Fails (invalid_argument) on a string that is
/// not valid UTF-8 or a frame over kMaxFrameBytes.
Expected<std::string> encode_message(const nlohmann::json& message);

/// Splits a byte stream into frame payloads. Not thread-safe; one per stream.
class FrameDecoder {
 public:
  /// Appends received bytes.
  void feed(std::string_view bytes);
  /// Returns the next complete payload, nullopt when more bytes are needed, or
  /// a corrupt error when the announced length exceeds kMaxFrameBytes (the
  /// stream cannot be resynchronised after that: close it).
  Expected<std::optional<std::string>> next();
  /// Bytes received but not yet returned as a payload.
  std::size_t buffered() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  std::size_t offset_ = 0;
};

/// Parses a payload as a JSON object (corrupt error otherwise).
Expected<nlohmann::json> parse_payload(std::string_view payload);

/// "ferryctl speaks control protocol A and ferryd speaks B: upgrade X", X the older one.
std::string protocol_mismatch_message(int ferryctl_version, int ferryd_version);

/// Parses an Errc name as written by ferry::to_string(Errc); nullopt if unknown.
std::optional<Errc> parse_errc(std::string_view name);

/// A request as it travels: {"protocol","id","command","args","fds"}.
struct RequestHeader {
  std::uint64_t id = 0;
  std::string command;
  nlohmann::json args = nlohmann::json::object();
  std::size_t fds = 0;  ///< descriptors sent as SCM_RIGHTS with this frame
};

nlohmann::json request_message(const RequestHeader& request);

/// Daemon side. Checks "protocol" first: a different version is an unavailable
/// error carrying protocol_mismatch_message(). Shape errors are invalid_argument;
/// "fds" over kMaxFds is invalid_argument.
Expected<RequestHeader> parse_request(const nlohmann::json& message);

/// {"id":N,"event":NAME,...}: `event` must be an object holding "event" (a string).
nlohmann::json event_message(std::uint64_t id, nlohmann::json event);
/// {"protocol":1,"id":N,"ok":true,"result":R}
nlohmann::json result_message(std::uint64_t id, nlohmann::json result);
/// {"protocol":1,"id":N,"ok":false,"error":{"code":to_string(code),"message":M}}
nlohmann::json error_message(std::uint64_t id, const Error& error);

/// What the daemon sent for a request, as seen by the client.
enum class ReplyKind { event, result, error };
struct Reply {
  ReplyKind kind = ReplyKind::result;
  std::uint64_t id = 0;
  nlohmann::json event;   ///< kind == event: the whole event message
  nlohmann::json result;  ///< kind == result
  Error error;            ///< kind == error: the daemon's error, Errc restored
};

/// Client side. Final responses have their "protocol" checked (mismatch is an
/// unavailable error); malformed messages are corrupt errors.
Expected<Reply> parse_reply(const nlohmann::json& message);

// ---------------------------------------------------------------------------
// Client (ferryctl). Blocking; one thread at a time per Client. Move-only.

class Client {
 public:
  /// Connects to the daemon's socket. ENOENT/ECONNREFUSED -> unavailable
  /// "ferryd is not running or not listening on PATH"; EACCES -> permission_denied.
  static Expected<Client> connect(const std::filesystem::path& socket);

  /// Sends one request with `fds` (at most kMaxFds; the caller keeps ownership,
  /// the daemon receives duplicates) and waits for the final response. Events the
  /// daemon sends first go to on_event, in order, on this thread. Returns the
  /// result, or the daemon's error with its Errc. A lost connection is unavailable.
  Expected<nlohmann::json> call(std::string_view command, nlohmann::json args, std::span<const int> fds = {},
                                const std::function<void(const nlohmann::json& event)>& on_event = {});

  const std::filesystem::path& socket_path() const { return path_; }

 private:
  Client(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Status send_request(const std::string& frame, std::span<const int> fds);
  Expected<nlohmann::json> next_message();

  UniqueFd fd_;
  std::filesystem::path path_;
  std::uint64_t next_id_ = 1;
  FrameDecoder decoder_;
};

// ---------------------------------------------------------------------------
// Server (ferryd). Everything below runs on the event loop thread; the
// io_context must be run by exactly one thread.

/// Who is on the other end of a connection (SO_PEERCRED, SO_PEERGROUPS), read
/// once when the connection is accepted.
struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  ///< supplementary groups (may include gid)
  std::string user;           ///< from getpwuid_r; empty when the uid has no name
};

/// One request handed to the Handler. The handler may move fds out.
struct Request {
  std::uint64_t id = 0;
  std::string command;
  nlohmann::json args = nlohmann::json::object();
  std::vector<UniqueFd> fds;  ///< exactly as many as the request declared, in order
  Peer peer;
};

class Session;

/// Streams event frames for the request being handled. Valid only during the
/// handler call; await each event() before the next and before returning.
class Responder {
 public:
  /// Sends {"id":N, ...event} (`event` is an object with an "event" string).
  /// Fails (unavailable) when the client has gone; the handler may carry on.
  boost::asio::awaitable<Status> event(nlohmann::json event);

 private:
  friend class Session;
  Responder(Session& session, std::uint64_t id) : session_(session), id_(id) {}
  Session& session_;
  std::uint64_t id_;
};

/// Handles one request on the event loop. Its Expected becomes the final
/// response; an exception becomes an internal error response.
using Handler = std::function<boost::asio::awaitable<Expected<nlohmann::json>>(Request& request, Responder& responder)>;

struct ServerOptions {
  mode_t mode = 0660;          ///< permissions of the socket file
  std::optional<gid_t> group;  ///< chown the socket to this group; nullopt = leave the daemon's group
};

class ControlServer {
 public:
  /// Binds and starts accepting on `socket` (accepting happens once the executor's
  /// io_context runs). Creates the parent folder if missing; refuses (conflict)
  /// when another process listens there; replaces a stale socket file; refuses a
  /// path that exists and is not a socket. Call before running the loop or on it.
  static Expected<ControlServer> listen(boost::asio::any_io_executor executor, const std::filesystem::path& socket,
                                        ServerOptions options, Handler handler);

  ControlServer(ControlServer&&) noexcept;
  ControlServer& operator=(ControlServer&&) noexcept;
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  /// Calls stop(). Destroy on the event loop thread or after the loop has stopped.
  ~ControlServer();

  /// Closes the acceptor and unlinks the socket file, closes idle connections,
  /// and lets running handlers finish (their connection closes after the
  /// response). Idempotent. Event loop thread.
  void stop();

  /// Open connections (idle or busy). Event loop thread; for status and tests.
  std::size_t connections() const;

  const std::filesystem::path& socket_path() const;

 private:
  struct State;  // shared with the sessions; defined in server.cpp
  friend class Session;
  explicit ControlServer(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace ferry::control
