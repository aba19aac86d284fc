#include "server/commands.h"

#include <spdlog/spdlog.h>

#include <array>

namespace ferry::server {

namespace {

using config::Role;

struct Command {
  std::string_view name;    ///< as on the wire: "object.apply"
  std::string_view action;  ///< as an operator types it: "object apply"
  Role role;
  CommandResult (*run)(Context&, control::Request&);
};

const std::array kCommands = {
    Command{"status", "status", Role::viewer, status_command},
    Command{"object.list", "object list", Role::viewer, object_list},
    Command{"object.get", "object get", Role::viewer, object_get},
    Command{"object.apply", "object apply", Role::editor, object_apply},
    Command{"object.delete", "object delete", Role::editor, object_delete},
};

access::Caller caller_of(const control::Peer& peer) {
  return access::Caller{peer.uid, peer.gid, peer.groups, peer.user};
}

}  // namespace

Expected<std::string> string_arg(const nlohmann::json& args, const char* name) {
  auto it = args.find(name);
  if (it == args.end() || !it->is_string()) {
    return fail(Errc::invalid_argument, std::string("missing argument '") + name + "'");
  }
  return it->get<std::string>();
}

Expected<std::optional<std::string>> optional_string_arg(const nlohmann::json& args, const char* name) {
  if (!args.contains(name)) return std::optional<std::string>();
  return FERRY_TRY(string_arg(args, name));
}

boost::asio::awaitable<Expected<nlohmann::json>> dispatch(Context& ctx, control::Request& request,
                                                          control::Responder&) {
  const Command* command = nullptr;
  for (const auto& c : kCommands)
    if (c.name == request.command) command = &c;
  if (command == nullptr) {
    co_return fail(Errc::invalid_argument, "unknown command '" + request.command + "'; is ferryctl newer than ferryd?");
  }
  if (auto allowed = ctx.access.require(caller_of(request.peer), command->role, command->action); !allowed) {
    spdlog::warn("refused {} for {} (uid {}): {}", command->action, request.peer.user, request.peer.uid,
                 allowed.error().message);
    co_return std::unexpected(allowed.error());
  }
  auto result = co_await command->run(ctx, request);
  co_return result;
}

}  // namespace ferry::server
