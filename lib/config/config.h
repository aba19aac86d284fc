// ferryd.yaml: the daemon's configuration, read through one key table
// (config.cpp) with typed parsers. Every default is written once, here, beside
// its field. Relative paths are relative to the file that names them.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/clock.h"
#include "util/error.h"

namespace ferry::config {

using std::chrono::seconds;
using Path = std::filesystem::path;

struct Environment {
  std::string id;                  ///< required; stamped into packages
  std::string engine = "single";   ///< compatibility class; packages import only into an equal engine
};

struct TrustedKey {
  Path key;                        ///< a NAME.pub file written by `ferryctl keygen`
  std::optional<std::string> env;  ///< accept this key only for packages from this environment
};

struct Signing {
  std::optional<Path> key;         ///< private key; required to export
  std::vector<TrustedKey> trusted; ///< public keys whose packages are accepted
};

struct Limits {
  uint64_t max_entries = 200000;                     ///< zip entries per package
  uint64_t max_expanded_bytes = uint64_t{64} << 30;  ///< 64GiB, sum of uncompressed sizes
  uint64_t max_ratio = 200;                          ///< uncompressed/compressed, per entry
};

enum class MaintenanceEnd { automatic, manual };  ///< YAML: auto | manual
enum class WindowKind { allow, deny };

struct Window {
  std::string name;
  WindowKind kind = WindowKind::allow;
  std::string cron;               ///< 5 fields; opens at each match
  seconds duration{0};            ///< required, > 0
  std::string timezone = "UTC";
};

struct Exclusion {
  TimePoint from;
  TimePoint to;                   ///< must be after from
  std::string reason;
};

struct Maintenance {
  MaintenanceEnd end = MaintenanceEnd::automatic;
  std::vector<Window> windows;    ///< names unique
  std::vector<Exclusion> exclusions;
};

struct Retention {
  int64_t days = 30;              ///< package files and records older than this are pruned
  int64_t keep_last = 50;         ///< ...but the newest keep_last always stay
};

enum class WatchMode { deploy, stage };
enum class IdPolicy { keep, fresh };               ///< YAML: keep | new
enum class NameConflict { fail, skip, overwrite };
enum class DeletedInTarget { fail, recreate };

/// One spelling of a policy value. Each policy has one table of these, read by
/// ferryd.yaml (watch rules) and by the control protocol (`ferryctl import`), so the
/// two can never spell a policy differently.
template <typename E>
struct PolicyWord {
  std::string_view word;
  E value;
};

inline constexpr PolicyWord<WatchMode> kWatchModeWords[] = {{"deploy", WatchMode::deploy}, {"stage", WatchMode::stage}};
inline constexpr PolicyWord<IdPolicy> kIdPolicyWords[] = {{"keep", IdPolicy::keep}, {"new", IdPolicy::fresh}};
inline constexpr PolicyWord<NameConflict> kNameConflictWords[] = {
    {"fail", NameConflict::fail}, {"skip", NameConflict::skip}, {"overwrite", NameConflict::overwrite}};
inline constexpr PolicyWord<DeletedInTarget> kDeletedInTargetWords[] = {{"fail", DeletedInTarget::fail},
                                                                        {"recreate", DeletedInTarget::recreate}};

/// The value a table gives word; nullopt when it has none.
template <typename E, size_t N>
constexpr std::optional<E> policy_value(const PolicyWord<E> (&table)[N], std::string_view word) {
  for (const auto& w : table)
    if (w.word == word) return w.value;
  return std::nullopt;
}

/// The word a table gives value (every value has one).
template <typename E, size_t N>
constexpr std::string_view policy_word(const PolicyWord<E> (&table)[N], E value) {
  for (const auto& w : table)
    if (w.value == value) return w.word;
  return table[0].word;
}

/// "keep, new": the words of a table, for messages.
template <typename E, size_t N>
std::string policy_words(const PolicyWord<E> (&table)[N]) {
  std::string out;
  for (const auto& w : table) out += (out.empty() ? "" : ", ") + std::string(w.word);
  return out;
}

struct WatchRule {
  Path dir;                                 ///< required
  std::optional<std::string> window;        ///< an allow window's name
  WatchMode mode = WatchMode::deploy;
  IdPolicy id_policy = IdPolicy::keep;
  NameConflict on_name_conflict = NameConflict::fail;
  DeletedInTarget on_deleted_in_target = DeletedInTarget::fail;
  bool atomic = true;
  seconds poll{0};                          ///< 0 = inotify; >0 = scan interval (NFS)
  seconds settle{2};                        ///< size+mtime stable this long before taking a file
  bool require_sidecar = false;             ///< wait for a matching NAME.zip.sha256
  bool allow_unsigned = false;
  bool require_secrets = false;
  std::optional<std::string> into;          ///< re-root imported folders here
  std::optional<Path> reports_to;           ///< extra copy of each report
  seconds gap_timeout{3600};                ///< how long an incremental package waits for its predecessor
  seconds keep_processed{30 * 86400};       ///< prune processed/ and failed/ after this
};

enum class Role { viewer, editor, deployer, admin };  ///< ordered: each includes the ones before
std::string_view to_string(Role role);
std::optional<Role> parse_role(std::string_view word);

struct Roles {
  bool configured = false;                  ///< false: only root and the daemon's user (as admin)
  std::map<Role, std::vector<std::string>> groups;  ///< Unix group names per role
};

struct Metrics {
  std::optional<std::string> listen;        ///< "127.0.0.1:9464"; absent = no metrics endpoint
};

enum class LogLevel { trace, debug, info, warn, error };
struct Log {
  LogLevel level = LogLevel::info;
};

struct Config {
  Path file;                                ///< where this configuration was read from
  Environment environment;
  Path state_dir = "/var/lib/ferry";
  Path socket = "/run/ferry/ferryd.sock";
  std::optional<std::string> socket_group;  ///< group of the socket; default: the daemon's group
  Path types = "/etc/ferry/types.yaml";
  Path jobs_dir = "/etc/ferry/jobs.d";
  Path secrets = "/etc/ferry/secrets.yaml";     ///< absent file = no secrets
  Path overrides = "/etc/ferry/overrides.yaml"; ///< absent file = no overrides
  Signing signing;
  Limits limits;
  Maintenance maintenance;
  Retention retention;
  std::vector<WatchRule> watch;
  Roles roles;
  Metrics metrics;
  Log log;
};

/// Parses ferryd.yaml text. Every error in the file is reported, one per line,
/// as "file:line:col: key.path: message" (invalid_argument).
Expected<Config> parse_config(const std::string& file_name, std::string_view text);

/// Reads and parses the file; a missing or unreadable file is an io error naming it.
Expected<Config> load_config(const Path& path);

}  // namespace ferry::config
