#include "config/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "address/address.h"
#include "schedule/cron.h"
#include "util/fd.h"
#include "util/time.h"
#include "yamlread/yamlread.h"

namespace ferry::config {

using yamlread::Document;
using yamlread::Key;
using yamlread::Need;
using yamlread::as_folder;
using yamlread::field;
using yamlread::nested;
using Node = yamlread::Node;

std::string_view to_string(Role role) {
  switch (role) {
    case Role::viewer:
      return "viewer";
    case Role::editor:
      return "editor";
    case Role::deployer:
      return "deployer";
    case Role::admin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view word) {
  for (Role r : {Role::viewer, Role::editor, Role::deployer, Role::admin})
    if (to_string(r) == word) return r;
  return std::nullopt;
}

namespace {

// ---- Key-table helpers: one row per key, one typed parser per value. ----


auto ints(int64_t min, int64_t max) {
  return [min, max](Document& d, const Node& n) { return yamlread::as_int(d, n, min, max); };
}

// ---- Value parsers beyond the shared ones. ----

std::optional<std::string> as_identifier(Document& d, const Node& n) {
  auto s = yamlread::as_name(d, n);
  if (!s) return std::nullopt;
  auto allowed = [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.' || c == '-'; };
  if (!std::ranges::all_of(*s, allowed)) {
    d.error(n, "expected an identifier of letters, digits, '_', '.' and '-'; got '" + *s + "'");
    return std::nullopt;
  }
  return s;
}

std::optional<seconds> as_positive_duration(Document& d, const Node& n) {
  auto v = yamlread::as_duration(d, n);
  if (v && v->count() <= 0) {
    d.error(n, "expected a duration greater than 0; got '" + n.Scalar() + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<uint64_t> as_positive_size(Document& d, const Node& n) {
  auto v = yamlread::as_size(d, n);
  if (v && *v == 0) {
    d.error(n, "expected a size greater than 0; got '" + n.Scalar() + "'");
    return std::nullopt;
  }
  return v;
}

// The scheduler's own parser, so a cron that could never open its window is refused
// at start-up (and by --check) with its position, not found out at night.
std::optional<std::string> as_cron(Document& d, const Node& n) {
  auto s = yamlread::as_name(d, n);
  if (!s) return std::nullopt;
  if (auto cron = schedule::Cron::parse(*s); !cron) {
    d.error(n, cron.error().message);
    return std::nullopt;
  }
  return s;
}

bool valid_port(std::string_view port) {
  int value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return ec == std::errc() && p == port.data() + port.size() && value >= 1 && value <= 65535;
}

/// "127.0.0.1:9464", "localhost:9464" or "[::1]:9464".
bool valid_listen(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
  } else if (host.find(':') != std::string_view::npos) {
    return false;  // a bare IPv6 address is ambiguous: it needs brackets
  }
  return valid_port(text.substr(colon + 1));
}

std::optional<std::string> as_listen(Document& d, const Node& n) {
  auto s = yamlread::as_name(d, n);
  if (s && !valid_listen(*s)) {
    d.error(n, "expected HOST:PORT such as 127.0.0.1:9464 or [::1]:9464; got '" + *s + "'");
    return std::nullopt;
  }
  return s;
}

std::optional<std::vector<std::string>> as_groups(Document& d, const Node& n) {
  auto groups = yamlread::as_string_list(d, n);
  if (groups && std::ranges::any_of(*groups, [](const std::string& g) { return g.empty(); })) {
    d.error(n, "group names must not be empty");
    return std::nullopt;
  }
  return groups;
}

// YAML spellings of the enums; as_enum lists them in its message.
std::optional<MaintenanceEnd> as_maintenance_end(Document& d, const Node& n) {
  return yamlread::as_enum<MaintenanceEnd>(d, n,
                                           {{"auto", MaintenanceEnd::automatic}, {"manual", MaintenanceEnd::manual}});
}
std::optional<WindowKind> as_window_kind(Document& d, const Node& n) {
  return yamlread::as_enum<WindowKind>(d, n, {{"allow", WindowKind::allow}, {"deny", WindowKind::deny}});
}
/// A policy word from its table (config.h), so watch rules and ferryctl agree.
template <typename E, size_t N>
std::optional<E> as_policy(Document& d, const Node& n, const PolicyWord<E> (&table)[N]) {
  auto word = yamlread::as_string(d, n);
  if (!word) return std::nullopt;
  if (auto value = policy_value(table, *word)) return value;
  d.error(n, "expected one of " + policy_words(table) + "; got '" + *word + "'");
  return std::nullopt;
}
std::optional<WatchMode> as_watch_mode(Document& d, const Node& n) { return as_policy(d, n, kWatchModeWords); }
std::optional<IdPolicy> as_id_policy(Document& d, const Node& n) { return as_policy(d, n, kIdPolicyWords); }
std::optional<NameConflict> as_name_conflict(Document& d, const Node& n) {
  return as_policy(d, n, kNameConflictWords);
}
std::optional<DeletedInTarget> as_deleted_in_target(Document& d, const Node& n) {
  return as_policy(d, n, kDeletedInTargetWords);
}
std::optional<LogLevel> as_log_level(Document& d, const Node& n) {
  return yamlread::as_enum<LogLevel>(d, n,
                                     {{"trace", LogLevel::trace},
                                      {"debug", LogLevel::debug},
                                      {"info", LogLevel::info},
                                      {"warn", LogLevel::warn},
                                      {"error", LogLevel::error}});
}

// ---- Readers, one per mapping. ----

using yamlread::as_bool;
using yamlread::as_duration;
using yamlread::as_path;
using yamlread::read_map;

/// Where each list item that the cross-checks look at was read, and whether it read
/// without error (a cross-check on a half-read item would only repeat that error).
enum class Clean { yes, no };
struct ItemAt {
  Node node;
  Clean clean = Clean::yes;
};
struct Seen {
  std::vector<ItemAt> windows;
  std::vector<ItemAt> exclusions;
  std::vector<ItemAt> watch;
};

/// Reads a list with read_item, recording each item in *seen when given.
template <typename T>
auto list_of(void (*read_item)(Document&, const Node&, T&), std::vector<ItemAt>* seen = nullptr) {
  return [read_item, seen](Document& d, const Node& n, std::vector<T>& out) {
    auto one = [&](Document& dd, const Node& item, T& value) {
      size_t before = dd.errors().size();
      read_item(dd, item, value);
      if (seen != nullptr) seen->push_back({item, dd.errors().size() == before ? Clean::yes : Clean::no});
    };
    yamlread::read_list<T>(d, n, one, out);
  };
}

void read_environment(Document& d, const Node& n, Environment& out) {
  read_map<Environment>(d, n, "environment",
                        {
                            field("id", &Environment::id, as_identifier, Need::required),
                            field("engine", &Environment::engine, as_identifier),
                        },
                        out);
}

void read_trusted(Document& d, const Node& n, TrustedKey& out) {
  if (n.IsScalar()) {
    if (auto p = as_path(d, n)) out.key = *p;
    return;
  }
  if (!n.IsMap()) {
    d.error(n, "expected a public key path or {key: PATH, env: ID}, got " + std::string(yamlread::describe(n)));
    return;
  }
  read_map<TrustedKey>(d, n, "trusted key",
                       {
                           field("key", &TrustedKey::key, as_path, Need::required),
                           field("env", &TrustedKey::env, as_identifier),
                       },
                       out);
}

void read_signing(Document& d, const Node& n, Signing& out) {
  read_map<Signing>(d, n, "signing",
                    {
                        field("key", &Signing::key, as_path),
                        nested("trusted", &Signing::trusted, list_of(read_trusted)),
                    },
                    out);
}

void read_limits(Document& d, const Node& n, Limits& out) {
  read_map<Limits>(d, n, "limits",
                   {
                       field("max_entries", &Limits::max_entries, ints(1, INT64_MAX)),
                       field("max_expanded_bytes", &Limits::max_expanded_bytes, as_positive_size),
                       field("max_ratio", &Limits::max_ratio, ints(1, INT64_MAX)),
                   },
                   out);
}

void read_window(Document& d, const Node& n, Window& out) {
  read_map<Window>(d, n, "window",
                   {
                       field("name", &Window::name, as_identifier, Need::required),
                       field("kind", &Window::kind, as_window_kind),
                       field("cron", &Window::cron, as_cron, Need::required),
                       field("duration", &Window::duration, as_positive_duration, Need::required),
                       field("timezone", &Window::timezone, yamlread::as_timezone),
                   },
                   out);
}

void read_exclusion(Document& d, const Node& n, Exclusion& out) {
  read_map<Exclusion>(d, n, "exclusion",
                      {
                          field("from", &Exclusion::from, yamlread::as_time, Need::required),
                          field("to", &Exclusion::to, yamlread::as_time, Need::required),
                          field("reason", &Exclusion::reason, yamlread::as_string),
                      },
                      out);
}

auto maintenance_reader(Seen& seen) {
  return [&seen](Document& d, const Node& n, Maintenance& out) {
    read_map<Maintenance>(d, n, "maintenance",
                          {
                              field("end", &Maintenance::end, as_maintenance_end),
                              nested("windows", &Maintenance::windows, list_of(read_window, &seen.windows)),
                              nested("exclusions", &Maintenance::exclusions, list_of(read_exclusion, &seen.exclusions)),
                          },
                          out);
  };
}

void read_retention(Document& d, const Node& n, Retention& out) {
  read_map<Retention>(d, n, "retention",
                      {
                          field("days", &Retention::days, ints(0, 36500)),
                          field("keep_last", &Retention::keep_last, ints(0, INT64_MAX)),
                      },
                      out);
}

void read_watch_rule(Document& d, const Node& n, WatchRule& out) {
  read_map<WatchRule>(d, n, "watch rule",
                      {
                          field("dir", &WatchRule::dir, as_path, Need::required),
                          field("window", &WatchRule::window, as_identifier),
                          field("mode", &WatchRule::mode, as_watch_mode),
                          field("id_policy", &WatchRule::id_policy, as_id_policy),
                          field("on_name_conflict", &WatchRule::on_name_conflict, as_name_conflict),
                          field("on_deleted_in_target", &WatchRule::on_deleted_in_target, as_deleted_in_target),
                          field("atomic", &WatchRule::atomic, as_bool),
                          field("poll", &WatchRule::poll, as_duration),
                          field("settle", &WatchRule::settle, as_duration),
                          field("require_sidecar", &WatchRule::require_sidecar, as_bool),
                          field("allow_unsigned", &WatchRule::allow_unsigned, as_bool),
                          field("require_secrets", &WatchRule::require_secrets, as_bool),
                          field("into", &WatchRule::into, as_folder),
                          field("reports_to", &WatchRule::reports_to, as_path),
                          field("gap_timeout", &WatchRule::gap_timeout, as_positive_duration),
                          field("keep_processed", &WatchRule::keep_processed, as_positive_duration),
                      },
                      out);
}

Key<Roles> role_key(Role role) {
  return {to_string(role), [role](Document& d, const Node& n, Roles& out) {
            if (auto groups = as_groups(d, n)) out.groups[role] = std::move(*groups);
          }};
}

void read_roles(Document& d, const Node& n, Roles& out) {
  out.configured = true;  // even `roles: {}`: the operator chose to list groups
  read_map<Roles>(d, n, "roles",
                  {
                      role_key(Role::admin),
                      role_key(Role::deployer),
                      role_key(Role::editor),
                      role_key(Role::viewer),
                  },
                  out);
}

void read_metrics(Document& d, const Node& n, Metrics& out) {
  read_map<Metrics>(d, n, "metrics",
                    {
                        field("listen", &Metrics::listen, as_listen),
                    },
                    out);
}

void read_log(Document& d, const Node& n, Log& out) {
  read_map<Log>(d, n, "log",
                {
                    field("level", &Log::level, as_log_level),
                },
                out);
}

void read_config(Document& d, const Node& n, Seen& seen, Config& out) {
  read_map<Config>(d, n, "configuration",
                   {
                       nested("environment", &Config::environment, read_environment, Need::required),
                       field("state_dir", &Config::state_dir, as_path),
                       field("socket", &Config::socket, as_path),
                       field("socket_group", &Config::socket_group, yamlread::as_name),
                       field("types", &Config::types, as_path),
                       field("jobs_dir", &Config::jobs_dir, as_path),
                       field("secrets", &Config::secrets, as_path),
                       field("overrides", &Config::overrides, as_path),
                       nested("signing", &Config::signing, read_signing),
                       nested("limits", &Config::limits, read_limits),
                       nested("maintenance", &Config::maintenance, maintenance_reader(seen)),
                       nested("retention", &Config::retention, read_retention),
                       nested("watch", &Config::watch, list_of(read_watch_rule, &seen.watch)),
                       nested("roles", &Config::roles, read_roles),
                       nested("metrics", &Config::metrics, read_metrics),
                       nested("log", &Config::log, read_log),
                   },
                   out);
}

// ---- Cross-checks, after the table pass: they need more than one value. ----

/// Records an error at `at` under the key path `path` (the table pass has ended, so
/// the path is no longer on the document's stack).
void error_at(Document& d, std::initializer_list<std::string> path, const Node& at, const std::string& message) {
  for (const auto& segment : path) d.push(segment);
  d.error(at, message);
  for (size_t i = 0; i < path.size(); ++i) d.pop();
}

std::string item(size_t i) { return "[" + std::to_string(i) + "]"; }

void check_window_names(Document& d, const Maintenance& m, const Seen& seen) {
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < m.windows.size(); ++i) {
    const auto& name = m.windows[i].name;
    if (name.empty()) continue;  // missing or bad: already reported
    auto [it, inserted] = first.emplace(name, i);
    if (!inserted) {
      error_at(d, {"maintenance", "windows", item(i), "name"}, seen.windows[i].node["name"],
               "duplicate window name '" + name + "'; maintenance.windows" + item(it->second) + " already uses it");
    }
  }
}

void check_exclusions(Document& d, const Maintenance& m, const Seen& seen) {
  for (size_t i = 0; i < m.exclusions.size(); ++i) {
    const auto& e = m.exclusions[i];
    if (seen.exclusions[i].clean == Clean::no || e.from < e.to) continue;
    error_at(d, {"maintenance", "exclusions", item(i), "to"}, seen.exclusions[i].node["to"],
             "'to' (" + format_rfc3339(e.to) + ") must be after 'from' (" + format_rfc3339(e.from) + ")");
  }
}

std::string window_names(const Maintenance& m) {
  std::string out;
  for (const auto& w : m.windows)
    if (w.kind == WindowKind::allow && !w.name.empty()) out += (out.empty() ? "" : ", ") + w.name;
  return out.empty() ? "none" : out;
}

void check_watch_windows(Document& d, const Config& c, const Seen& seen) {
  for (size_t i = 0; i < c.watch.size(); ++i) {
    if (!c.watch[i].window) continue;
    const auto& name = *c.watch[i].window;
    auto w = std::ranges::find(c.maintenance.windows, name, &Window::name);
    std::string message;
    if (w == c.maintenance.windows.end()) {
      message = "no window named '" + name + "'; allow windows in maintenance.windows: " + window_names(c.maintenance);
    } else if (w->kind == WindowKind::deny) {
      message = "window '" + name + "' is a deny window; a watch rule needs an allow window";
    } else {
      continue;
    }
    error_at(d, {"watch", item(i), "window"}, seen.watch[i].node["window"], message);
  }
}

}  // namespace

Expected<Config> parse_config(const std::string& file_name, std::string_view text) {
  Document doc(file_name, text);
  Config config;
  config.file = file_name;
  if (doc.ok() && doc.root().IsNull()) {
    // Empty or comments only: say what is missing rather than "got nothing".
    doc.error(YAML::Mark(), "missing required key 'environment' in configuration");
  } else if (doc.ok()) {
    Seen seen;
    read_config(doc, doc.root(), seen, config);
    check_window_names(doc, config.maintenance, seen);
    check_exclusions(doc, config.maintenance, seen);
    check_watch_windows(doc, config, seen);
  }
  if (!doc.ok()) return std::unexpected(doc.to_error());
  return config;
}

Expected<Config> load_config(const Path& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_config(path.string(), *text);
}

}  // namespace ferry::config
