// ferryctl command implementations; cli.cpp wires them to the command line.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "control/control.h"

namespace ferry::cli {

/// Options every command shares.
struct Globals {
  std::filesystem::path socket;
  bool json = false;
};

/// Receives the daemon's events for a call (progress...), in order, before the result.
using EventHandler = std::function<void(const nlohmann::json& event)>;

/// Connects, calls, and prints the error (returning its exit code) on failure.
/// On success stores the result and returns 0.
int call(const Globals& g, std::string_view command, nlohmann::json args, nlohmann::json& result,
         std::span<const int> fds = {}, const EventHandler& on_event = {});

int status(const Globals& g);
int version(const Globals& g);
int keygen(const Globals& g, const std::string& name);
int object_apply(const Globals& g, const std::string& file);
int object_list(const Globals& g, const std::optional<std::string>& type, const std::optional<std::string>& folder);
int object_get(const Globals& g, const std::string& address);
int object_delete(const Globals& g, const std::string& address);

/// Prints the result as JSON when --json was given; returns true if it did.
bool print_json(const Globals& g, const nlohmann::json& result);

}  // namespace ferry::cli
