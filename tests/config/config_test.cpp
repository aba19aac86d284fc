#include "config/config.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "util/time.h"

namespace ferry::config {
namespace {

/// The error text of a file that must not parse.
std::string error_of(std::string_view text) {
  auto c = parse_config("f.yaml", text);
  if (c) return "(parsed)";
  EXPECT_EQ(c.error().code, Errc::invalid_argument);
  return c.error().message;
}

Config parsed(std::string_view text) {
  auto c = parse_config("/etc/ferry/ferryd.yaml", text);
  EXPECT_TRUE(c) << c.error().message;
  return c ? *c : Config{};
}

TEST(Config, EveryDefault) {
  Config c = parsed("environment: {id: x}\n");
  EXPECT_EQ(c.file, "/etc/ferry/ferryd.yaml");
  EXPECT_EQ(c.environment.id, "x");
  EXPECT_EQ(c.environment.engine, "single");
  EXPECT_EQ(c.state_dir, "/var/lib/ferry");
  EXPECT_EQ(c.socket, "/run/ferry/ferryd.sock");
  EXPECT_FALSE(c.socket_group);
  EXPECT_EQ(c.types, "/etc/ferry/types.yaml");
  EXPECT_EQ(c.jobs_dir, "/etc/ferry/jobs.d");
  EXPECT_EQ(c.secrets, "/etc/ferry/secrets.yaml");
  EXPECT_EQ(c.overrides, "/etc/ferry/overrides.yaml");
  EXPECT_FALSE(c.signing.key);
  EXPECT_TRUE(c.signing.trusted.empty());
  EXPECT_EQ(c.limits.max_entries, 200000u);
  EXPECT_EQ(c.limits.max_expanded_bytes, uint64_t{64} << 30);
  EXPECT_EQ(c.limits.max_ratio, 200u);
  EXPECT_EQ(c.maintenance.end, MaintenanceEnd::automatic);
  EXPECT_TRUE(c.maintenance.windows.empty());
  EXPECT_TRUE(c.maintenance.exclusions.empty());
  EXPECT_EQ(c.retention.days, 30);
  EXPECT_EQ(c.retention.keep_last, 50);
  EXPECT_TRUE(c.watch.empty());
  EXPECT_FALSE(c.roles.configured);
  EXPECT_TRUE(c.roles.groups.empty());
  EXPECT_FALSE(c.metrics.listen);
  EXPECT_EQ(c.log.level, LogLevel::info);
}

TEST(Config, WatchRuleDefaults) {
  Config c = parsed("environment: {id: x}\nwatch: [{dir: inbox}]\n");
  ASSERT_EQ(c.watch.size(), 1u);
  const WatchRule& w = c.watch[0];
  EXPECT_EQ(w.dir, "/etc/ferry/inbox");
  EXPECT_FALSE(w.window);
  EXPECT_EQ(w.mode, WatchMode::deploy);
  EXPECT_EQ(w.id_policy, IdPolicy::keep);
  EXPECT_EQ(w.on_name_conflict, NameConflict::fail);
  EXPECT_EQ(w.on_deleted_in_target, DeletedInTarget::fail);
  EXPECT_TRUE(w.atomic);
  EXPECT_EQ(w.poll, seconds(0));
  EXPECT_EQ(w.settle, seconds(2));
  EXPECT_FALSE(w.require_sidecar);
  EXPECT_FALSE(w.allow_unsigned);
  EXPECT_FALSE(w.require_secrets);
  EXPECT_FALSE(w.into);
  EXPECT_FALSE(w.reports_to);
  EXPECT_EQ(w.gap_timeout, seconds(3600));
  EXPECT_EQ(w.keep_processed, seconds(30 * 86400));
}

TEST(Config, WindowDefaults) {
  Config c = parsed("environment: {id: x}\nmaintenance: {windows: [{name: n, cron: '0 1 * * *', duration: 4h}]}\n");
  ASSERT_EQ(c.maintenance.windows.size(), 1u);
  const Window& w = c.maintenance.windows[0];
  EXPECT_EQ(w.name, "n");
  EXPECT_EQ(w.kind, WindowKind::allow);
  EXPECT_EQ(w.cron, "0 1 * * *");
  EXPECT_EQ(w.duration, seconds(4 * 3600));
  EXPECT_EQ(w.timezone, "UTC");
}

TEST(Config, ReadsEveryKey) {
  Config c = parsed(R"(
environment: {id: prod-1.eu, engine: big}
state_dir: state
socket: /run/f.sock
socket_group: ferry
types: types.yaml
jobs_dir: jobs.d
secrets: s.yaml
overrides: /o.yaml
signing:
  key: keys/prod.key
  trusted: [keys/test.pub, {key: /k/dev.pub, env: dev}]
limits: {max_entries: 10, max_expanded_bytes: 1MiB, max_ratio: 5}
maintenance:
  end: manual
  windows:
    - {name: nightly, kind: allow, cron: "0 1 * * *", duration: 4h, timezone: Europe/Berlin}
    - {name: freeze, kind: deny, cron: "0 0 * * 5", duration: 1d}
  exclusions:
    - {from: "2026-12-20T00:00:00Z", to: "2027-01-04T00:00:00Z", reason: year-end freeze}
retention: {days: 7, keep_last: 3}
watch:
  - {dir: /in, window: nightly, mode: stage, id_policy: new, on_name_conflict: overwrite,
     on_deleted_in_target: recreate, atomic: false, poll: 5s, settle: 1m, require_sidecar: true,
     allow_unsigned: true, require_secrets: true, into: copy2/, reports_to: ../reports,
     gap_timeout: 2h, keep_processed: 7d}
roles: {admin: [a1, a2], viewer: v}
metrics: {listen: "[::1]:9464"}
log: {level: debug}
)");
  EXPECT_EQ(c.environment.id, "prod-1.eu");
  EXPECT_EQ(c.environment.engine, "big");
  EXPECT_EQ(c.state_dir, "/etc/ferry/state");
  EXPECT_EQ(c.socket, "/run/f.sock");
  EXPECT_EQ(c.socket_group, "ferry");
  EXPECT_EQ(c.types, "/etc/ferry/types.yaml");
  EXPECT_EQ(c.jobs_dir, "/etc/ferry/jobs.d");
  EXPECT_EQ(c.secrets, "/etc/ferry/s.yaml");
  EXPECT_EQ(c.overrides, "/o.yaml");
  EXPECT_EQ(c.signing.key, Path("/etc/ferry/keys/prod.key"));
  ASSERT_EQ(c.signing.trusted.size(), 2u);
  EXPECT_EQ(c.signing.trusted[0].key, "/etc/ferry/keys/test.pub");
  EXPECT_FALSE(c.signing.trusted[0].env);
  EXPECT_EQ(c.signing.trusted[1].key, "/k/dev.pub");
  EXPECT_EQ(c.signing.trusted[1].env, "dev");
  EXPECT_EQ(c.limits.max_entries, 10u);
  EXPECT_EQ(c.limits.max_expanded_bytes, 1u << 20);
  EXPECT_EQ(c.limits.max_ratio, 5u);
  EXPECT_EQ(c.maintenance.end, MaintenanceEnd::manual);
  ASSERT_EQ(c.maintenance.windows.size(), 2u);
  EXPECT_EQ(c.maintenance.windows[0].timezone, "Europe/Berlin");
  EXPECT_EQ(c.maintenance.windows[1].kind, WindowKind::deny);
  EXPECT_EQ(c.maintenance.windows[1].duration, seconds(86400));
  ASSERT_EQ(c.maintenance.exclusions.size(), 1u);
  EXPECT_EQ(format_rfc3339(c.maintenance.exclusions[0].from), "2026-12-20T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(c.maintenance.exclusions[0].to), "2027-01-04T00:00:00.000Z");
  EXPECT_EQ(c.maintenance.exclusions[0].reason, "year-end freeze");
  EXPECT_EQ(c.retention.days, 7);
  EXPECT_EQ(c.retention.keep_last, 3);
  ASSERT_EQ(c.watch.size(), 1u);
  const WatchRule& w = c.watch[0];
  EXPECT_EQ(w.dir, "/in");
  EXPECT_EQ(w.window, "nightly");
  EXPECT_EQ(w.mode, WatchMode::stage);
  EXPECT_EQ(w.id_policy, IdPolicy::fresh);
  EXPECT_EQ(w.on_name_conflict, NameConflict::overwrite);
  EXPECT_EQ(w.on_deleted_in_target, DeletedInTarget::recreate);
  EXPECT_FALSE(w.atomic);
  EXPECT_EQ(w.poll, seconds(5));
  EXPECT_EQ(w.settle, seconds(60));
  EXPECT_TRUE(w.require_sidecar);
  EXPECT_TRUE(w.allow_unsigned);
  EXPECT_TRUE(w.require_secrets);
  EXPECT_EQ(w.into, "/copy2");
  EXPECT_EQ(w.reports_to, Path("/etc/reports"));
  EXPECT_EQ(w.gap_timeout, seconds(7200));
  EXPECT_EQ(w.keep_processed, seconds(7 * 86400));
  EXPECT_TRUE(c.roles.configured);
  EXPECT_EQ(c.roles.groups.at(Role::admin), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(c.roles.groups.at(Role::viewer), (std::vector<std::string>{"v"}));
  EXPECT_FALSE(c.roles.groups.contains(Role::editor));
  EXPECT_EQ(c.metrics.listen, "[::1]:9464");
  EXPECT_EQ(c.log.level, LogLevel::debug);
}

TEST(Config, EmptyRolesStillConfigured) { EXPECT_TRUE(parsed("environment: {id: x}\nroles: {}\n").roles.configured); }

TEST(Config, RelativePathsFollowTheFile) {
  auto c = parse_config("conf/ferryd.yaml", "environment: {id: x}\nstate_dir: ../state\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state_dir, "state");
  auto bare = parse_config("ferryd.yaml", "environment: {id: x}\nstate_dir: s\n");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->state_dir, "s");
}

TEST(Config, RoleNames) {
  for (Role r : {Role::viewer, Role::editor, Role::deployer, Role::admin}) EXPECT_EQ(parse_role(to_string(r)), r);
  EXPECT_EQ(to_string(Role::deployer), "deployer");
  EXPECT_FALSE(parse_role("root"));
  EXPECT_LT(Role::viewer, Role::admin);
}

// ---- Errors: each text exactly. ----

TEST(ConfigErrors, EmptyFile) {
  EXPECT_EQ(error_of(""), "f.yaml:1:1: missing required key 'environment' in configuration");
  EXPECT_EQ(error_of("# nothing here\n\n# at all\n"),
            "f.yaml:1:1: missing required key 'environment' in configuration");
}

TEST(ConfigErrors, MissingRequiredKeys) {
  EXPECT_EQ(error_of("state_dir: /x\n"), "f.yaml:1:1: missing required key 'environment' in configuration");
  EXPECT_EQ(error_of("environment: {engine: e}\n"),
            "f.yaml:1:14: environment: missing required key 'id' in environment");
  EXPECT_EQ(error_of("environment: {id: x}\nwatch: [{mode: stage}]\n"),
            "f.yaml:2:9: watch[0]: missing required key 'dir' in watch rule");
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {windows: [{kind: deny}]}\n"),
            "f.yaml:2:25: maintenance.windows[0]: missing required key 'name' in window\n"
            "f.yaml:2:25: maintenance.windows[0]: missing required key 'cron' in window\n"
            "f.yaml:2:25: maintenance.windows[0]: missing required key 'duration' in window");
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {exclusions: [{reason: r}]}\n"),
            "f.yaml:2:28: maintenance.exclusions[0]: missing required key 'from' in exclusion\n"
            "f.yaml:2:28: maintenance.exclusions[0]: missing required key 'to' in exclusion");
  EXPECT_EQ(error_of("environment: {id: x}\nsigning: {trusted: [{env: dev}]}\n"),
            "f.yaml:2:21: signing.trusted[0]: missing required key 'key' in trusted key");
}

TEST(ConfigErrors, EnvironmentId) {
  EXPECT_EQ(error_of("environment: {id: ''}\n"), "f.yaml:1:19: environment.id: expected a non-empty string");
  EXPECT_EQ(error_of("environment: {id: 'pro d'}\n"),
            "f.yaml:1:19: environment.id: expected an identifier of letters, digits, '_', '.' and '-'; got 'pro d'");
  EXPECT_EQ(error_of("environment: {id: [a]}\n"), "f.yaml:1:19: environment.id: expected a string, got a list");
  EXPECT_EQ(error_of("environment: prod\n"),
            "f.yaml:1:14: environment: expected a mapping (environment), got a scalar");
}

TEST(ConfigErrors, UnknownKeyAtEachLevel) {
  EXPECT_EQ(error_of("environment: {id: x}\nstatedir: /x\n"),
            "f.yaml:2:1: unknown key 'statedir' in configuration; expected one of: environment, state_dir, socket, "
            "socket_group, types, jobs_dir, secrets, overrides, signing, limits, maintenance, retention, watch, "
            "roles, metrics, log");
  EXPECT_EQ(error_of("environment: {id: x, name: y}\n"),
            "f.yaml:1:22: environment: unknown key 'name' in environment; expected one of: id, engine");
  EXPECT_EQ(error_of("environment: {id: x}\nsigning: {keys: a}\n"),
            "f.yaml:2:11: signing: unknown key 'keys' in signing; expected one of: key, trusted");
  EXPECT_EQ(error_of("environment: {id: x}\nsigning: {trusted: [{key: a, for: b}]}\n"),
            "f.yaml:2:30: signing.trusted[0]: unknown key 'for' in trusted key; expected one of: key, env");
  EXPECT_EQ(error_of("environment: {id: x}\nlimits: {max_size: 1}\n"),
            "f.yaml:2:10: limits: unknown key 'max_size' in limits; expected one of: max_entries, "
            "max_expanded_bytes, max_ratio");
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {start: auto}\n"),
            "f.yaml:2:15: maintenance: unknown key 'start' in maintenance; expected one of: end, windows, exclusions");
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {windows: [{name: n, cron: '* * * * *', duration: 1h, "
                     "tz: UTC}]}\n"),
            "f.yaml:2:68: maintenance.windows[0]: unknown key 'tz' in window; expected one of: name, kind, cron, "
            "duration, timezone");
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {exclusions: [{from: '2026-01-01T00:00:00Z', "
                     "to: '2026-01-02T00:00:00Z', why: x}]}\n"),
            "f.yaml:2:87: maintenance.exclusions[0]: unknown key 'why' in exclusion; expected one of: from, to, "
            "reason");
  EXPECT_EQ(error_of("environment: {id: x}\nretention: {weeks: 1}\n"),
            "f.yaml:2:13: retention: unknown key 'weeks' in retention; expected one of: days, keep_last");
  EXPECT_EQ(error_of("environment: {id: x}\nwatch: [{dir: /in, folder: /x}]\n"),
            "f.yaml:2:20: watch[0]: unknown key 'folder' in watch rule; expected one of: dir, window, mode, "
            "id_policy, on_name_conflict, on_deleted_in_target, atomic, poll, settle, require_sidecar, "
            "allow_unsigned, require_secrets, into, reports_to, gap_timeout, keep_processed");
  EXPECT_EQ(error_of("environment: {id: x}\nmetrics: {port: 9}\n"),
            "f.yaml:2:11: metrics: unknown key 'port' in metrics; expected one of: listen");
  EXPECT_EQ(error_of("environment: {id: x}\nlog: {file: /x}\n"),
            "f.yaml:2:7: log: unknown key 'file' in log; expected one of: level");
}

TEST(ConfigErrors, BadRoleName) {
  EXPECT_EQ(error_of("environment: {id: x}\nroles: {operator: [ops]}\n"),
            "f.yaml:2:9: roles: unknown key 'operator' in roles; expected one of: admin, deployer, editor, viewer");
  EXPECT_EQ(error_of("environment: {id: x}\nroles: {admin: ['']}\n"),
            "f.yaml:2:16: roles.admin: group names must not be empty");
  EXPECT_EQ(error_of("environment: {id: x}\nroles: [admin]\n"),
            "f.yaml:2:8: roles: expected a mapping (roles), got a list");
}

TEST(ConfigErrors, BadEnums) {
  EXPECT_EQ(error_of("environment: {id: x}\nlog: {level: verbose}\n"),
            "f.yaml:2:14: log.level: expected one of trace, debug, info, warn, error; got 'verbose'");
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {end: never}\n"),
            "f.yaml:2:20: maintenance.end: expected one of auto, manual; got 'never'");
  EXPECT_EQ(error_of("environment: {id: x}\nwatch: [{dir: /in, mode: apply, id_policy: fresh, on_name_conflict: "
                     "rename, on_deleted_in_target: skip, atomic: yes}]\n"),
            "f.yaml:2:26: watch[0].mode: expected one of deploy, stage; got 'apply'\n"
            "f.yaml:2:44: watch[0].id_policy: expected one of keep, new; got 'fresh'\n"
            "f.yaml:2:69: watch[0].on_name_conflict: expected one of fail, skip, overwrite; got 'rename'\n"
            "f.yaml:2:99: watch[0].on_deleted_in_target: expected one of fail, recreate; got 'skip'\n"
            "f.yaml:2:113: watch[0].atomic: expected true or false; got 'yes'");
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {windows: [{name: n, kind: open, cron: '* * * * *', "
                     "duration: 1h}]}\n"),
            "f.yaml:2:41: maintenance.windows[0].kind: expected one of allow, deny; got 'open'");
}

TEST(ConfigErrors, BadSizesAndNumbers) {
  EXPECT_EQ(error_of("environment: {id: x}\nlimits: {max_expanded_bytes: 64GB}\n"),
            "f.yaml:2:30: limits.max_expanded_bytes: expected a size such as 200, 512KiB, 64MiB or 64GiB; got '64GB'");
  EXPECT_EQ(error_of("environment: {id: x}\nlimits: {max_expanded_bytes: 0}\n"),
            "f.yaml:2:30: limits.max_expanded_bytes: expected a size greater than 0; got '0'");
  EXPECT_EQ(error_of("environment: {id: x}\nlimits: {max_entries: 0}\n"),
            "f.yaml:2:23: limits.max_entries: expected a number from 1 to 9223372036854775807; got 0");
  EXPECT_EQ(error_of("environment: {id: x}\nretention: {days: many}\n"),
            "f.yaml:2:19: retention.days: expected a whole number; got 'many'");
  EXPECT_EQ(error_of("environment: {id: x}\nretention: {keep_last: -1}\n"),
            "f.yaml:2:24: retention.keep_last: expected a number from 0 to 9223372036854775807; got -1");
}

TEST(ConfigErrors, BadDurations) {
  EXPECT_EQ(error_of("environment: {id: x}\nwatch: [{dir: /in, settle: 2 seconds}]\n"),
            "f.yaml:2:28: watch[0].settle: expected a duration such as 30s, 5m, 4h, 30d or 1h30m; got '2 seconds'");
  EXPECT_EQ(error_of("environment: {id: x}\nwatch: [{dir: /in, gap_timeout: 0s}]\n"),
            "f.yaml:2:33: watch[0].gap_timeout: expected a duration greater than 0; got '0s'");
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {windows: [{name: n, cron: '* * * * *', duration: 0}]}\n"),
            "f.yaml:2:64: maintenance.windows[0].duration: expected a duration greater than 0; got '0'");
}

TEST(ConfigErrors, BadTimes) {
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {windows: [{name: n, cron: '* * * * *', duration: 1h, "
                     "timezone: Mars/Olympus}]}\n"),
            "f.yaml:2:78: maintenance.windows[0].timezone: unknown time zone 'Mars/Olympus'; expected a name from "
            "the tz database such as Europe/Berlin or UTC");
  auto text = error_of(
      "environment: {id: x}\nmaintenance: {exclusions: [{from: yesterday, to: "
      "'2026-01-02T00:00:00Z'}]}\n");
  // Only one error: no from/to cross-check on a time that did not parse.
  EXPECT_EQ(text,
            "f.yaml:2:35: maintenance.exclusions[0].from: 'yesterday' is not an RFC 3339 time (expected e.g. "
            "2026-11-23T02:00:00Z or 2026-11-23T02:00:00+01:00)");
}

TEST(ConfigErrors, CronFieldCount) {
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {windows: [{name: n, cron: '0 1 * *', duration: 1h}]}\n"),
            "f.yaml:2:41: maintenance.windows[0].cron: expected a cron expression of 5 fields (minute hour "
            "day-of-month month day-of-week); got 4 in '0 1 * *'");
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {windows: [{name: n, cron: '0 0 1 * * *', duration: 1h}]}\n"),
            "f.yaml:2:41: maintenance.windows[0].cron: expected a cron expression of 5 fields (minute hour "
            "day-of-month month day-of-week); got 6 in '0 0 1 * * *'");
}

TEST(ConfigErrors, CronFieldValues) {
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {windows: [{name: n, cron: '0 25 * * *', duration: 1h}]}\n"),
            "f.yaml:2:41: maintenance.windows[0].cron: hour: 25 is out of range; expected 0-23");
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance: {windows: [{name: n, cron: '0 0 31 2 *', duration: 1h}]}\n"),
            "f.yaml:2:41: maintenance.windows[0].cron: day-of-month and month never meet (no month in '2' has a "
            "day '31'); '0 0 31 2 *' would never run");
}

