// ferryd [--config PATH] [--check] [--version]
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "config/config.h"
#include "logging/logging.h"
#include "server/server.h"
#include "util/time.h"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitConfig = 2;

std::string_view level_word(ferry::config::LogLevel level) {
  using ferry::config::LogLevel;
  switch (level) {
    case LogLevel::trace: return "trace";
    case LogLevel::debug: return "debug";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    default: return "info";
  }
}

}  // namespace

int main(int argc, char** argv) {
  ferry::pin_local_time_zone();
  CLI::App app{"ferryd: moves deployment packages between isolated environments"};
  std::string config_path = "/etc/ferry/ferryd.yaml";
  bool check = false;
  bool version = false;
  app.add_option("--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--check", check, "validate the configuration and exit (0 valid, 2 not)");
  app.add_flag("--version", version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitConfig;
  }
  if (version) {
    std::cout << "ferryd " << FERRY_VERSION << '\n';
    return 0;
  }
  auto config = ferry::config::load_config(config_path);
  auto valid = config ? (check ? ferry::server::check(*config) : ferry::Status{}) : std::unexpected(config.error());
  if (!valid) {
    std::cerr << valid.error().message << '\n';
    return kExitConfig;
  }
  if (check) {
    std::cout << config_path << ": ok\n";
    return 0;
  }
  ferry::logging::init(ferry::logging::detect_target(), ferry::logging::parse_level(level_word(config->log.level)));
  if (auto st = ferry::server::run(*config); !st) {
    spdlog::critical("cannot start: {}", st.error().message);
    return st.error().code == ferry::Errc::invalid_argument ? kExitConfig : kExitFailed;
  }
  return 0;
}
