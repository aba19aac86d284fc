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

/// Handlers, registered in commands.cpp's table. The Responder streams progress events.
using CommandResult = boost::asio::awaitable<Expected<nlohmann::json>>;
using Responder = control::Responder;
CommandResult status_command(Context& ctx, control::Request& request, Responder& responder);
CommandResult object_apply(Context& ctx, control::Request& request, Responder& responder);
CommandResult object_list(Context& ctx, control::Request& request, Responder& responder);
CommandResult object_get(Context& ctx, control::Request& request, Responder& responder);
CommandResult object_delete(Context& ctx, control::Request& request, Responder& responder);
CommandResult export_command(Context& ctx, control::Request& request, Responder& responder);
CommandResult package_list(Context& ctx, control::Request& request, Responder& responder);
CommandResult package_show(Context& ctx, control::Request& request, Responder& responder);
CommandResult package_stop(Context& ctx, control::Request& request, Responder& responder);
CommandResult package_retry(Context& ctx, control::Request& request, Responder& responder);
CommandResult package_delete(Context& ctx, control::Request& request, Responder& responder);
CommandResult package_forward(Context& ctx, control::Request& request, Responder& responder);
CommandResult package_forwards(Context& ctx, control::Request& request, Responder& responder);
CommandResult job_list(Context& ctx, control::Request& request, Responder& responder);
CommandResult job_run(Context& ctx, control::Request& request, Responder& responder);
CommandResult job_history(Context& ctx, control::Request& request, Responder& responder);
CommandResult maintenance_status(Context& ctx, control::Request& request, Responder& responder);
CommandResult maintenance_on(Context& ctx, control::Request& request, Responder& responder);
CommandResult maintenance_off(Context& ctx, control::Request& request, Responder& responder);
CommandResult import_command(Context& ctx, control::Request& request, Responder& responder);
CommandResult import_list(Context& ctx, control::Request& request, Responder& responder);
CommandResult import_show(Context& ctx, control::Request& request, Responder& responder);
CommandResult import_deploy(Context& ctx, control::Request& request, Responder& responder);
CommandResult import_rollback(Context& ctx, control::Request& request, Responder& responder);
CommandResult import_resubmit(Context& ctx, control::Request& request, Responder& responder);

/// The owner recorded for what a caller creates: the user name, else "uid N".
std::string user_of(const control::Peer& peer);

/// Reads a boolean argument; false when absent.
Expected<bool> bool_arg(const nlohmann::json& args, const char* name);
/// Reads a list of strings; empty when absent.
Expected<std::vector<std::string>> strings_arg(const nlohmann::json& args, const char* name);

/// Reads a string argument; invalid_argument naming it when absent or not a string.
Expected<std::string> string_arg(const nlohmann::json& args, const char* name);
/// nullopt when absent; invalid_argument when present but not a string.
Expected<std::optional<std::string>> optional_string_arg(const nlohmann::json& args, const char* name);

}  // namespace ferry::server