TEST(ConfigErrors, DuplicateWindowName) {
  EXPECT_EQ(error_of(R"(environment: {id: x}
maintenance:
  windows:
    - {name: nightly, cron: "0 1 * * *", duration: 4h}
    - {name: weekly, cron: "0 1 * * 0", duration: 4h}
    - {name: nightly, cron: "0 2 * * *", duration: 1h}
)"),
            "f.yaml:6:14: maintenance.windows[2].name: duplicate window name 'nightly'; maintenance.windows[0] "
            "already uses it");
}

TEST(ConfigErrors, WatchWindowMustBeAnAllowWindow) {
  const char* windows = R"(environment: {id: x}
maintenance:
  windows:
    - {name: nightly, cron: "0 1 * * *", duration: 4h}
    - {name: freeze, kind: deny, cron: "0 1 * * *", duration: 4h}
)";
  EXPECT_EQ(error_of(std::string(windows) + "watch: [{dir: /in, window: nighty}]\n"),
            "f.yaml:6:28: watch[0].window: no window named 'nighty'; allow windows in maintenance.windows: nightly");
  EXPECT_EQ(error_of(std::string(windows) + "watch: [{dir: /in, window: freeze}]\n"),
            "f.yaml:6:28: watch[0].window: window 'freeze' is a deny window; a watch rule needs an allow window");
  EXPECT_EQ(error_of("environment: {id: x}\nwatch: [{dir: /in, window: nightly}]\n"),
            "f.yaml:2:28: watch[0].window: no window named 'nightly'; allow windows in maintenance.windows: none");
}

