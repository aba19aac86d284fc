#include "catalog/statements.h"

#include <mutex>

namespace ferry::catalog::detail {
namespace {

// Which connections have a cache. Rows functions get a Database&, not a cache, and
// most connections (snapshots, tests' own) have none.
std::mutex registry_mutex;
std::unordered_map<sqlite3*, StatementCache*>& registry() {
  static std::unordered_map<sqlite3*, StatementCache*> caches;
  return caches;
}

StatementCache* cache_of(SQLite::Database& db) {
  std::lock_guard lock(registry_mutex);
  auto it = registry().find(db.getHandle());
  return it == registry().end() ? nullptr : it->second;
}

}  // namespace

StatementCache::StatementCache(SQLite::Database& db) : db_(db) {
  std::lock_guard lock(registry_mutex);
  registry()[db.getHandle()] = this;
}

StatementCache::~StatementCache() {
  std::lock_guard lock(registry_mutex);
  registry().erase(db_.getHandle());
}

Prepared::Prepared(SQLite::Database& db, const std::string& sql) {
  if (StatementCache* cache = cache_of(db)) {
    auto& entry = cache->entries_[sql];
    if (!entry.statement) entry.statement = std::make_unique<SQLite::Statement>(db, sql);
    if (!entry.busy) {
      entry.busy = true;
      busy_ = &entry.busy;
      q_ = entry.statement.get();
      return;
    }
  }
  own_ = std::make_unique<SQLite::Statement>(db, sql);
  q_ = own_.get();
}

Prepared::~Prepared() {
  if (!busy_) return;
  q_->tryReset();
  try {
    q_->clearBindings();
  } catch (const SQLite::Exception&) {
    // bindings are replaced before every use anyway
  }
  *busy_ = false;
}

}  // namespace ferry::catalog::detail
