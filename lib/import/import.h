// The importer: what a verified package would change in this environment (plan),
// applying that plan to the catalog in one transaction (deploy), and the report
// written beside the package (report_json). PRODUCT.md section 5; operator guide in
// docs/import.md.
//
//   load_secrets()  reads the destination's secrets file (PRODUCT.md 11a).
//   plan()          reads the package and the catalog, changes nothing.
//   deploy()        stores the attachments the plan needs in the blob store and calls
//                   Catalog::deploy once: everything or nothing.
//   report_json()   pure.
//
// Threads: plan(), deploy() and load_secrets() block on SQLite, zip reading and the
// disk: worker pool only, never the event loop. A VerifiedPackage is used by one
// thread at a time, so one import runs on one worker at a time; plan() and deploy()
// also read and parse object specs on a few threads of their own (up to the cores,
// at most 4), each through its own package::ObjectReader, and join them before
// they return. Plans, results and
// Secrets are plain values: any thread may read them once handed over.
//
// Namespace `importer` because `import` is a C++ keyword (the module is `import`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "address/address.h"
#include "catalog/catalog.h"
#include "config/config.h"
#include "package/package.h"
#include "types/types.h"
#include "util/clock.h"
#include "util/error.h"

namespace ferry::importer {

// ---------------------------------------------------------------------------------
// Destination values: the secrets file and the overrides file (the same shape; an
// override may also name a whole type)

/// What a value entry is matched by.
enum class TargetKind { address, guid, type };
std::string_view to_string(TargetKind kind);

/// One `{address|guid|type, pointer, value}` entry of a secrets or overrides file.
struct PointerValue {
  TargetKind target = TargetKind::address;
  std::string key;       ///< canonical address, lower-case GUID or type name
  std::string pointer;   ///< JSON pointer into spec, e.g. "/password"; never empty
  nlohmann::json value;  ///< a secret: never print or log it
  std::string where;     ///< "file:line:col" of the entry, for messages
};

/// The destination's secrets file: `secrets: [{address|guid, pointer, value}]`.
/// Immutable once loaded.
class Secrets {
 public:
  Secrets() = default;
  explicit Secrets(std::vector<PointerValue> entries) : entries_(std::move(entries)) {}

  /// The entry for this pointer of the object with this GUID or address; an entry
  /// by GUID wins over one by address. nullptr when the file has none.
  const PointerValue* find(std::string_view guid, std::string_view address, std::string_view pointer) const;
  const std::vector<PointerValue>& entries() const { return entries_; }

 private:
  std::vector<PointerValue> entries_;
};

/// Parses secrets-file text. Every error is reported, one per line, as
/// "file:line:col: key.path: message" (invalid_argument): unknown keys, an entry
/// with none or several of address/guid, a bad address, GUID or JSON pointer, a
/// missing value, the same object and pointer twice. Empty text means no secrets.
Expected<Secrets> parse_secrets(const std::string& file_name, std::string_view text);

/// Reads and parses the file; an absent file means no secrets (PRODUCT.md 11a), any
/// other failure to read it is an io error naming it.
Expected<Secrets> load_secrets(const std::filesystem::path& path);

/// The destination's overrides file: `overrides: [{address|guid|type, pointer, value}]`,
/// environment-specific values that are not secret (hosts, buckets, queues), applied
/// on every import. Immutable once loaded.
class Overrides {
 public:
  Overrides() = default;
  explicit Overrides(std::vector<PointerValue> entries) : entries_(std::move(entries)) {}

  /// Every entry that applies to the object with this GUID, address and type, one
  /// per pointer: an entry by GUID wins over one by address, which wins over one by
  /// type. In file order of the winning entries.
  std::vector<const PointerValue*> find(std::string_view guid, std::string_view address, std::string_view type) const;
  const std::vector<PointerValue>& entries() const { return entries_; }

