// One job file through the key tables: one reader per mapping, one typed parser per
// value, then the checks that need more than one value.
#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "address/address.h"
#include "jobs/jobs.h"
#include "util/guid.h"
#include "util/sha256.h"
#include "yamlread/yamlread.h"

namespace ferry::jobs {

namespace {

using std::chrono::seconds;
using yamlread::Document;
using yamlread::field;
using yamlread::Key;
using yamlread::Need;
using yamlread::nested;
using yamlread::read_map;
using Node = yamlread::Node;

// ---- Typed parsers. ----

constexpr size_t kMaxJobName = 64;

std::optional<std::string> as_job_name(Document& d, const Node& n) {
  auto s = yamlread::as_name(d, n);
  if (!s) return std::nullopt;
  auto allowed = [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.' || c == '-'; };
  if (!std::ranges::all_of(*s, allowed) || s->size() > kMaxJobName || s->front() == '.' || s->front() == '-') {
    d.error(n,
            "expected a job name of letters, digits, '_', '.' and '-' (at most 64, not starting with '.' or '-'); "
            "got '" +
                *s + "'");
    return std::nullopt;
  }
  return s;
}

std::optional<exporter::Mode> as_mode(Document& d, const Node& n) {
  return yamlread::as_enum<exporter::Mode>(d, n,
                                           {{"full", exporter::Mode::full},
                                            {"incremental", exporter::Mode::incremental},
                                            {"selected", exporter::Mode::selected}});
}

std::optional<delivery::OnExists> as_on_exists(Document& d, const Node& n) {
  return yamlread::as_enum<delivery::OnExists>(d, n,
                                               {{"overwrite", delivery::OnExists::overwrite},
                                                {"rename", delivery::OnExists::rename},
                                                {"skip", delivery::OnExists::skip}});
}

std::optional<Concurrency> as_concurrency(Document& d, const Node& n) {
  return yamlread::as_enum<Concurrency>(
      d, n, {{"forbid", Concurrency::forbid}, {"replace", Concurrency::replace}, {"allow", Concurrency::allow}});
}

std::optional<schedule::Misfire> as_misfire(Document& d, const Node& n) {
  return yamlread::as_enum<schedule::Misfire>(
      d, n, {{"run_once", schedule::Misfire::run_once}, {"skip", schedule::Misfire::skip}});
}

std::optional<OnWindowClose> as_on_window_close(Document& d, const Node& n) {
  return yamlread::as_enum<OnWindowClose>(d, n, {{"finish", OnWindowClose::finish}, {"cancel", OnWindowClose::cancel}});
}

std::optional<seconds> as_positive_duration(Document& d, const Node& n) {
  auto v = yamlread::as_duration(d, n);
  if (v && v->count() <= 0) {
    d.error(n, "expected a duration greater than 0; got '" + n.Scalar() + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<schedule::Cron> as_cron(Document& d, const Node& n) {
  auto s = yamlread::as_name(d, n);
  if (!s) return std::nullopt;
  auto cron = schedule::Cron::parse(*s);
  if (!cron) {
    d.error(n, cron.error().message);
    return std::nullopt;
  }
  return *cron;
}

std::optional<schedule::Zone> as_zone(Document& d, const Node& n) {
  auto s = yamlread::as_string(d, n);
  if (!s) return std::nullopt;
  auto zone = schedule::Zone::find(*s);
  if (!zone) {
    d.error(n, zone.error().message);
    return std::nullopt;
  }
  return *zone;
}

/// The placeholders server/package_name.cpp expands; anything else would fail every run.
std::optional<std::string> as_name_template(Document& d, const Node& n) {
  auto s = yamlread::as_name(d, n);
  if (!s) return std::nullopt;
  static constexpr std::string_view kPlaceholders[] = {"env", "mode", "date", "time", "seq", "job"};
  auto literal = [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.' || c == '-'; };
  for (size_t i = 0; i < s->size(); ++i) {
    char c = (*s)[i];
    if (c == '{') {
      size_t close = s->find('}', i);
      std::string_view key = close == std::string::npos ? "" : std::string_view(*s).substr(i + 1, close - i - 1);
      if (std::ranges::find(kPlaceholders, key) == std::end(kPlaceholders)) {
        d.error(n, "unknown placeholder in package name template '" + *s +
                       "'; use {env}, {mode}, {date}, {time}, {seq} or {job}");
        return std::nullopt;
      }
      i = close;
    } else if (!literal(static_cast<unsigned char>(c)) || (i == 0 && c == '.')) {
      d.error(n,
              "a package name template may hold only letters, digits, '.', '_', '-' and placeholders, and must "
              "not start with '.' (the name becomes a file name); got '" +
                  *s + "'");
      return std::nullopt;
    }
  }
  return s;
}

// ---- Selection items: each checked the way the exporter will read it. ----

std::optional<std::string> as_address_or_guid(Document& d, const Node& n) {
  auto s = yamlread::as_name(d, n);
  if (!s) return std::nullopt;
  if (auto guid = parse_guid(*s)) return guid;
  auto address = parse_address(*s);
  if (!address) {
    d.error(n, address.error().message);
    return std::nullopt;
  }
  return address->to_string();
}

/// "/x" (that folder) or "/x/**" (the subtree), normalised.
std::optional<std::string> as_folder_pattern(Document& d, const Node& n) {
  auto s = yamlread::as_name(d, n);
  if (!s) return std::nullopt;
  bool subtree = s->ends_with("/**");
  if (*s == "/**") return s;
  auto base = normalize_folder(subtree ? std::string_view(*s).substr(0, s->size() - 3) : std::string_view(*s));
  if (!base) {
    d.error(n, base.error().message);
    return std::nullopt;
  }
  return *base + (subtree ? (*base == "/" ? "**" : "/**") : "");
}

/// A list of values, each read by `parse`; a single value is a one-item list.
template <typename Parse>
auto items(Parse parse) {
  return [parse](Document& d, const Node& n, std::vector<std::string>& out) {
    if (n.IsScalar()) {
      if (auto v = parse(d, n)) out.push_back(std::move(*v));
      return;
    }
    if (!n.IsSequence()) {
      d.error(n, "expected a list of strings, got " + std::string(yamlread::describe(n)));
      return;
    }
    for (size_t i = 0; i < n.size(); ++i) {
      d.push("[" + std::to_string(i) + "]");
      if (auto v = parse(d, n[i])) out.push_back(std::move(*v));
      d.pop();
    }
  };
}

void read_select(Document& d, const Node& n, exporter::Selection& out) {
  using S = exporter::Selection;
  read_map<S>(d, n, "select",
              {
                  nested("guids", &S::guids, items(yamlread::as_guid)),
                  nested("addresses", &S::addresses, items(as_address_or_guid)),
                  nested("types", &S::types, items(yamlread::as_name)),
                  nested("folders", &S::folders, items(as_folder_pattern)),
                  nested("names", &S::names, items(yamlread::as_name)),
              },
              out);
}

// ---- schedule: exactly one of at, every (with start) or cron (with timezone). ----

struct ScheduleKeys {
  std::optional<TimePoint> at;
  std::optional<seconds> every;
  std::optional<TimePoint> start;
  std::optional<schedule::Cron> cron;
  std::optional<schedule::Zone> zone;
};

/// Records an error at `at` under the key path extended by `key`.
void error_under(Document& d, const std::string& key, const Node& at, const std::string& message) {
  d.push(key);
  d.error(at, message);
  d.pop();
}

void read_schedule(Document& d, const Node& n, std::optional<schedule::Spec>& out) {
  ScheduleKeys k;
  size_t errors_before = d.errors().size();
  read_map<ScheduleKeys>(d, n, "schedule",
                         {
                             field("at", &ScheduleKeys::at, yamlread::as_time),
                             field("every", &ScheduleKeys::every, as_positive_duration),
                             field("start", &ScheduleKeys::start, yamlread::as_time),
                             field("cron", &ScheduleKeys::cron, as_cron),
                             field("timezone", &ScheduleKeys::zone, as_zone),
                         },
                         k);
  if (!n.IsMap()) return;
  // Decide by the keys written, not the values read: a bad cron is one error, not two.
  std::vector<std::string> kinds;
  for (const char* key : {"at", "every", "cron"})
    if (n[key].IsDefined()) kinds.emplace_back(key);
  if (kinds.empty()) {
    d.error(n, "expected one of at, every or cron (a job without schedule runs only on demand)");
    return;
  }
  if (kinds.size() > 1) {
    std::string got;
    for (size_t i = 0; i < kinds.size(); ++i) got += (i == 0 ? "" : i + 1 == kinds.size() ? " and " : ", ") + kinds[i];
    d.error(n, "expected only one of at, every or cron; got " + got);
    return;
  }
  if (n["start"].IsDefined() && kinds[0] != "every")
    error_under(d, "start", n["start"], "start goes with every; " + kinds[0] + " takes no start");
  if (n["timezone"].IsDefined() && kinds[0] != "cron")
    error_under(d, "timezone", n["timezone"], "timezone goes with cron; " + kinds[0] + " times carry their own offset");
  if (d.errors().size() != errors_before) return;
  if (k.at) out = schedule::At{*k.at};
  if (k.every) out = schedule::Every{*k.every, k.start};
  if (k.cron) out = schedule::CronSchedule{*k.cron, k.zone ? *k.zone : schedule::Zone::utc()};
}

struct PackageKeys {
  std::optional<std::string> name;
  std::string description;
};

void read_package(Document& d, const Node& n, Job& out) {
  PackageKeys k;
  read_map<PackageKeys>(d, n, "package",
                        {
                            field("name", &PackageKeys::name, as_name_template),
                            field("description", &PackageKeys::description, yamlread::as_string),
                        },
                        k);
  out.package_name = k.name;
  out.description = k.description;
}

void read_target(Document& d, const Node& n, delivery::Target& out) {
  read_map<delivery::Target>(d, n, "deliver target",
                             {
                                 field("dir", &delivery::Target::dir, yamlread::as_path, Need::required),
                                 field("on_exists", &delivery::Target::on_exists, as_on_exists),
                             },
                             out);
}

/// A key of the export request inside the job.
template <typename V, typename Parse>
Key<Job> request_field(std::string_view name, V exporter::Request::*member, Parse parse) {
  return {name, [member, parse](Document& d, const Node& n, Job& out) {
            if (auto v = parse(d, n)) out.request.*member = std::move(*v);
          }};
}

void read_job(Document& d, const Node& n, Job& out) {
  read_map<Job>(d, n, "job",
                {
                    field("name", &Job::name, as_job_name, Need::required),
                    request_field("export", &exporter::Request::mode, as_mode),
                    {"select", [](Document& dd, const Node& nn, Job& j) { read_select(dd, nn, j.request.select); }},
                    request_field("include_upstream", &exporter::Request::include_upstream, yamlread::as_bool),
                    request_field("include_data", &exporter::Request::include_data, yamlread::as_bool),
                    nested("schedule", &Job::schedule, read_schedule),
                    field("window", &Job::window, yamlread::as_name),
                    {"package", read_package},
                    nested("deliver", &Job::deliver,
                           [](Document& dd, const Node& nn, std::vector<delivery::Target>& targets) {
                             yamlread::read_list<delivery::Target>(dd, nn, read_target, targets);
                           }),
                    field("enabled", &Job::enabled, yamlread::as_bool),
                    field("concurrency", &Job::concurrency, as_concurrency),
                    {"misfire",
                     [](Document& dd, const Node& nn, Job& j) {
                       if (auto v = as_misfire(dd, nn)) j.misfire.misfire = *v;
                     }},
                    {"starting_deadline",
                     [](Document& dd, const Node& nn, Job& j) {
                       if (auto v = as_positive_duration(dd, nn)) j.misfire.starting_deadline = *v;
                     }},
                    field("on_window_close", &Job::on_window_close, as_on_window_close),
                },
                out);
}

struct FileKeys {
  std::vector<Job> jobs;
};

// ---- Checks across keys and jobs, after the table pass. ----

std::string item(size_t i) { return "[" + std::to_string(i) + "]"; }

/// Records an error at `at` under "jobs[i].key".
void job_error(Document& d, size_t i, const std::string& key, const Node& at, const std::string& message) {
  d.push("jobs");
  d.push(item(i));
  if (!key.empty()) d.push(key);
  d.error(at, message);
  if (!key.empty()) d.pop();
  d.pop();
  d.pop();
}

std::string allow_windows(const config::Maintenance& m) {
  std::string out;
  for (const auto& w : m.windows)
    if (w.kind == config::WindowKind::allow) out += (out.empty() ? "" : ", ") + w.name;
  return out.empty() ? "none" : out;
}

void check_job(Document& d, size_t i, const Job& job, const Node& node, const config::Config& config) {
  if (job.window) {
    const auto& windows = config.maintenance.windows;
    auto w = std::ranges::find(windows, *job.window, &config::Window::name);
    if (w == windows.end()) {
      job_error(d, i, "window", node["window"],
                "no window named '" + *job.window +
                    "'; allow windows in maintenance.windows: " + allow_windows(config.maintenance));
    } else if (w->kind == config::WindowKind::deny) {
      job_error(d, i, "window", node["window"],
                "window '" + *job.window + "' is a deny window; a job needs an allow window");
    }
  }
  if (job.request.mode != exporter::Mode::selected) return;
  const Node& select = node["select"];
  if (!select.IsDefined()) {
    job_error(d, i, "", node, "missing required key 'select' in job: export: selected exports only what select names");
  } else if (select.IsMap() && select.size() == 0) {
    job_error(d, i, "select", select,
              "export: selected needs at least one of guids, addresses, types, folders or names");
  }
}

void check_names(Document& d, const std::vector<Job>& jobs, const std::vector<Node>& nodes) {
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].name.empty()) continue;  // missing or bad: already reported
    auto [it, inserted] = first.emplace(jobs[i].name, i);
    if (!inserted) {
      job_error(d, i, "name", nodes[i]["name"],
                "duplicate job name '" + jobs[i].name + "'; jobs" + item(it->second) + " at " + jobs[it->second].where +
                    " already uses it");
    }
  }
}

nlohmann::json schedule_json(const schedule::Spec& spec) {
  auto micros = [](TimePoint t) { return t.time_since_epoch().count(); };
  if (const auto* a = std::get_if<schedule::At>(&spec)) return {{"at", micros(a->time)}};
  if (const auto* e = std::get_if<schedule::Every>(&spec)) {
    nlohmann::json j = {{"every", e->interval.count()}};
    if (e->start) j["start"] = micros(*e->start);
    return j;
  }
  const auto& c = std::get<schedule::CronSchedule>(spec);
  return {{"cron", c.cron.text()}, {"timezone", c.zone.name()}};
}

/// Every field of the definition, in a fixed order, hashed.
std::string fingerprint(const Job& job) {
  nlohmann::json deliver = nlohmann::json::array();
  for (const auto& t : job.deliver) deliver.push_back({t.dir.string(), delivery::to_string(t.on_exists)});
  nlohmann::json j = {
      {"name", job.name},
      {"export", exporter::settings_json(job.request)},
      {"schedule", job.schedule ? schedule_json(*job.schedule) : nlohmann::json()},
      {"window", job.window ? nlohmann::json(*job.window) : nlohmann::json()},
      {"package_name", job.package_name ? nlohmann::json(*job.package_name) : nlohmann::json()},
      {"description", job.description},
      {"deliver", deliver},
      {"enabled", job.enabled},
      {"concurrency", to_string(job.concurrency)},
      {"misfire", job.misfire.misfire == schedule::Misfire::run_once ? "run_once" : "skip"},
      {"starting_deadline",
       job.misfire.starting_deadline ? nlohmann::json(job.misfire.starting_deadline->count()) : nlohmann::json()},
      {"on_window_close", to_string(job.on_window_close)},
  };
  return sha256_hex(j.dump());
}

}  // namespace

std::string_view to_string(Concurrency value) {
  switch (value) {
    case Concurrency::forbid:
      return "forbid";
    case Concurrency::replace:
      return "replace";
    case Concurrency::allow:
      return "allow";
  }
  return "?";
}

std::string_view to_string(OnWindowClose value) { return value == OnWindowClose::finish ? "finish" : "cancel"; }

FileLoad parse_job_file(const std::filesystem::path& file, std::string_view text, const config::Config& config) {
  FileLoad out{.file = file, .jobs = {}, .errors = {}};
  Document doc(file.string(), text);
  FileKeys keys;
  std::vector<Node> nodes;
  // Comments only (or nothing): a file with no jobs, e.g. all of them commented out.
  if (doc.ok() && !doc.root().IsNull()) {
    auto one_job = [&nodes](Document& d, const Node& n, Job& job) {
      nodes.push_back(n);
      read_job(d, n, job);
      job.where = yamlread::where_of(d, n["name"].IsDefined() ? n["name"] : n);
    };
    read_map<FileKeys>(doc, doc.root(), "job file",
                       {
                           nested(
                               "jobs", &FileKeys::jobs,
                               [&one_job](Document& d, const Node& n, std::vector<Job>& jobs) {
                                 yamlread::read_list<Job>(d, n, one_job, jobs);
                               },
                               Need::required),
                       },
                       keys);
    for (size_t i = 0; i < keys.jobs.size(); ++i) check_job(doc, i, keys.jobs[i], nodes[i], config);
    check_names(doc, keys.jobs, nodes);
  }
  if (!doc.ok()) {
    out.errors = doc.errors();
    return out;
  }
  for (auto& job : keys.jobs) {
    job.file = file;
    job.fingerprint = fingerprint(job);
  }
  out.jobs = std::move(keys.jobs);
  return out;
}

}  // namespace ferry::jobs
