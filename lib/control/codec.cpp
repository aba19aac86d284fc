// Framing and message shapes of the control protocol. No I/O; any thread.
#include "control/control.h"

#include <array>
#include <cstring>

namespace ferry::control {
namespace {

using nlohmann::json;

constexpr std::size_t kHeaderBytes = 4;

std::uint32_t read_be32(const char* p) {
  auto b = [p](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

std::string too_large(std::size_t bytes) {
  return "control frame of " + std::to_string(bytes) + " bytes exceeds the limit of " + std::to_string(kMaxFrameBytes) +
         " bytes (16 MiB)";
}

// Reads an unsigned integer member; nullopt when absent or of another type.
std::optional<std::uint64_t> get_uint(const json& message, const char* key) {
  auto it = message.find(key);
  if (it == message.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<std::uint64_t>();
}

// Checks "protocol" against ours; `writer` is the program that wrote the message.
enum class Writer { ferryctl, ferryd };
Status check_protocol(const json& message, Writer writer, Errc shape_error) {
  auto it = message.find("protocol");
  if (it == message.end() || !it->is_number_integer()) {
    return fail(shape_error, "control message has no \"protocol\" version");
  }
  int theirs = it->get<int>();
  if (theirs == kProtocolVersion) return {};
  return fail(Errc::unavailable, writer == Writer::ferryctl ? protocol_mismatch_message(theirs, kProtocolVersion)
                                                            : protocol_mismatch_message(kProtocolVersion, theirs));
}

Expected<Error> parse_error_body(const json& message) {
  auto it = message.find("error");
  if (it == message.end() || !it->is_object() || !it->contains("code") || !(*it)["code"].is_string() ||
      !it->contains("message") || !(*it)["message"].is_string()) {
    return fail(Errc::corrupt, "ferryd sent an error response without error.code and error.message");
  }
  std::string code = (*it)["code"].get<std::string>();
  std::string text = (*it)["message"].get<std::string>();
  // An unknown code comes from a newer daemon; keep its message, treat it as a failure.
  return Error{parse_errc(code).value_or(Errc::internal), std::move(text)};
}

}  // namespace

Expected<std::string> encode_frame(std::string_view payload) {
  if (payload.size() > kMaxFrameBytes) return fail(Errc::invalid_argument, too_large(payload.size()));
  auto n = static_cast<std::uint32_t>(payload.size());
  std::string frame;
  frame.reserve(kHeaderBytes + payload.size());
  frame.push_back(static_cast<char>((n >> 24) & 0xff));
  frame.push_back(static_cast<char>((n >> 16) & 0xff));
  frame.push_back(static_cast<char>((n >> 8) & 0xff));
  frame.push_back(static_cast<char>(n & 0xff));
  frame.append(payload);
  return frame;
}

Expected<std::string> encode_message(const json& message) {
  std::string text;
  try {
    text = message.dump();
  } catch (const json::exception& e) {
    return fail(Errc::invalid_argument, std::string("cannot encode control message: ") + e.what());
  }
  return encode_frame(text);
}

void FrameDecoder::feed(std::string_view bytes) {
  // Drop consumed bytes before growing, so the buffer stays about one frame long.
  if (offset_ > 0 && offset_ >= buffer_.size() / 2) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes);
}

Expected<std::optional<std::string>> FrameDecoder::next() {
  if (buffered() < kHeaderBytes) return std::nullopt;
  std::size_t length = read_be32(buffer_.data() + offset_);
  if (length > kMaxFrameBytes) return fail(Errc::corrupt, too_large(length));
  if (buffered() < kHeaderBytes + length) return std::nullopt;
  std::string payload = buffer_.substr(offset_ + kHeaderBytes, length);
  offset_ += kHeaderBytes + length;
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  }
  return payload;
}

Expected<json> parse_payload(std::string_view payload) {
  json message = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) return fail(Errc::corrupt, "control message is not valid JSON");
  if (!message.is_object()) return fail(Errc::corrupt, "control message is not a JSON object");
  return message;
}

std::string protocol_mismatch_message(int ferryctl_version, int ferryd_version) {
  const char* older = ferryctl_version < ferryd_version ? "ferryctl" : "ferryd";
  return "ferryctl speaks control protocol " + std::to_string(ferryctl_version) + " and ferryd speaks " +
         std::to_string(ferryd_version) + ": upgrade " + older + " so both match";
}

std::optional<Errc> parse_errc(std::string_view name) {
  static constexpr std::array kAll = {Errc::invalid_argument,  Errc::not_found, Errc::conflict,
                                      Errc::permission_denied, Errc::io,        Errc::corrupt,
                                      Errc::unavailable,       Errc::cancelled, Errc::internal};
  for (Errc code : kAll) {
    if (to_string(code) == name) return code;
  }
  return std::nullopt;
}

json request_message(const RequestHeader& request) {
  return json{{"protocol", kProtocolVersion},
              {"id", request.id},
              {"command", request.command},
              {"args", request.args},
              {"fds", request.fds}};
}

Expected<RequestHeader> parse_request(const json& message) {
  FERRY_TRY(check_protocol(message, Writer::ferryctl, Errc::invalid_argument));
  RequestHeader request;
  auto id = get_uint(message, "id");
  if (!id) return fail(Errc::invalid_argument, "control request has no numeric \"id\"");
  request.id = *id;
  auto command = message.find("command");
  if (command == message.end() || !command->is_string() || command->get_ref<const std::string&>().empty()) {
    return fail(Errc::invalid_argument, "control request has no \"command\"");
  }
  request.command = command->get<std::string>();
  if (auto args = message.find("args"); args != message.end() && !args->is_null()) {
    if (!args->is_object()) return fail(Errc::invalid_argument, "control request \"args\" is not an object");
    request.args = *args;
  }
  if (message.contains("fds")) {
    auto fds = get_uint(message, "fds");
    if (!fds) return fail(Errc::invalid_argument, "control request \"fds\" is not a count");
    if (*fds > kMaxFds) {
      return fail(Errc::invalid_argument, "control request declares " + std::to_string(*fds) +
                                              " file descriptors; at most " + std::to_string(kMaxFds) +
                                              " may travel with one request");
    }
    request.fds = *fds;
  }
  return request;
}

json event_message(std::uint64_t id, json event) {
  event["id"] = id;
  return event;
}

json result_message(std::uint64_t id, json result) {
  return json{{"protocol", kProtocolVersion}, {"id", id}, {"ok", true}, {"result", std::move(result)}};
}

json error_message(std::uint64_t id, const Error& error) {
  return json{{"protocol", kProtocolVersion},
              {"id", id},
              {"ok", false},
              {"error", {{"code", to_string(error.code)}, {"message", error.message}}}};
}

Expected<Reply> parse_reply(const json& message) {
  Reply reply;
  auto id = get_uint(message, "id");
  if (!id) return fail(Errc::corrupt, "ferryd sent a message without a numeric \"id\"");
  reply.id = *id;
  if (auto event = message.find("event"); event != message.end() && !message.contains("ok")) {
    if (!event->is_string()) return fail(Errc::corrupt, "ferryd sent an event whose \"event\" is not a string");
    reply.kind = ReplyKind::event;
    reply.event = message;
    return reply;
  }
  FERRY_TRY(check_protocol(message, Writer::ferryd, Errc::corrupt));
  auto ok = message.find("ok");
  if (ok == message.end() || !ok->is_boolean()) return fail(Errc::corrupt, "ferryd sent a response without \"ok\"");
  if (ok->get<bool>()) {
    reply.kind = ReplyKind::result;
    reply.result = message.value("result", json::object());
    return reply;
  }
  reply.kind = ReplyKind::error;
  reply.error = FERRY_TRY(parse_error_body(message));
  return reply;
}

}  // namespace ferry::control
