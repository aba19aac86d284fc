// Private to the catalog module: checking a batch of drafts (an apply, or the upserts
// of a deploy) against each other and the catalog before anything is written, and
// writing one planned object. Runs inside the caller's write transaction, under its
// lock; may throw SQLite::Exception or nlohmann::json::exception.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "catalog/ops.h"

namespace ferry::catalog::detail {

/// Problems found while checking a batch, reported together, one per line.
class Problems {
 public:
  void add(Errc code, std::string text) { list_.push_back({code, std::move(text)}); }
  bool empty() const { return list_.empty(); }
  /// invalid_argument if any problem is bad input (the file is wrong), else conflict
  /// (the catalog's state refuses it); one line per problem, in the order found.
  Error error() const;

 private:
  struct Problem {
    Errc code;
    std::string text;
  };
  std::vector<Problem> list_;
};

/// One draft on its way into the catalog.
struct Planned {
  const ObjectDraft* draft = nullptr;
  std::string display;             ///< the address as written, for messages
  std::optional<Address> address;  ///< normalised; nullopt when name or folder is invalid
  const types::TypeDef* type = nullptr;
  std::string guid;                     ///< empty when the draft could not be identified
  std::optional<Object> stored;         ///< the catalog's current version, when updating
  std::vector<Ref> refs;                ///< resolved to GUIDs, in the order given
  std::vector<Attachment> attachments;  ///< sorted by name
};

enum class MatchBy { guid_or_address, guid_only };

/// Where apply() and deploy() differ in checking their drafts.
struct PlanRules {
  std::string_view batch = "apply";       ///< in messages: "this apply would make 3"
  std::string_view source = "this file";  ///< in messages: "not in this file and not in the catalog"
  MatchBy match = MatchBy::guid_or_address;
  /// GUID -> object the same batch deletes: its address is free, it counts no more
  /// against its type's quota, and nothing may reference it. May be null.
  const std::map<std::string, Object>* removing = nullptr;
};

/// Resolves the drafts against each other and the catalog, adding every problem found
/// to problems. The result is meaningful only when no problem was added.
std::vector<Planned> plan_drafts(const WriteContext& ctx, const std::vector<const ObjectDraft*>& drafts,
                                 const PlanRules& rules, Problems& problems);

/// The object a planned draft describes, as it would be stored (the stored owner and
/// times kept; empty for a new object).
Object candidate(const Planned& p);
/// The same with this spec instead of a copy of the draft's (a deploy moves it in).
Object candidate(const Planned& p, nlohmann::json spec);

/// created, unchanged (name, folder, spec, refs and attachments equal), or updated.
ApplyAction action_for(const Planned& p, const Object& next);

/// "A (GUID) uses it, B (GUID) contains it": the objects that reference guid, less
/// those in except (objects the same batch removes or rewrites); empty when none.
std::string referrers_besides(SQLite::Database& db, const std::string& guid,
                              const std::unordered_set<std::string>& except);

/// What a caller that planned its writes already knows about one of them.
struct WriteHints {
  int64_t revision = 0;    ///< taken from ctx.revisions already; 0: take the next one
  bool tombstoned = true;  ///< created: the GUID may have a tombstone to drop
};

/// Stamps o with its revision and the clock's time and writes it with its refs and
/// attachments (action created or updated). Creating drops the GUID's tombstone.
/// spec_text, when not empty, is o.spec.dump() made already (o.spec may then be null).
void write_object(const WriteContext& ctx, Object& o, ApplyAction action, const std::string& spec_text = {},
                  WriteHints hints = {});

}  // namespace ferry::catalog::detail
