#include "sqlitedb/sqlitedb.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace ferry::sqlitedb {
namespace {

constexpr Migration kV1[] = {{1, "CREATE TABLE a (x INTEGER NOT NULL);"}};
constexpr Migration kV2[] = {
    {1, "CREATE TABLE a (x INTEGER NOT NULL);"},
    {2, "CREATE TABLE b (y TEXT); INSERT INTO a (x) VALUES (42);"},
};

int count_tables(SQLite::Database& db, const char* name) {
  SQLite::Statement q(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
  q.bind(1, name);
  q.executeStep();
  return q.getColumn(0).getInt();
}

TEST(Sqlitedb, OpenConfiguresAndMigrates) {
  test::TempDir dir;
  auto db = open_database(dir.path() / "x.db", kV2, "records");
  ASSERT_TRUE(db) << db.error().message;
  auto& d = **db;
  EXPECT_EQ(d.execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(d.execAndGet("PRAGMA foreign_keys").getInt(), 1);
  EXPECT_EQ(d.execAndGet("PRAGMA synchronous").getInt(), 2);  // FULL
  EXPECT_EQ(stored_version(d), 2);
  EXPECT_EQ(latest_version(kV2), 2);
  EXPECT_EQ(count_tables(d, "b"), 1);
}

TEST(Sqlitedb, ReopenAppliesOnlyNewMigrations) {
  test::TempDir dir;
  auto path = dir.path() / "x.db";
  {
    auto db = open_database(path, kV1, "records");
    ASSERT_TRUE(db) << db.error().message;
    (*db)->exec("INSERT INTO a (x) VALUES (1)");
  }
  auto db = open_database(path, kV2, "records");
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ(stored_version(**db), 2);
  EXPECT_EQ((*db)->execAndGet("SELECT group_concat(x) FROM (SELECT x FROM a ORDER BY x)").getString(), "1,42");
  auto again = open_database(path, kV2, "records");  // nothing pending: no second insert
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->execAndGet("SELECT count(*) FROM a").getInt(), 2);
}

TEST(Sqlitedb, NewerSchemaIsRefused) {
  test::TempDir dir;
  auto path = dir.path() / "x.db";
  ASSERT_TRUE(open_database(path, kV2, "records"));
  auto db = open_database(path, kV1, "records");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, Errc::invalid_argument);
  EXPECT_EQ(db.error().message, path.string() +
                                    ": the records database has schema version 2, but this ferry supports schema "
                                    "versions up to 1; run a newer ferry or restore a backup made by this version");
}

TEST(Sqlitedb, FailedMigrationLeavesTheFileAsItWas) {
  test::TempDir dir;
  auto path = dir.path() / "x.db";
  ASSERT_TRUE(open_database(path, kV1, "catalog"));
  constexpr Migration broken[] = {kV1[0], {2, "CREATE TABLE c (z INTEGER); THIS IS NOT SQL;"}};
  auto db = open_database(path, broken, "catalog");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, Errc::io);
  EXPECT_EQ(db.error().message.find(path.string() + ": "), 0u) << db.error().message;
  auto reopened = open_database(path, kV1, "catalog");
  ASSERT_TRUE(reopened);
  EXPECT_EQ(stored_version(**reopened), 1);
  EXPECT_EQ(count_tables(**reopened, "c"), 0);
}

TEST(Sqlitedb, MisnumberedMigrationsAreABug) {
  test::TempDir dir;
  constexpr Migration gap[] = {{1, "SELECT 1;"}, {3, "SELECT 1;"}};
  auto db = open_database(dir.path() / "x.db", gap, "records");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, Errc::internal);
  EXPECT_NE(db.error().message.find("found 3 where 2 was expected"), std::string::npos);
}

TEST(Sqlitedb, ForeignFileIsCorruptAndNamed) {
  test::TempDir dir;
  auto path = test::write_text(dir.path() / "x.db", std::string(4096, 'z'));
  auto db = open_database(path, kV1, "records");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, Errc::corrupt);
  EXPECT_EQ(db.error().message.find(path.string() + ": "), 0u) << db.error().message;
}

TEST(Sqlitedb, MissingFolderIsAnIoErrorNamingThePath) {
  auto db = open_database("/nonexistent-ferry/x.db", kV1, "records");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, Errc::io);
  EXPECT_EQ(db.error().message.find("/nonexistent-ferry/x.db: "), 0u) << db.error().message;
}

TEST(Sqlitedb, GuardedConvertsExceptions) {
  test::TempDir dir;
  auto path = dir.path() / "x.db";
  auto db = open_database(path, kV1, "records");
  ASSERT_TRUE(db);
  Status st = guarded(path, [&]() -> Status {
    (*db)->exec("INSERT INTO a (x) VALUES (NULL)");  // NOT NULL
    return {};
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::io);
  EXPECT_NE(st.error().message.find("NOT NULL"), std::string::npos) << st.error().message;
  Expected<int> ok = guarded(path, [] { return Expected<int>(7); });
  EXPECT_EQ(ok.value(), 7);
}

}  // namespace
}  // namespace ferry::sqlitedb
