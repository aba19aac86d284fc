// One control connection: read a request (with its descriptors), call the handler,
// write events and the final response, repeat. Event loop thread only.
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "control/control.h"
#include "control/server_state.h"

namespace ferry::control {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using Protocol = asio::local::stream_protocol;

// The id of a request we could not parse, so the client can match the error.
std::uint64_t best_effort_id(const json& message) {
  auto it = message.find("id");
  return it != message.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

}  // namespace

void ControlServer::State::start_session(UniqueFd fd) {
  auto peer = identify_peer(fd.get());
  if (!peer) return;  // the peer vanished already; dropping fd closes the connection
  Protocol::socket socket(executor_);
  boost::system::error_code ec;
  socket.assign(Protocol(), fd.get(), ec);
  if (ec) return;
  fd.release();
  auto session = std::make_shared<Session>(shared_from_this(), std::move(socket), std::move(*peer));
  asio::co_spawn(executor_, Session::run(std::move(session)), asio::detached);
}

void ControlServer::State::close_idle_sessions() {
  auto sessions = sessions_;  // closing never erases synchronously, but stay safe
  for (Session* session : sessions) session->close_if_idle();
}

Session::Session(std::shared_ptr<ControlServer::State> server, Protocol::socket socket, Peer peer)
    : server_(std::move(server)), socket_(std::move(socket)), peer_(std::move(peer)) {
  server_->sessions_.insert(this);
}

Session::~Session() { server_->sessions_.erase(this); }

asio::awaitable<void> Session::run(std::shared_ptr<Session> self) {
  for (;;) {
    self->activity_ = Activity::idle;
    auto frame = co_await self->read_frame();
    if (!frame) {  // oversized frame: the stream cannot be resynchronised
      co_await self->send(error_message(0, frame.error()));
      break;
    }
    if (!*frame) break;  // the client closed, or stop() closed an idle connection
    self->activity_ = Activity::busy;
    After after = co_await self->serve(**frame);
    if (after == After::close || self->server_->phase_ != ControlServer::State::Phase::running) break;
  }
  self->close();
}

void Session::close_if_idle() {
  if (activity_ == Activity::idle) close();
}

void Session::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  received_fds_.clear();
}

asio::awaitable<Expected<std::optional<std::string>>> Session::read_frame() {
  for (;;) {
    auto payload = decoder_.next();
    if (!payload || *payload) co_return payload;
    boost::system::error_code ec;
    co_await socket_.async_wait(Protocol::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return std::nullopt;  // operation_aborted after close(), or a broken socket
    if (receive_some() == Received::closed) co_return std::nullopt;
  }
}

// recvmsg rather than async_read_some: Asio does not surface SCM_RIGHTS.
Session::Received Session::receive_some() {
  char data[64 * 1024];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  iovec iov{data, sizeof(data)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? Received::nothing : Received::closed;
  collect_fds(msg);
  if (n == 0) return Received::closed;
  decoder_.feed(std::string_view(data, static_cast<std::size_t>(n)));
  return Received::data;
}

void Session::collect_fds(msghdr& msg) {
  for (cmsghdr* header = CMSG_FIRSTHDR(&msg); header != nullptr; header = CMSG_NXTHDR(&msg, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char* bytes = CMSG_DATA(header);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, bytes + i * sizeof(int), sizeof(int));
      received_fds_.emplace_back(fd);
    }
  }
}

asio::awaitable<Session::After> Session::serve(const std::string& payload) {
  auto message = parse_payload(payload);
  if (!message) {
    co_await send(error_message(0, message.error()));
    co_return After::close;
  }
  auto header = parse_request(*message);
  if (!header) {
    co_await send(error_message(best_effort_id(*message), header.error()));
    co_return After::close;
  }
  auto fds = take_fds(header->fds);
  if (!fds) {
    co_await send(error_message(header->id, fds.error()));
    co_return After::close;
  }
  Request request{header->id, std::move(header->command), std::move(header->args), std::move(*fds), peer_};
  auto outcome = co_await call_handler(request);
  request.fds.clear();  // close the daemon's copies before the client hears the outcome
  co_await send_final(request.id, std::move(outcome));
  co_return After::keep_open;
}

// Gives the request the descriptors it declared and closes any extra ones, so a
// misbehaving client cannot make the daemon accumulate open files.
Expected<std::vector<UniqueFd>> Session::take_fds(std::size_t declared) {
  std::size_t arrived = received_fds_.size();
  std::vector<UniqueFd> fds;
  if (arrived >= declared) {
    for (std::size_t i = 0; i < declared; ++i) fds.push_back(std::move(received_fds_[i]));
  }
  received_fds_.clear();
  if (arrived < declared) {
    return fail(Errc::invalid_argument, "control request declared " + std::to_string(declared) +
                                            " file descriptors but " + std::to_string(arrived) + " arrived");
  }
  return fds;
}

asio::awaitable<Expected<json>> Session::call_handler(Request& request) {
  Responder responder(*this, request.id);
  try {
    // Named result: g++ 12 mishandles temporaries in `co_return co_await ...`.
    auto result = co_await server_->handler_(request, responder);
    co_return result;
  } catch (const std::exception& e) {
    co_return fail(Errc::internal, request.command + ": unexpected failure in ferryd: " + e.what());
  }
}

asio::awaitable<void> Session::send_final(std::uint64_t id, Expected<json> outcome) {
  json message = outcome ? result_message(id, std::move(*outcome)) : error_message(id, outcome.error());
  auto sent = co_await send(message);
  if (!sent && sent.error().code == Errc::invalid_argument) {
    // The result could not be framed (too large, not UTF-8): say so instead.
    co_await send(error_message(id, Error{Errc::internal, "ferryd cannot send its response: " + sent.error().message}));
  }
}

asio::awaitable<Status> Session::send(const json& message) {
  auto frame = encode_message(message);
  if (!frame) co_return std::unexpected(frame.error());
  boost::system::error_code ec;
  co_await asio::async_write(socket_, asio::buffer(*frame), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return std::unexpected(Error{Errc::unavailable, "ferryctl went away: " + ec.message()});
  co_return Status{};
}

asio::awaitable<Status> Responder::event(json event) {
  if (!event.is_object() || !event.contains("event") || !event["event"].is_string()) {
    co_return std::unexpected(Error{Errc::internal, "a control event must be an object with an \"event\" name"});
  }
  auto message = event_message(id_, std::move(event));
  auto sent = co_await session_.send(message);
  co_return sent;
}

}  // namespace ferry::control