 private:
  std::vector<PointerValue> entries_;
};

/// Parses overrides-file text; errors as parse_secrets() reports them, and an entry
/// may name a `type` instead of an address or GUID.
Expected<Overrides> parse_overrides(const std::string& file_name, std::string_view text);

/// Reads and parses the file; an absent file means no overrides (PRODUCT.md 11a).
Expected<Overrides> load_overrides(const std::filesystem::path& path);

// ---------------------------------------------------------------------------------
// Policy

enum class RequireSecrets { no, yes };

/// The import policies of a watch rule or of `ferryctl import` (defaults: PRODUCT.md 11a).
struct Policy {
  /// keep: objects keep their GUIDs. new (fresh): every object gets a fresh GUID and
  /// every reference inside the package is rewritten; references to objects outside
  /// the package keep theirs; the package's deletions do not apply (they name the
  /// source's GUIDs, which no copy has).
  config::IdPolicy id_policy = config::IdPolicy::keep;
  /// Another GUID holds the destination address (or, for unique_name: type, the name):
  /// fail: `conflict`. skip: the object is not deployed and the package's references
  /// to it point at the holder. overwrite: the holder is replaced as a whole (spec,
  /// refs, attachments; its GUID and secrets stay) by the package's object, and the
  /// package's references to it point at the holder.
  config::NameConflict on_name_conflict = config::NameConflict::fail;
  /// fail: a package GUID deleted here is an `error`; recreate: it is created again.
  config::DeletedInTarget on_deleted_in_target = config::DeletedInTarget::fail;
  /// yes: a secret missing after kept and file values is an `error`, not a warning.
  RequireSecrets require_secrets = RequireSecrets::no;
  /// A normalised folder ("/copy2"): every imported folder is re-rooted under it
  /// (/finance becomes /copy2/finance, / becomes /copy2). Deletions are matched by GUID.
  std::optional<std::string> into;
  /// Objects to deploy (`--only`) or leave out (`--skip`), each by address (the
  /// package's or the destination's) or GUID (the package's). Empty only: everything.
  /// An object not deployed this way is `skip`; an object that needs it fails unless
  /// the destination already holds it.
  std::vector<std::string> only;
  std::vector<std::string> skip;
  /// true: everything deploys in one transaction or nothing does. false (`--partial`,
  /// watch rule `atomic: false`): each object that fails is reported, each object
  /// that depends on it (through the package's refs, transitively) is skipped, and the
  /// rest deploys in one transaction (`partially_deployed`).
  bool atomic = true;

  static Policy from(const config::WatchRule& rule);
};

/// The policy as reports show it and the control protocol sends it: id_policy,
/// on_name_conflict, on_deleted_in_target (words of config's tables),
/// require_secrets, atomic, into (null when absent), only and skip (when not empty).
nlohmann::json policy_json(const Policy& policy);

// ---------------------------------------------------------------------------------
// Plan

/// What an import does to one object. `remove` is spelled "delete".
enum class Action { create, update, unchanged, remove, skip, conflict, error };
std::string_view to_string(Action action);

/// Where an object's secret value comes from on this import.
enum class SecretSource {
  package,  ///< the package carries a value there (not secret in the source environment)
  kept,     ///< the existing destination object's value
  file,     ///< the destination's secrets file
  missing,  ///< nowhere: the object deploys without it (warning) or fails (require_secrets)
};
std::string_view to_string(SecretSource source);

struct SecretStatus {
  std::string pointer;
  SecretSource source = SecretSource::missing;
  friend bool operator==(const SecretStatus&, const SecretStatus&) = default;
};

/// A secret value deploy() writes into the object's spec. A secret: never print it.
struct SecretFill {
  std::string pointer;
  nlohmann::json value;
};

/// An overrides-file value deploy() writes into the object's spec (after the
/// secrets). Not a secret: plans, reports and ferryctl show it.
struct OverrideValue {
  std::string pointer;
  nlohmann::json value;
  TargetKind matched_by = TargetKind::address;  ///< which entry won: by guid, address or type
  std::string where;                            ///< the entry's "file:line:col"
  friend bool operator==(const OverrideValue&, const OverrideValue&) = default;
};

/// What an `update` changes in the object stored here (after GUID mapping, --into,
/// overrides and kept secrets). Secret values never appear, only field names.
struct Changes {
  std::optional<std::string> moved_from;  ///< the address here before, when name or folder change
  std::vector<std::string> spec;          ///< top-level spec fields added, removed or changed: "/host"
  std::vector<std::string> refs;          ///< "+uses ADDRESS (GUID)", "-contains ADDRESS (GUID)"
  std::vector<std::string> attachments;   ///< "+name" added, "-name" removed, "~name" new content
  bool empty() const { return !moved_from && spec.empty() && refs.empty() && attachments.empty(); }
  friend bool operator==(const Changes&, const Changes&) = default;
};

enum class ItemKind { object, deletion };

struct PlanItem {
  ItemKind kind = ItemKind::object;
  std::string type;
  std::string address;  ///< the destination address; a deletion: the address here (the package's when absent)
  std::string folder;   ///< of the destination address (after --into)
  std::string name;
  std::string source_guid;                 ///< the GUID in the package
  std::string guid;                        ///< the GUID it has here after the import
  std::optional<std::string> guid_before;  ///< the GUID that held it here before the import, if any
  Action action = Action::error;
  std::string reason;                    ///< why: for error, conflict and skip always; "; "-joined
  std::vector<std::string> warnings;     ///< e.g. "secret /password not set: add it to the secrets file"
  std::vector<SecretStatus> secrets;     ///< every secret pointer considered, in manifest order
  std::vector<SecretFill> fills;         ///< values deploy() sets (kept and from the file)
  std::vector<OverrideValue> overrides;  ///< overrides-file values deploy() sets, after fills
  Changes changes;                       ///< update: what differs from the object here
  /// create: the spec as deploy() writes it, made by plan() on its reading threads
  /// when nothing is set in it (no secret pointer, no override), so that deploy()
  /// need not read the package again; null otherwise (deploy() reads it). Not shown.
  std::shared_ptr<const std::string> spec_text;
};

struct Plan {
  std::string package_id;
  Policy policy;
  /// Deletions the package's `order` does not name (in `deleted` order), then the
  /// package's `order`. deploy() applies them in this order.
  std::vector<PlanItem> items;
  /// Set when the whole import must be refused before any change (a type unknown or
  /// not importable here, a quota the import would exceed); the objects concerned are
  /// `error` items too.
  std::optional<std::string> refused;
  /// Every item's warnings as "ADDRESS (GUID): warning", in item order.
  std::vector<std::string> warnings;

