// deploy(): the plan's attachments into the blob store, then every step in one
// Catalog::deploy transaction.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "import/import_impl.h"
#include "util/fd.h"

namespace ferry::importer {
namespace {

/// Blobs stored at once by an import (their fsync waits overlap).
constexpr size_t kAttachmentThreads = 4;

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

/// Streams attachments/<sha256> out of the package (through reader, a handle of this
/// thread's) and into the blob store.
Status store_attachment(const package::VerifiedPackage& pkg, const package::ObjectReader& reader,
                        catalog::Catalog& catalog, const std::string& sha256, const std::string& name) {
  auto dir = catalog.blob_path(sha256).parent_path().parent_path();
  UniqueFd fd = FERRY_TRY(temp_file(dir));
  FERRY_TRY(reader.copy_attachment(sha256, fd.get()));
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return fail_errno("seek", dir.string(), errno);
  auto stored = FERRY_TRY(catalog.store_blob(fd.get(), name));
  if (stored.sha256 != sha256) {
    return fail(Errc::corrupt, "package " + pkg.path().string() + ": attachment " + name + " has sha256 " +
                                   stored.sha256 + ", not " + sha256);
  }
  return {};
}

/// Every attachment of a created or updated object that the blob store lacks, stored
/// while the caller goes on (it makes the drafts meanwhile). Each blob waits for its
/// fsyncs: a few are stored at once, on threads and package handles of their own, so
/// that the waits overlap. wait() returns the first failure in plan order; blobs
/// stored meanwhile stay (content-addressed, they harm nothing).
class AttachmentStore {
 public:
  AttachmentStore(const package::VerifiedPackage& pkg, const Plan& plan, catalog::Catalog& catalog,
                  const detail::EntriesByGuid& entries)
      : pkg_(pkg), catalog_(catalog) {
    std::set<std::string> seen;
    for (const auto& item : plan.items) {
      if (item.kind != ItemKind::object || (item.action != Action::create && item.action != Action::update)) continue;
      for (const auto& a : entries.at(item.source_guid)->attachments) {
        if (seen.insert(a.sha256).second && !detail::blob_present(catalog, a.sha256)) todo_.push_back(&a);
      }
    }
    results_.resize(todo_.size());
    for (size_t t = 0; t < std::min(kAttachmentThreads, todo_.size()); ++t) threads_.emplace_back([this] { work(); });
  }
  AttachmentStore(const AttachmentStore&) = delete;
  AttachmentStore& operator=(const AttachmentStore&) = delete;
  ~AttachmentStore() { failed_ = true; }  // then threads_ join: no more are started

  Status wait() {
    threads_.clear();  // joins
    for (auto& r : results_) FERRY_TRY(std::move(r));
    results_.clear();
    return {};
  }

 private:
  void work() {
    std::optional<package::ObjectReader> reader;
    for (size_t i = next_++; i < todo_.size() && !failed_; i = next_++) {
      if (!reader) {
        auto opened = pkg_.object_reader();
        if (!opened) {
          results_[i] = std::unexpected(opened.error());
          failed_ = true;
          continue;
        }
        reader.emplace(std::move(*opened));
      }
      results_[i] = store_attachment(pkg_, *reader, catalog_, todo_[i]->sha256, todo_[i]->name);
      if (!results_[i]) failed_ = true;  // no more are started
    }
  }

