// import, import list, import show.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cstdio>

#include "server/commands.h"
#include "server/handoff.h"
#include "util/fd.h"
#include "util/guid.h"

namespace ferry::server {

namespace {

/// A policy word by the table ferryd.yaml reads too (config.h), so both agree.
template <typename E, size_t N>
Expected<E> policy_arg(const nlohmann::json& policy, const char* key, const char* flag,
                       const config::PolicyWord<E> (&table)[N], E fallback) {
  auto word = FERRY_TRY(optional_string_arg(policy, key));
  if (!word) return fallback;
  if (auto value = config::policy_value(table, *word)) return *value;
  return fail(Errc::invalid_argument,
              std::string(flag) + " " + *word + ": expected one of " + config::policy_words(table));
}

Expected<importer::Policy> parse_policy(const nlohmann::json& args) {
  importer::Policy p;
  auto policy = args.value("policy", nlohmann::json::object());
  if (!policy.is_object()) return fail(Errc::invalid_argument, "argument 'policy' must be an object");
  p.id_policy = FERRY_TRY(policy_arg(policy, "id_policy", "--id-policy", config::kIdPolicyWords, p.id_policy));
  p.on_name_conflict = FERRY_TRY(
      policy_arg(policy, "on_name_conflict", "--on-name-conflict", config::kNameConflictWords, p.on_name_conflict));
  p.on_deleted_in_target = FERRY_TRY(policy_arg(policy, "on_deleted_in_target", "--on-deleted-in-target",
                                                config::kDeletedInTargetWords, p.on_deleted_in_target));
  p.require_secrets =
      FERRY_TRY(bool_arg(policy, "require_secrets")) ? importer::RequireSecrets::yes : importer::RequireSecrets::no;
  if (auto into = FERRY_TRY(optional_string_arg(policy, "into"))) {
    auto folder = normalize_folder(*into);
    if (!folder) return fail(Errc::invalid_argument, "--into " + *into + ": " + folder.error().message);
    p.into = *folder;
  }
  p.only = FERRY_TRY(strings_arg(policy, "only"));
  p.skip = FERRY_TRY(strings_arg(policy, "skip"));
  if (policy.contains("atomic")) p.atomic = FERRY_TRY(bool_arg(policy, "atomic"));
  return p;
}

// Worker: copies what ferryctl sent into dir/<id>.zip (written under a ferry partial
// name, then renamed), so the package cannot change while it is imported.
Expected<std::filesystem::path> receive_package(int from, const std::filesystem::path& dir, const std::string& id) {
  auto final_path = dir / (id + ".zip");
  auto partial = (dir / temp_name_template(final_path.filename().string())).string();
  UniqueFd out(::mkostemps(partial.data(), kTempNameSuffixLength, O_CLOEXEC));
  if (!out) return fail_errno("create", partial, errno);
  auto copy = [&]() -> Status {
    std::array<char, 1 << 16> buf{};
    for (;;) {
      auto n = ::read(from, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail_errno("read", "the package ferryctl sent", errno);
      if (n == 0) break;
      FERRY_TRY(write_all(out.get(), std::string_view(buf.data(), static_cast<size_t>(n)), partial));
    }
    if (::fsync(out.get()) != 0) return fail_errno("fsync", partial, errno);
    if (::rename(partial.c_str(), final_path.c_str()) != 0) return fail_errno("rename", final_path.string(), errno);
    return fsync_dir(dir);
  };
  auto copied = copy();
  if (!copied) {
    ::unlink(partial.c_str());
    return std::unexpected(copied.error());
  }
  return final_path;
}

}  // namespace

CommandResult import_command(Context& ctx, control::Request& request, Responder&) {
  if (request.fds.empty()) co_return fail(Errc::invalid_argument, "import: no package file was sent");
  auto dry_run = bool_arg(request.args, "dry_run");
  auto stage = bool_arg(request.args, "stage");
  auto file = optional_string_arg(request.args, "file");
  auto policy = parse_policy(request.args);
  auto allow_gap = bool_arg(request.args.value("policy", nlohmann::json::object()), "allow_gap");
  if (!dry_run) co_return std::unexpected(dry_run.error());
  if (!stage) co_return std::unexpected(stage.error());
  if (!file) co_return std::unexpected(file.error());
  if (!policy) co_return std::unexpected(policy.error());
  if (!allow_gap) co_return std::unexpected(allow_gap.error());

  ImportJob job;
  job.id = new_guid();
  job.file = file->value_or("");
  job.origin = "ferryctl";
  job.user = user_of(request.peer);
  job.policy = *policy;
  job.step = *dry_run ? ImportStep::plan_only : *stage ? ImportStep::stage : ImportStep::deploy;
  job.gaps = *allow_gap ? Gaps::allow : Gaps::refuse;
  auto fd = std::make_shared<UniqueFd>(std::move(request.fds[0]));
  auto work = [&ctx, job, fd]() mutable -> Expected<nlohmann::json> {
    auto received = FERRY_TRY(receive_package(fd->get(), ctx.import_store, job.id));
    job.package = received;
    if (job.file.empty()) job.file = received.string();
    auto done = run_import(ctx, job);
    // A dry run keeps nothing; a staged import keeps its copy for `import deploy`.
    const bool keep = job.step == ImportStep::stage && done.record.state == records::ImportState::staged;
    if (job.step == ImportStep::plan_only || (job.step == ImportStep::stage && !keep)) {
      std::error_code ec;
      std::filesystem::remove(received, ec);
    }
    if (done.transient) return std::unexpected(*done.transient);
    auto out = import_json(done.record);
    // The plan's detail (what an update changes, the overrides applied) is in the
    // report, item for item; ferryctl prints it beside each object.
    const auto& detail = done.report.value("objects", nlohmann::json::array());
    if (detail.size() == out["objects"].size()) {
      for (size_t i = 0; i < detail.size(); ++i) {
        for (const char* key : {"changes", "overrides", "guid_before"}) {
          if (detail[i].contains(key)) out["objects"][i][key] = detail[i][key];
        }
      }
    }
    if (done.planned_only) {
      out["id"] = nullptr;
      if (done.record.state == records::ImportState::staged || !done.record.objects.empty()) out["state"] = "planned";
    }
    return out;
  };
  auto result = co_await ctx.workers.run(std::move(work));
  co_return result;
}

CommandResult import_list(Context& ctx, control::Request& request, Responder&) {
  records::ImportFilter filter;
  auto state = optional_string_arg(request.args, "state");
  if (!state) co_return std::unexpected(state.error());
  if (*state) {
    filter.state = records::parse_import_state(**state);
    if (!filter.state) co_return fail(Errc::invalid_argument, "unknown import state '" + **state + "'");
  }
  auto job = [&ctx, filter]() -> Expected<nlohmann::json> {
    auto rows = nlohmann::json::array();
    for (const auto& r : FERRY_TRY(ctx.records.imports(filter))) rows.push_back(import_json(r));
    return nlohmann::json{{"imports", std::move(rows)}};
  };
  auto result = co_await ctx.workers.run(std::move(job));
  co_return result;
}

CommandResult import_show(Context& ctx, control::Request& request, Responder&) {
  auto id = string_arg(request.args, "id");
  if (!id) co_return std::unexpected(id.error());
  auto job = [&ctx, id = *id]() -> Expected<nlohmann::json> { return import_json(FERRY_TRY(ctx.records.import(id))); };
  auto result = co_await ctx.workers.run(std::move(job));
  co_return result;
}

CommandResult import_deploy(Context& ctx, control::Request& request, Responder&) {
  auto id = string_arg(request.args, "id");
  if (!id) co_return std::unexpected(id.error());
  auto allow_gap = bool_arg(request.args, "allow_gap");
  if (!allow_gap) co_return std::unexpected(allow_gap.error());
  auto user = user_of(request.peer);
  auto work = [&ctx, id = *id, user, allow = *allow_gap]() -> Expected<nlohmann::json> {
    records::ImportRecord staged;
    {
      // A watched folder stores a staged import under this lock once it has filed the
      // package: read under it, the record names where the package is.
      std::lock_guard lock(ctx.deploy_mutex);
      staged = FERRY_TRY(ctx.records.import(id));
    }
    if (staged.state != records::ImportState::staged) {
      return fail(Errc::conflict, "import " + staged.id + " is " + std::string(records::to_string(staged.state)) +
                                      ", not staged; only a staged import can be deployed (ferryctl import FILE "
                                      "--stage, or a watch rule with mode: stage)");
    }
    if (!staged.package_file) {
      return fail(Errc::not_found, "import " + staged.id + " kept no package file; import the package again");
    }
    ImportJob job;
    job.id = staged.id;
    job.recorded = Recorded::yes;
    job.only_from = records::ImportState::staged;
    job.package = *staged.package_file;
    job.file = staged.file;
    job.origin = staged.origin;
    job.user = user;
    job.policy = FERRY_TRY(parse_policy(nlohmann::json{{"policy", staged.policy}}));
    job.gaps = allow ? Gaps::allow : Gaps::refuse;
    // The report beside a watched folder's staged package is replaced by this one.
    job.file_away = [report_file = staged.report_file](ImportDone& d) {
      if (!report_file) return;
      d.record.report_file = report_file;
      if (auto st = write_file_atomic(*report_file, d.report.dump(2) + "\n"); !st) {
        d.record.warnings.push_back("report " + *report_file + " not rewritten: " + st.error().message);
      }
    };
    // Planned again: the catalog may have changed since the import was staged.
    auto done = run_import(ctx, job);
    if (done.not_started) return std::unexpected(*done.not_started);
    if (done.transient) return std::unexpected(*done.transient);
    return import_json(done.record);
  };
  auto result = co_await ctx.workers.run(std::move(work));
  co_return result;
}

}  // namespace ferry::server