  /// No refusal and no item in conflict or error: deploy() may apply it.
  bool ok() const;
  size_t count(Action action) const;
  /// One line per error or conflict item: "ADDRESS (GUID): reason".
  std::vector<std::string> problems() const;
};

/// Plans the import of pkg into this environment (rules in docs/import.md). Changes
/// nothing. Per-object problems are plan items (`error`, `conflict`), not errors;
/// the Expected fails only for a bad policy (an `into` that is not a folder, an
/// --only/--skip entry that names nothing in the package: invalid_argument) or when
/// the catalog or the package cannot be read (their codes).
Expected<Plan> plan(const package::VerifiedPackage& pkg, const catalog::Catalog& catalog,
                    const types::TypeRegistry& types, const Secrets& secrets, const Policy& policy,
                    const Overrides& overrides = Overrides());

// ---------------------------------------------------------------------------------
// Deploy

enum class Outcome { deployed, unchanged, skipped, failed };
std::string_view to_string(Outcome outcome);

/// An import's state as reports show it (the subset of PRODUCT.md's import states
/// that a finished import can have). partially_deployed: a non-atomic import of
/// which some objects failed or were skipped for a failed one, and the rest deployed.
enum class ImportState { deployed, unchanged, partially_deployed, staged, failed, rejected };
std::string_view to_string(ImportState state);

struct ObjectResult {
  ItemKind kind = ItemKind::object;
  std::string type;
  std::string address;
  std::string source_guid;
  std::string guid;
  std::optional<std::string> guid_before;
  Action action = Action::error;  ///< the plan's
  Outcome result = Outcome::failed;
  std::string reason;
  int64_t revision = 0;  ///< the object's revision after the deploy (a deletion: its tombstone's); 0 if none
};

struct DeployResult {
  /// deployed, unchanged (every object unchanged or skipped), partially_deployed (not
  /// atomic: some objects failed) or failed
  ImportState state = ImportState::failed;
  std::string error;                  ///< why it failed, one problem per line; empty otherwise
  std::vector<ObjectResult> objects;  ///< in plan order
  int64_t revision = 0;               ///< the catalog revision after a successful deploy
};

/// Applies plan (made by plan() for this same package) to catalog, atomically:
/// copies the attachments the plan needs that the blob store lacks, then calls
/// Catalog::deploy once with every step (deletions and upserts by GUID, in plan
/// order), keeping prior versions under import_id; objects it creates get owner.
///
/// A plan that is not ok(), a package attachment that fails its hash, and a catalog
/// refusal (the catalog checks everything again inside its transaction) all give a
/// DeployResult in state `failed` that changed nothing in the catalog, with each
/// object's reason.
///
/// Not atomic (plan.policy.atomic false): the plan's error and conflict items fail,
/// every object that depends on one of them (uses or contains it, transitively,
/// through the package's refs) is skipped naming it, and the rest deploys in one
/// Catalog::deploy; objects the catalog refuses fail too (their dependents are
/// skipped) and the rest is deployed again without them. The state is
/// partially_deployed when something failed and something deployed, failed when
/// nothing could. A plan refusal (a type, a quota) still refuses the whole import. The Expected fails only for a
/// caller's mistake (a plan of another package, an empty import_id: invalid_argument) and for failures worth retrying
/// (io, unavailable, cancelled, internal), which leave the catalog unchanged too;
/// attachments already copied stay in the blob store (content-addressed, harmless).
Expected<DeployResult> deploy(const package::VerifiedPackage& pkg, const Plan& plan, catalog::Catalog& catalog,
                              std::string_view import_id, std::string_view owner);

// ---------------------------------------------------------------------------------
// Report

/// What report_json() describes. Pointers may be null; they must outlive the call.
struct Report {
  std::string import_id;
  std::filesystem::path file;                   ///< the package file as received
  const package::Manifest* manifest = nullptr;  ///< null when the package did not verify
  const Plan* plan = nullptr;                   ///< null when planning did not happen or failed
  const DeployResult* result = nullptr;         ///< null when not deployed (staged, or failed before)
  std::optional<Error> error;                   ///< why it was rejected or failed before deploying
  TimePoint started_at;
  TimePoint finished_at;
};

/// result's state if deployed; else staged (plan ok) or failed (plan not ok, or an
/// error after verification); rejected when there is no manifest (not verified).
ImportState state_of(const Report& report);

/// The report document written beside the package (docs/import.md). Never contains a
/// secret value: secrets appear only as pointer and source.
nlohmann::json report_json(const Report& report);

}  // namespace ferry::importer