TEST(ConfigErrors, ExclusionFromMustBeBeforeTo) {
  EXPECT_EQ(error_of("environment: {id: x}\nmaintenance:\n  exclusions:\n"
                     "    - {from: '2027-01-04T00:00:00Z', to: '2026-12-20T00:00:00Z'}\n"
                     "    - {from: '2027-01-04T00:00:00Z', to: '2027-01-04T00:00:00Z'}\n"),
            "f.yaml:4:42: maintenance.exclusions[0].to: 'to' (2026-12-20T00:00:00.000Z) must be after 'from' "
            "(2027-01-04T00:00:00.000Z)\n"
            "f.yaml:5:42: maintenance.exclusions[1].to: 'to' (2027-01-04T00:00:00.000Z) must be after 'from' "
            "(2027-01-04T00:00:00.000Z)");
}

TEST(ConfigErrors, BadListen) {
  for (const char* bad : {"9464", "localhost", ":9464", "host:0", "host:99999", "::1:9464", "[]:1", "h:x"}) {
    EXPECT_EQ(error_of("environment: {id: x}\nmetrics: {listen: '" + std::string(bad) + "'}\n"),
              "f.yaml:2:19: metrics.listen: expected HOST:PORT such as 127.0.0.1:9464 or [::1]:9464; got '" +
                  std::string(bad) + "'");
  }
  EXPECT_TRUE(parse_config("f.yaml", "environment: {id: x}\nmetrics: {listen: 'localhost:1'}\n"));
}

