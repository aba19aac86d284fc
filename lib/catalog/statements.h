// Private to the catalog module: prepared statements kept per connection. An import
// runs the same dozen statements for each of its objects; preparing them (parsing the
// SQL, planning the query) cost more than running them.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <memory>
#include <string>
#include <unordered_map>

namespace ferry::catalog::detail {

/// The statements prepared on one connection, kept while the cache lives. Declare it
/// after the Database it serves so that it goes first (a connection does not close
/// while statements are open). Used only under the connection's lock, like the
/// connection itself. A connection without a cache (a Snapshot's) prepares each time.
class StatementCache {
 public:
  explicit StatementCache(SQLite::Database& db);
  ~StatementCache();
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

 private:
  friend class Prepared;
  struct Entry {
    std::unique_ptr<SQLite::Statement> statement;
    bool busy = false;  ///< a Prepared further up the stack uses it
  };
  SQLite::Database& db_;
  std::unordered_map<std::string, Entry> entries_;  ///< by SQL text
};

/// One use of a statement: db's cached one when db has a StatementCache and the
/// statement is not in use further up the stack, else one prepared now. Reset (and
/// its bindings cleared) when it goes, so no read stays open.
class Prepared {
 public:
  Prepared(SQLite::Database& db, const std::string& sql);
  ~Prepared();
  Prepared(const Prepared&) = delete;
  Prepared& operator=(const Prepared&) = delete;

  SQLite::Statement& operator*() { return *q_; }
  SQLite::Statement* operator->() { return q_; }

 private:
  std::unique_ptr<SQLite::Statement> own_;
  bool* busy_ = nullptr;
  SQLite::Statement* q_ = nullptr;
};

}  // namespace ferry::catalog::detail
