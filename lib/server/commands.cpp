#include "server/commands.h"

#include <spdlog/spdlog.h>

#include <array>

#include "util/time.h"

namespace ferry::server {

namespace {

using config::Role;

/// Whether a command changes the catalog, and so is frozen for editors while an
/// export runs (PRODUCT.md section 3, maintenance).
enum class Writes { nothing, catalog };

struct Command {
  std::string_view name;    ///< as on the wire: "object.apply"
  std::string_view action;  ///< as an operator types it: "object apply"
  Role role;
  Writes writes;
  CommandResult (*run)(Context&, control::Request&, Responder&);
};

const std::array kCommands = {
    Command{"status", "status", Role::viewer, Writes::nothing, status_command},
    Command{"object.list", "object list", Role::viewer, Writes::nothing, object_list},
    Command{"object.get", "object get", Role::viewer, Writes::nothing, object_get},
    Command{"object.apply", "object apply", Role::editor, Writes::catalog, object_apply},
    Command{"object.delete", "object delete", Role::editor, Writes::catalog, object_delete},
    Command{"export", "export", Role::deployer, Writes::nothing, export_command},
    Command{"package.list", "package list", Role::viewer, Writes::nothing, package_list},
    Command{"package.show", "package show", Role::viewer, Writes::nothing, package_show},
    Command{"package.stop", "package stop", Role::deployer, Writes::nothing, package_stop},
    Command{"package.retry", "package retry", Role::deployer, Writes::nothing, package_retry},
    Command{"package.delete", "package delete", Role::deployer, Writes::nothing, package_delete},
    Command{"package.forward", "package forward", Role::deployer, Writes::nothing, package_forward},
    Command{"package.forwards", "package forwards", Role::viewer, Writes::nothing, package_forwards},
    Command{"job.list", "job list", Role::viewer, Writes::nothing, job_list},
    Command{"job.run", "job run", Role::deployer, Writes::nothing, job_run},
    Command{"job.history", "job history", Role::viewer, Writes::nothing, job_history},
    Command{"maintenance.status", "maintenance status", Role::viewer, Writes::nothing, maintenance_status},
    Command{"maintenance.on", "maintenance on", Role::admin, Writes::nothing, maintenance_on},
    Command{"maintenance.off", "maintenance off", Role::admin, Writes::nothing, maintenance_off},
    Command{"import", "import", Role::deployer, Writes::nothing, import_command},
    Command{"import.list", "import list", Role::viewer, Writes::nothing, import_list},
    Command{"import.show", "import show", Role::viewer, Writes::nothing, import_show},
    Command{"import.deploy", "import deploy", Role::deployer, Writes::nothing, import_deploy},
    // A catalog write, but deployer-only like import, so maintenance never freezes it.
    Command{"import.rollback", "import rollback", Role::deployer, Writes::catalog, import_rollback},
    Command{"import.resubmit", "import resubmit", Role::deployer, Writes::nothing, import_resubmit},
};

// Editors may not change the catalog while an export reads it or while maintenance is
// held on; deployers and admins may (they are the ones running the maintenance).
Status check_freeze(const Context& ctx, const Command& command, const access::Caller& caller) {
  if (command.writes != Writes::catalog) return {};
  auto running = ctx.exports.oldest();
  if (!running && !ctx.manual_maintenance) return {};
  auto role = ctx.access.role_of(caller);
  if (role && *role >= Role::deployer) return {};
  if (running) {
    return fail(Errc::conflict,
                std::string(command.action) + " refused: the catalog is frozen for maintenance while export " +
                    running->name + " (" + running->id + ") runs, started by " + running->user + " at " +
                    format_rfc3339(running->started_at) + "; retry when it has finished, or ask a deployer");
  }
  const auto& m = *ctx.manual_maintenance;
  return fail(Errc::conflict, std::string(command.action) + " refused: the environment is in maintenance since " +
                                  format_rfc3339(m.since) + ", turned on by " + m.user + ": " + m.reason +
                                  "; retry when an admin has ended it (`ferryctl maintenance off`), or ask a deployer");
}

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

std::string user_of(const control::Peer& peer) {
  return peer.user.empty() ? "uid " + std::to_string(peer.uid) : peer.user;
}

Expected<bool> bool_arg(const nlohmann::json& args, const char* name) {
  auto it = args.find(name);
  if (it == args.end()) return false;
  if (!it->is_boolean())
    return fail(Errc::invalid_argument, std::string("argument '") + name + "' must be true or false");
  return it->get<bool>();
}

Expected<std::vector<std::string>> strings_arg(const nlohmann::json& args, const char* name) {
  std::vector<std::string> out;
  auto it = args.find(name);
  if (it == args.end()) return out;
  if (!it->is_array()) return fail(Errc::invalid_argument, std::string("argument '") + name + "' must be a list");
  for (const auto& v : *it) {
    if (!v.is_string()) return fail(Errc::invalid_argument, std::string("argument '") + name + "' must list strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Expected<std::optional<std::string>> optional_string_arg(const nlohmann::json& args, const char* name) {
  if (!args.contains(name)) return std::optional<std::string>();
  return FERRY_TRY(string_arg(args, name));
}

boost::asio::awaitable<Expected<nlohmann::json>> dispatch(Context& ctx, control::Request& request,
                                                          control::Responder& responder) {
  const Command* command = nullptr;
  for (const auto& c : kCommands)
    if (c.name == request.command) command = &c;
  if (command == nullptr) {
    co_return fail(Errc::invalid_argument, "unknown command '" + request.command + "'; is ferryctl newer than ferryd?");
  }
  auto caller = caller_of(request.peer);
  auto allowed = ctx.access.require(caller, command->role, command->action);
  if (allowed) allowed = check_freeze(ctx, *command, caller);
  if (!allowed) {
    spdlog::warn("refused {} for {} (uid {}): {}", command->action, request.peer.user, request.peer.uid,
                 allowed.error().message);
    co_return std::unexpected(allowed.error());
  }
  auto result = co_await command->run(ctx, request, responder);
  co_return result;
}

}  // namespace ferry::server
