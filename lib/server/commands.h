// The control commands: one table from command name to the role it needs and
// its handler. Runs on the event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "control/control.h"
#include "server/context.h"

namespace ferry::server {

/// Checks the caller's role for the command and runs it.
boost::asio::awaitable<Expected<nlohmann::json>> dispatch(Context& ctx, control::Request& request,
                                                          control::Responder& responder);

/// Handlers of one family, registered in commands.cpp.
using CommandResult = boost::asio::awaitable<Expected<nlohmann::json>>;
CommandResult status_command(Context& ctx, control::Request& request);
CommandResult object_apply(Context& ctx, control::Request& request);
CommandResult object_list(Context& ctx, control::Request& request);
CommandResult object_get(Context& ctx, control::Request& request);
CommandResult object_delete(Context& ctx, control::Request& request);

/// Reads a string argument; invalid_argument naming it when absent or not a string.
Expected<std::string> string_arg(const nlohmann::json& args, const char* name);
/// nullopt when absent; invalid_argument when present but not a string.
Expected<std::optional<std::string>> optional_string_arg(const nlohmann::json& args, const char* name);

}  // namespace ferry::server