TEST(ConfigErrors, IntoMustBeAFolder) {
  EXPECT_EQ(error_of("environment: {id: x}\nwatch: [{dir: /in, into: /a/../b}]\n"),
            "f.yaml:2:26: watch[0].into: folder '/a/../b' contains '..'; folders are absolute paths like "
            "/finance/daily");
}

TEST(ConfigErrors, TrustedKeyShape) {
  EXPECT_EQ(error_of("environment: {id: x}\nsigning: {trusted: [[a]]}\n"),
            "f.yaml:2:21: signing.trusted[0]: expected a public key path or {key: PATH, env: ID}, got a list");
  EXPECT_EQ(error_of("environment: {id: x}\nsigning: {trusted: a.pub}\n"),
            "f.yaml:2:20: signing.trusted: expected a list, got a scalar");
}

TEST(ConfigErrors, EveryErrorIsReportedWithItsPosition) {
  EXPECT_EQ(error_of(R"(environment:
  id: prod
  colour: blue
state_dir: [a]
limits:
  max_ratio: lots
watch:
  - dir: /in
    poll: soon
  - mode: stage
log: {level: loud}
)"),
            "f.yaml:3:3: environment: unknown key 'colour' in environment; expected one of: id, engine\n"
            "f.yaml:4:12: state_dir: expected a string, got a list\n"
            "f.yaml:6:14: limits.max_ratio: expected a whole number; got 'lots'\n"
            "f.yaml:9:11: watch[0].poll: expected a duration such as 30s, 5m, 4h, 30d or 1h30m; got 'soon'\n"
            "f.yaml:10:5: watch[1]: missing required key 'dir' in watch rule\n"
            "f.yaml:11:14: log.level: expected one of trace, debug, info, warn, error; got 'loud'");
}

TEST(ConfigErrors, DuplicateKey) {
  EXPECT_EQ(error_of("environment: {id: x}\nsocket: /a\nsocket: /b\n"),
            "f.yaml:3:1: duplicate key 'socket' in configuration");
}

TEST(ConfigErrors, SyntaxError) {
  auto text = error_of("environment: {id: x\n");
  EXPECT_TRUE(text.starts_with("f.yaml:")) << text;
}

TEST(ConfigLoad, MissingFileIsAnIoErrorNamingThePath) {
  test::TempDir dir;
  auto c = load_config(dir.path() / "nope.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::io);
  EXPECT_EQ(c.error().message, (dir.path() / "nope.yaml").string() + ": open: No such file or directory");
}

TEST(ConfigLoad, ReadsTheFileAndResolvesPathsBesideIt) {
  test::TempDir dir;
  auto path = test::write_text(dir.path() / "etc" / "ferryd.yaml", "environment: {id: x}\ntypes: t.yaml\n");
  auto c = load_config(path);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->file, path);
  EXPECT_EQ(c->types, dir.path() / "etc" / "t.yaml");
}

}  // namespace
}  // namespace ferry::config
