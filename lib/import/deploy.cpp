// deploy(): the plan's attachments into the blob store, then every step in one
// Catalog::deploy transaction.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "import/import_impl.h"
#include "util/fd.h"

namespace ferry::importer {
namespace {

/// Failures worth retrying later; everything else fails the import for good.
bool retryable(Errc code) { return code == Errc::io || code == Errc::unavailable || code == Errc::cancelled; }

bool upserted(const PlanItem& i) {
  return i.kind == ItemKind::object &&
         (i.action == Action::create || i.action == Action::update || i.action == Action::unchanged);
}

ObjectResult result_of(const PlanItem& i) {
  ObjectResult r;
  r.kind = i.kind;
  r.type = i.type;
  r.address = i.address;
  r.source_guid = i.source_guid;
  r.guid = i.guid;
  r.guid_before = i.guid_before;
  r.action = i.action;
  r.result = i.action == Action::skip ? Outcome::skipped : Outcome::failed;
  r.reason = i.reason;
  return r;
}

/// Nothing was deployed: every object that did not fail itself says why.
DeployResult failed(DeployResult result, std::string error, const std::string& others) {
  result.state = ImportState::failed;
  result.error = std::move(error);
  for (auto& o : result.objects) {
    if (o.result == Outcome::skipped || o.action == Action::error || o.action == Action::conflict) continue;
    o.reason = others;
  }
  return result;
}

DeployResult refused(const Plan& plan, DeployResult result) {
  std::string error = plan.refused ? "refused: " + *plan.refused : std::string();
  for (const auto& p : plan.problems()) error += (error.empty() ? "" : "\n") + p;
  return failed(std::move(result), std::move(error),
                "not deployed: the import is atomic and other objects cannot be deployed");
}

/// The catalog's lines about each object become its reason.
DeployResult refused_by_catalog(DeployResult result, const Error& e) {
  result = failed(std::move(result), e.message, "not deployed: the import is atomic and the catalog refused it");
  for (auto& o : result.objects) {
    std::string mine;
    size_t start = 0;
    while (start <= e.message.size()) {
      size_t end = e.message.find('\n', start);
      if (end == std::string::npos) end = e.message.size();
      std::string_view line(e.message.data() + start, end - start);
      if (line.find(o.guid) != std::string_view::npos || line.find(o.address + ": ") != std::string_view::npos) {
        mine += (mine.empty() ? "" : "; ") + std::string(line);
      }
      start = end + 1;
    }
    if (!mine.empty()) o.reason = "refused by the catalog: " + mine;
  }
  return result;
}

/// An unnamed temporary file in the blob store's folder (same file system as the
/// blobs); where O_TMPFILE is not supported, a ferry temporary name unlinked at once
/// (a crash in between leaves a file Catalog::open removes).
Expected<UniqueFd> temp_file(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  std::string name = (dir / temp_name_template("import")).string();
  fd = UniqueFd(::mkostemps(name.data(), kTempNameSuffixLength, O_CLOEXEC));
  if (!fd) return fail_errno("create a temporary file", name, errno);
  ::unlink(name.c_str());
  return fd;
}

/// Streams attachments/<sha256> out of the package and into the blob store.
Status store_attachment(const package::VerifiedPackage& pkg, catalog::Catalog& catalog, const std::string& sha256,
                        const std::string& name) {
  auto dir = catalog.blob_path(sha256).parent_path().parent_path();
  UniqueFd fd = FERRY_TRY(temp_file(dir));
  FERRY_TRY(pkg.copy_attachment(sha256, fd.get()));
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return fail_errno("seek", dir.string(), errno);
  auto stored = FERRY_TRY(catalog.store_blob(fd.get(), name));
  if (stored.sha256 != sha256) {
    return fail(Errc::corrupt, "package " + pkg.path().string() + ": attachment " + name + " has sha256 " +
                                   stored.sha256 + ", not " + sha256);
  }
  return {};
}

/// Every attachment of a created or updated object that the blob store lacks.
Status store_attachments(const package::VerifiedPackage& pkg, const Plan& plan, catalog::Catalog& catalog,
                         const std::map<std::string, const package::ObjectEntry*>& entries) {
  std::set<std::string> done;
  for (const auto& item : plan.items) {
    if (item.kind != ItemKind::object || (item.action != Action::create && item.action != Action::update)) continue;
    for (const auto& a : entries.at(item.source_guid)->attachments) {
      if (!done.insert(a.sha256).second || detail::blob_present(catalog, a.sha256)) continue;
      FERRY_TRY(store_attachment(pkg, catalog, a.sha256, a.name));
    }
  }
  return {};
}

Expected<catalog::ObjectDraft> draft_of(const package::VerifiedPackage& pkg, const package::ObjectEntry& e,
                                        const PlanItem& item, const std::map<std::string, std::string>& guids) {
  catalog::ObjectDraft d;
  d.guid = item.guid;
  d.type = e.type;
  d.name = item.name;
  d.folder = item.folder;
  d.spec = FERRY_TRY(detail::package_spec(pkg, e));
  FERRY_TRY(detail::apply_values(d.spec, item));
  for (const auto& r : e.refs) {
    auto mapped = guids.find(r.guid);
    d.refs.push_back({mapped == guids.end() ? r.guid : mapped->second, detail::ref_kind(r.kind), ""});
  }
  d.attachments = detail::attachments_of(e);
  d.where = "package " + pkg.path().filename().string();
  return d;
}

struct Steps {
  std::vector<catalog::DeployStep> steps;
  std::vector<size_t> item;  ///< by step: the plan item it applies
};

Expected<Steps> steps_of(const package::VerifiedPackage& pkg, const Plan& plan,
                         const std::map<std::string, const package::ObjectEntry*>& entries) {
  std::map<std::string, std::string> guids;  // source GUID -> GUID here
  for (const auto& i : plan.items)
    if (i.kind == ItemKind::object) guids.emplace(i.source_guid, i.guid);
  Steps out;
  for (size_t n = 0; n < plan.items.size(); ++n) {
    const PlanItem& i = plan.items[n];
    if (i.action == Action::remove) {
      out.steps.push_back(catalog::DeployStep::remove(i.guid));
    } else if (upserted(i)) {
      out.steps.push_back(catalog::DeployStep::upsert(FERRY_TRY(draft_of(pkg, *entries.at(i.source_guid), i, guids))));
    } else {
      continue;
    }
    out.item.push_back(n);
  }
  return out;
}

Outcome outcome_of(catalog::DeployAction action) {
  return action == catalog::DeployAction::unchanged ? Outcome::unchanged : Outcome::deployed;
}

}  // namespace

Expected<DeployResult> deploy(const package::VerifiedPackage& pkg, const Plan& plan, catalog::Catalog& catalog,
                              std::string_view import_id, std::string_view owner) {
  if (plan.package_id != pkg.manifest().package_id) {
    return fail(Errc::invalid_argument, "the plan of package " + plan.package_id + " cannot deploy package " +
                                            pkg.manifest().package_id + " (" + pkg.path().string() + ")");
  }
  if (import_id.empty()) return fail(Errc::invalid_argument, "a deploy needs an import id");
  DeployResult result;
  for (const auto& i : plan.items) result.objects.push_back(result_of(i));
  if (!plan.ok()) return refused(plan, std::move(result));

  const auto entries = detail::objects_by_guid(pkg.manifest());
  auto failure = [&](const Error& e) -> Expected<DeployResult> {
    if (retryable(e.code)) return std::unexpected(e);
    return failed(std::move(result), e.message, "not deployed: the package could not be read");
  };
  if (auto st = store_attachments(pkg, plan, catalog, entries); !st) return failure(st.error());
  auto steps = steps_of(pkg, plan, entries);
  if (!steps) return failure(steps.error());
  auto items = catalog.deploy(steps->steps, {std::string(import_id), std::string(owner)});
  if (!items && retryable(items.error().code)) return std::unexpected(items.error());
  if (!items) return refused_by_catalog(std::move(result), items.error());

  bool all_unchanged = true;
  for (size_t s = 0; s < items->size(); ++s) {
    ObjectResult& o = result.objects[steps->item[s]];
    o.result = outcome_of((*items)[s].action);
    o.revision = (*items)[s].revision;
    all_unchanged = all_unchanged && o.result == Outcome::unchanged;
  }
  result.state = all_unchanged ? ImportState::unchanged : ImportState::deployed;
  result.revision = FERRY_TRY(catalog.revision());
  return result;
}

}  // namespace ferry::importer