  const package::VerifiedPackage& pkg_;
  catalog::Catalog& catalog_;
  std::vector<const package::AttachmentRef*> todo_;
  std::vector<Status> results_;  ///< by todo_ entry
  std::atomic<size_t> next_{0};
  std::atomic<bool> failed_{false};
  std::vector<std::jthread> threads_;  ///< last: joined before what they use goes
};

Expected<catalog::ObjectDraft> draft_of(const package::VerifiedPackage& pkg, const package::ObjectEntry& e,
                                        const PlanItem& item, const std::unordered_map<std::string, std::string>& guids,
                                        detail::SpecReader& specs) {
  catalog::ObjectDraft d;
  d.guid = item.guid;
  d.type = e.type;
  d.name = item.name;
  d.folder = item.folder;
  if (item.spec_text) {
    d.spec_text = item.spec_text;  // shared, not copied
    d.spec = nullptr;              // the catalog parses the text if it must compare
  } else {
    auto spec = FERRY_TRY(specs.next());  // secrets and overrides set (apply_values)
    d.spec = std::move(spec.tree);
    if (!spec.text.empty()) d.spec_text = std::make_shared<const std::string>(std::move(spec.text));
  }
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

/// The catalog steps of every item to deploy, in plan order; items left_out (by item,
/// when given) are not deployed.
Expected<Steps> steps_of(const package::VerifiedPackage& pkg, const Plan& plan, const detail::EntriesByGuid& entries,
                         const std::vector<bool>* left_out = nullptr) {
  std::unordered_map<std::string, std::string> guids;  // source GUID -> GUID here
  for (const auto& i : plan.items)
    if (i.kind == ItemKind::object) guids.emplace(i.source_guid, i.guid);
  auto deployed = [&](size_t n) { return !(left_out && (*left_out)[n]); };
  std::vector<detail::SpecReader::Job> read;  // what draft_of() reads, in its order
  for (size_t n = 0; n < plan.items.size(); ++n) {
    const PlanItem& i = plan.items[n];
    // A new object needs only its text (plan() may have made it); one here is compared
    // with it (unchanged or not).
    if (deployed(n) && upserted(i) && !i.spec_text)
      read.push_back({entries.at(i.source_guid), &i, i.action != Action::create});
  }
  detail::SpecReader specs(pkg, std::move(read));
  Steps out;
  for (size_t n = 0; n < plan.items.size(); ++n) {
    const PlanItem& i = plan.items[n];
    if (!deployed(n)) continue;
    if (i.action == Action::remove) {
      out.steps.push_back(catalog::DeployStep::remove(i.guid));
    } else if (upserted(i)) {
      out.steps.push_back(
          catalog::DeployStep::upsert(FERRY_TRY(draft_of(pkg, *entries.at(i.source_guid), i, guids, specs))));
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

/// The catalog's items into the results of the items the steps apply; whether every
/// deployed object was unchanged.
bool record_items(DeployResult& result, const Steps& steps, const std::vector<catalog::DeployItem>& items) {
  bool all_unchanged = true;
  for (size_t s = 0; s < items.size(); ++s) {
    ObjectResult& o = result.objects[steps.item[s]];
    o.result = outcome_of(items[s].action);
    o.revision = items[s].revision;
    all_unchanged = all_unchanged && o.result == Outcome::unchanged;
  }
  return all_unchanged;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string_view needs_word(package::RefKind kind) {
  return kind == package::RefKind::uses ? "depends on" : "contains";
}

/// A non-atomic deploy: which items fail, which are skipped for them, and the rest,
/// deployed in one Catalog::deploy (again without what the catalog refuses).
class PartialDeploy {
 public:
  PartialDeploy(const package::VerifiedPackage& pkg, const Plan& plan, catalog::Catalog& catalog,
                const detail::EntriesByGuid& entries, DeployResult& result)
      : pkg_(pkg), plan_(plan), catalog_(catalog), entries_(entries), result_(result), out_(plan.items.size()) {}

  Status run(const catalog::DeployOptions& options);

 private:
  void link();
  bool blocked(size_t i) const;
  void fail(size_t i, const std::string& reason);
  void skip_users(size_t root);
  bool refused(const Error& e, const Steps& steps);
  std::string describe(size_t i) const { return detail::describe(plan_.items[i].address, plan_.items[i].guid); }

  const package::VerifiedPackage& pkg_;
  const Plan& plan_;
  catalog::Catalog& catalog_;
  const detail::EntriesByGuid& entries_;
  DeployResult& result_;
  std::vector<bool> out_;  ///< by item: failed, or skipped for a failure: not deployed
  std::vector<size_t> failed_;
  std::vector<std::vector<std::pair<size_t, package::RefKind>>> needs_;  ///< by item: package items it refs
  std::vector<std::vector<std::pair<size_t, package::RefKind>>> users_;  ///< by item: items that ref it
};

void PartialDeploy::link() {
  std::map<std::string, size_t> by_source;
  for (size_t i = 0; i < plan_.items.size(); ++i)
    if (plan_.items[i].kind == ItemKind::object) by_source.emplace(plan_.items[i].source_guid, i);
  needs_.resize(plan_.items.size());
  users_.resize(plan_.items.size());
  for (size_t i = 0; i < plan_.items.size(); ++i) {
    if (plan_.items[i].kind != ItemKind::object) continue;
    for (const auto& r : entries_.at(plan_.items[i].source_guid)->refs) {
      auto to = by_source.find(r.guid);
      if (to == by_source.end()) continue;
      needs_[i].emplace_back(to->second, r.kind);
      users_[to->second].emplace_back(i, r.kind);
    }
  }
}

bool failing(const PlanItem& i) { return i.action == Action::error || i.action == Action::conflict; }

/// The plan made item i an error only because something it needs cannot be deployed
/// (its one reason is the planner's "depends on X (GUID), which cannot be deployed"):
/// it is skipped for that failure, not failed itself.
bool PartialDeploy::blocked(size_t i) const {
  for (const auto& [dep, kind] : needs_[i]) {
    if (!failing(plan_.items[dep])) continue;
    if (plan_.items[i].reason == std::string(needs_word(kind)) + " " + describe(dep) + ", which cannot be deployed") {
      return true;
    }
  }
  return false;
}

void PartialDeploy::fail(size_t i, const std::string& reason) {
  out_[i] = true;
  failed_.push_back(i);
  result_.objects[i].result = Outcome::failed;
  result_.objects[i].reason = reason;
  skip_users(i);
}

/// Everything that needs root, transitively, is skipped naming root.
void PartialDeploy::skip_users(size_t root) {
  std::vector<size_t> todo{root};
  while (!todo.empty()) {
    size_t at = todo.back();
    todo.pop_back();
    for (const auto& [user, kind] : users_[at]) {
      if (out_[user] || plan_.items[user].action == Action::skip) continue;
      out_[user] = true;
      auto& o = result_.objects[user];
      o.result = Outcome::skipped;
      o.reason = std::string(needs_word(kind)) + " " + describe(at) +
                 (at == root ? ", which failed" : ", which is skipped because " + describe(root) + " failed");
      todo.push_back(user);
    }
  }
}

/// Fails each object the catalog's refusal names first on a line; false when a line
/// names none of the objects deployed (then nothing can be told apart).
bool PartialDeploy::refused(const Error& e, const Steps& steps) {
  std::map<size_t, std::string> lines;  // item -> its lines
  for (auto line : lines_of(e.message)) {
    std::optional<size_t> subject;
    size_t first = std::string_view::npos;
    for (size_t n : steps.item) {
      const PlanItem& i = plan_.items[n];
      for (size_t pos : {line.find(i.guid), line.find(i.address + ": ")}) {
        if (pos < first) {
          first = pos;
          subject = n;
        }
      }
    }
    if (!subject) return false;
    auto& text = lines[*subject];
    text += (text.empty() ? "" : "; ") + std::string(line);
  }
  for (const auto& [n, text] : lines) fail(n, "refused by the catalog: " + text);
  return !lines.empty();
}

Status PartialDeploy::run(const catalog::DeployOptions& options) {
  link();
  for (size_t i = 0; i < plan_.items.size(); ++i)
    if (failing(plan_.items[i]) && !blocked(i)) fail(i, plan_.items[i].reason);
  for (size_t i = 0; i < plan_.items.size(); ++i)  // never deploy an error the above did not reach
    if (failing(plan_.items[i]) && !out_[i]) fail(i, plan_.items[i].reason);
  for (;;) {
    auto steps = FERRY_TRY(steps_of(pkg_, plan_, entries_, &out_));
    if (steps.steps.empty()) {  // nothing left to deploy: failed, unless nothing failed either
      result_.state = failed_.empty() ? ImportState::unchanged : ImportState::failed;
      break;
    }
    auto items = catalog_.deploy(std::move(steps.steps), options);
    if (items) {
      bool all_unchanged = record_items(result_, steps, *items);
      result_.state = !failed_.empty() ? ImportState::partially_deployed
                      : all_unchanged  ? ImportState::unchanged
                                       : ImportState::deployed;
      result_.revision = FERRY_TRY(catalog_.revision());
      break;
    }
    if (retryable(items.error().code)) return std::unexpected(items.error());
    if (!refused(items.error(), steps)) {
      for (size_t n : steps.item) fail(n, "refused by the catalog: " + items.error().message);
      break;
    }
  }
  for (size_t n : failed_) {
    result_.error += (result_.error.empty() ? "" : "\n") + describe(n) + ": " + result_.objects[n].reason;
  }
  return {};
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
  if (plan.refused || (!plan.ok() && plan.policy.atomic)) return refused(plan, std::move(result));

  const auto entries = detail::objects_by_guid(pkg.manifest());
  auto failure = [&](const Error& e) -> Expected<DeployResult> {
    if (retryable(e.code)) return std::unexpected(e);
    return failed(std::move(result), e.message, "not deployed: the package could not be read");
  };
  AttachmentStore attachments(pkg, plan, catalog, entries);
  const catalog::DeployOptions options{std::string(import_id), std::string(owner)};
  if (!plan.policy.atomic) {
    if (auto st = attachments.wait(); !st) return failure(st.error());
    if (auto st = PartialDeploy(pkg, plan, catalog, entries, result).run(options); !st) return failure(st.error());
    return result;
  }
  auto steps = steps_of(pkg, plan, entries);  // while the attachments are stored
  if (auto st = attachments.wait(); !st) return failure(st.error());
  if (!steps) return failure(steps.error());
  auto items = catalog.deploy(std::move(steps->steps), options);
  if (!items && retryable(items.error().code)) return std::unexpected(items.error());
  if (!items) return refused_by_catalog(std::move(result), items.error());

  result.state = record_items(result, *steps, *items) ? ImportState::unchanged : ImportState::deployed;
  result.revision = FERRY_TRY(catalog.revision());
  return result;
}

}  // namespace ferry::importer
