#include "catalog/catalog.h"

#include <SQLiteCpp/Database.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>
#include <sstream>
#include <thread>

#include "catalog/catalog_fixture.h"
#include "util/fd.h"

namespace ferry::catalog {
namespace {

using std::chrono::seconds;

// --- the file -------------------------------------------------------------------

TEST_F(CatalogTest, DatabaseIsInWalModeAtTheCurrentSchemaVersion) {
  SQLite::Database db((dir_.path() / "catalog.db").string());
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), schema_version());
  EXPECT_EQ(schema_version(), 3);
  EXPECT_TRUE(std::filesystem::is_directory(dir_.path() / "blobs"));
  EXPECT_EQ(revision(), 0);
}

TEST_F(CatalogTest, NewerSchemaIsRefusedNamingBothVersions) {
  catalog_.reset();
  {
    SQLite::Database db((dir_.path() / "catalog.db").string(), SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version = 99");
  }
  auto opened = Catalog::open(dir_.path(), types_, clock_);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::invalid_argument);
  EXPECT_EQ(opened.error().message, (dir_.path() / "catalog.db").string() +
                                        ": the catalog database has schema version 99, but this ferry supports "
                                        "schema versions up to 3; run a newer ferry or restore a backup made by "
                                        "this version");
}

TEST_F(CatalogTest, VersionOneFileIsMigratedKeepingItsObjects) {
  apply_ok({draft("task", "/", "t")});
  catalog_.reset();
  {
    SQLite::Database db((dir_.path() / "catalog.db").string(), SQLite::OPEN_READWRITE);
    // What schema 1 wrote.
    db.exec(
        "DROP TABLE object_versions; DROP TABLE rollbacks; ALTER TABLE tombstones DROP COLUMN rollback_of; "
        "PRAGMA user_version = 1");
  }
  reopen();
  EXPECT_EQ(get_ok("task:/t").revision, 1);
  auto versions = catalog_->prior_versions("import-1");
  ASSERT_TRUE(versions) << versions.error().message;
  EXPECT_TRUE(versions->empty());
  SQLite::Database db((dir_.path() / "catalog.db").string());
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 3);
}

TEST_F(CatalogTest, GarbageFileIsReportedAsCorruptWithItsPath) {
  catalog_.reset();
  test::TempDir other;
  test::write_text(other.path() / "catalog.db", std::string(4096, 'x'));
  auto opened = Catalog::open(other.path(), types_, clock_);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::corrupt);
  EXPECT_TRUE(opened.error().message.starts_with((other.path() / "catalog.db").string() + ": "))
      << opened.error().message;
}

TEST_F(CatalogTest, ReopenKeepsEverything) {
  auto blob = store_text("id,total\n1,10\n", "sample.csv");
  auto ds = draft("dataset", "/finance", "orders", {{"query", "select 1"}});
  ds.attachments.push_back(blob);
  apply_ok({draft("datasource", "/shared", "warehouse", {{"port", 5432}}), with_ref(ds, "datasource:/shared/warehouse"),
            draft("task", "/t", "gone")});
  ASSERT_TRUE(catalog_->remove("task:/t/gone"));
  std::string before = dump();
  reopen();
  EXPECT_EQ(dump(), before);
  EXPECT_EQ(revision(), 4);
  auto again = apply_ok({draft("task", "/t", "next")});
  EXPECT_EQ(again.items[0].revision, 5);
}

TEST_F(CatalogTest, ReadsInsideReadingSeeTheCatalogAndWritesFromInsideAreRefused) {
  apply_ok({draft("task", "/t", "a")});
  std::optional<Object> found;
  std::optional<Tombstone> tombstone;
  std::optional<Error> write_inside;
  Status nested;
  auto st = catalog_->reading([&]() -> Status {
    found = catalog_->find("task:/t/a").value();
    tombstone = catalog_->tombstone(found->guid).value();
    if (auto removed = catalog_->remove("task:/t/a"); !removed) write_inside = removed.error();
    nested = catalog_->reading([] { return Status{}; });
    return {};
  });
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "a");
  EXPECT_FALSE(tombstone.has_value());
  ASSERT_TRUE(write_inside.has_value());  // refused, not a deadlock on the catalog's own lock
  EXPECT_EQ(write_inside->code, Errc::internal);
  ASSERT_FALSE(nested);
  EXPECT_EQ(nested.error().code, Errc::internal);
  // Its error comes back, and afterwards the lock is free: writes and reads go on.
  auto failed = catalog_->reading([] { return Status(fail(Errc::conflict, "stop")); });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "stop");
  ASSERT_TRUE(catalog_->remove("task:/t/a"));
  EXPECT_FALSE(catalog_->find("task:/t/a").value().has_value());
}

// --- apply: revisions and matching -------------------------------------------------

TEST_F(CatalogTest, EachCreatedObjectGetsItsOwnRevisionAndTheClocksTime) {
  clock_.advance(seconds(10));
  auto result = apply_ok({draft("datasource", "/shared", "warehouse"), draft("dataset", "/finance", "orders"),
                          draft("task", "/", "nightly")});
  ASSERT_EQ(result.items.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(result.items[i].action, ApplyAction::created);
    EXPECT_EQ(result.items[i].revision, i + 1);
  }
  EXPECT_EQ(result.items[2].address, "task:/nightly");
  EXPECT_EQ(result.revision, 3);
  auto o = get_ok("dataset:/finance/orders");
  EXPECT_EQ(o.guid, result.items[1].guid);
  EXPECT_EQ(o.owner, "alice");
  EXPECT_EQ(o.created_at, clock_.now());
  EXPECT_EQ(o.updated_at, clock_.now());
  EXPECT_EQ(o.revision, 2);
}

TEST_F(CatalogTest, UnchangedApplyBumpsNothing) {
  auto blob = store_text("abc", "a.sql");
  auto ds = with_ref(draft("dataset", "/finance", "orders", {{"query", "q"}, {"n", 1}}), "task:/t/x");
  ds.attachments.push_back(blob);
  auto first = apply_ok({ds, draft("task", "/t", "x")});
  auto stamped = get_ok("dataset:/finance/orders").updated_at;
  clock_.advance(seconds(60));
  auto second = apply_ok({ds, draft("task", "/t/", "x")}, "bob");
  for (const auto& item : second.items) EXPECT_EQ(item.action, ApplyAction::unchanged);
  EXPECT_EQ(second.items[0].revision, first.items[0].revision);
  EXPECT_EQ(second.revision, 2);
  EXPECT_EQ(revision(), 2);
  EXPECT_EQ(get_ok("dataset:/finance/orders").updated_at, stamped);
}

TEST_F(CatalogTest, OnlyChangedObjectsGetNewRevisionsAndOwnerIsKept) {
  auto created_at = clock_.now();
  apply_ok({draft("dataset", "/f", "a", {{"v", 1}}), draft("dataset", "/f", "b", {{"v", 1}})});
  clock_.advance(seconds(5));
  auto result = apply_ok({draft("dataset", "/f", "a", {{"v", 1}}), draft("dataset", "/f", "b", {{"v", 2}})}, "bob");
  EXPECT_EQ(result.items[0].action, ApplyAction::unchanged);
  EXPECT_EQ(result.items[0].revision, 1);
  EXPECT_EQ(result.items[1].action, ApplyAction::updated);
  EXPECT_EQ(result.items[1].revision, 3);
  auto b = get_ok("dataset:/f/b");
  EXPECT_EQ(b.owner, "alice");
  EXPECT_EQ(b.created_at, created_at);
  EXPECT_EQ(b.updated_at, clock_.now());
  EXPECT_EQ(b.spec, nlohmann::json({{"v", 2}}));
}

TEST_F(CatalogTest, ChangedRefOrderOrAttachmentsCountAsChanges) {
  apply_ok({draft("task", "/", "a"), draft("task", "/", "b"),
            with_ref(with_ref(draft("task", "/", "c"), "task:/a"), "task:/b")});
  auto swapped = apply_ok({with_ref(with_ref(draft("task", "/", "c"), "task:/b"), "task:/a")});
  EXPECT_EQ(swapped.items[0].action, ApplyAction::updated);
  auto d = with_ref(with_ref(draft("task", "/", "c"), "task:/b"), "task:/a");
  d.attachments.push_back(store_text("x", "x.txt"));
  EXPECT_EQ(apply_ok({d}).items[0].action, ApplyAction::updated);
  EXPECT_EQ(revision(), 5);
}

TEST_F(CatalogTest, RefsMayPointAtLaterDraftsByAddressOrGuid) {
  const std::string later_guid = "6f9619ff-8b86-d011-b42d-00cf4fc964ff";
  auto task = draft("task", "/ops", "t");
  task.guid = later_guid;
  auto result = apply_ok({with_ref(draft("dataset", "/f", "orders"), "datasource:/shared/wh"),
                          with_ref(draft("dataset", "/f", "items"), later_guid, RefKind::contains),
                          draft("datasource", "/shared", "wh"), task});
  auto orders = get_ok("dataset:/f/orders");
  ASSERT_EQ(orders.refs.size(), 1u);
  EXPECT_EQ(orders.refs[0].to_guid, result.items[2].guid);
  EXPECT_EQ(orders.refs[0].kind, RefKind::uses);
  auto items = get_ok("dataset:/f/items");
  ASSERT_EQ(items.refs.size(), 1u);
  EXPECT_EQ(items.refs[0], (Ref{later_guid, RefKind::contains}));
  EXPECT_EQ(get_ok(later_guid).address().to_string(), "task:/ops/t");
}

TEST_F(CatalogTest, MatchesByGuidElseByAddress) {
  auto created = apply_ok({draft("dataset", "/f", "orders", {{"v", 1}})});
  const std::string guid = created.items[0].guid;
  auto by_address = apply_ok({draft("dataset", "/f", "orders", {{"v", 2}})});
  EXPECT_EQ(by_address.items[0].guid, guid);
  EXPECT_EQ(by_address.items[0].action, ApplyAction::updated);
  auto by_guid = draft("dataset", "/f", "orders", {{"v", 3}});
  by_guid.guid = guid;
  EXPECT_EQ(apply_ok({by_guid}).items[0].action, ApplyAction::updated);
  auto fresh = draft("dataset", "/g", "orders");
  fresh.guid = "6F9619FF-8B86-D011-B42D-00CF4FC964FF";  // taken in canonical form
  auto made = apply_ok({fresh});
  EXPECT_EQ(made.items[0].action, ApplyAction::created);
  EXPECT_EQ(made.items[0].guid, "6f9619ff-8b86-d011-b42d-00cf4fc964ff");
  EXPECT_EQ(catalog_->list({}).value().size(), 2u);
}

TEST_F(CatalogTest, GuidMatchedDraftAtANewAddressMovesTheObject) {
  auto created = apply_ok({draft("dataset", "/f", "orders")});
  auto moved = draft("dataset", "/archive", "orders-2020");
  moved.guid = created.items[0].guid;
  auto result = apply_ok({moved});
  EXPECT_EQ(result.items[0].action, ApplyAction::updated);
  EXPECT_EQ(result.items[0].address, "dataset:/archive/orders-2020");
  EXPECT_EQ(catalog_->get("dataset:/f/orders").error().code, Errc::not_found);
  EXPECT_EQ(get_ok(created.items[0].guid).address().to_string(), "dataset:/archive/orders-2020");
}

TEST_F(CatalogTest, TwoObjectsMaySwapAddressesInOneApply) {
  auto created = apply_ok({draft("dataset", "/f", "a"), draft("dataset", "/f", "b")});
  auto a = draft("dataset", "/f", "b");
  a.guid = created.items[0].guid;
  auto b = draft("dataset", "/f", "a");
  b.guid = created.items[1].guid;
  apply_ok({a, b});
  EXPECT_EQ(get_ok("dataset:/f/b").guid, created.items[0].guid);
  EXPECT_EQ(get_ok("dataset:/f/a").guid, created.items[1].guid);
}

// --- apply: refusals ------------------------------------------------------------------

TEST_F(CatalogTest, UnknownTypeListsTheKnownOnes) {
  auto e = apply_error({at(draft("widget", "/x", "w"), "objects.yaml:3:5")});
  EXPECT_EQ(e.code, Errc::invalid_argument);
  EXPECT_EQ(e.message,
            "objects.yaml:3:5: widget:/x/w: unknown type 'widget'; known types: datasource, dataset, task, field, "
            "calendar");
}

TEST_F(CatalogTest, BadNamesAndFoldersAreInvalid) {
  auto e = apply_error({draft("dataset", "/a/../b", "x"), draft("dataset", "/f", "a/b")});
  EXPECT_EQ(e.code, Errc::invalid_argument);
  EXPECT_EQ(e.message,
            "dataset:/a/../b/x: folder '/a/../b' contains '..'; folders are absolute paths like /finance/daily\n"
            "dataset:/f/a/b: name 'a/b' must not contain '/'");
}

TEST_F(CatalogTest, DanglingReferenceNamesObjectAndTarget) {
  auto e = apply_error({at(with_ref(draft("dataset", "/finance", "orders"), "datasource:/shared/missing", RefKind::uses,
                                    "objects.yaml:9:11"),
                           "objects.yaml:7:5")});
  EXPECT_EQ(e.code, Errc::conflict);
  EXPECT_EQ(e.message,
            "objects.yaml:9:11: dataset:/finance/orders: reference to datasource:/shared/missing not found: not in "
            "this file and not in the catalog");
  auto by_guid = apply_error({with_ref(draft("dataset", "/f", "o"), "6f9619ff-8b86-d011-b42d-00cf4fc964ff")});
  EXPECT_EQ(by_guid.message,
            "dataset:/f/o: reference to 6f9619ff-8b86-d011-b42d-00cf4fc964ff not found: not in this file and not in "
            "the catalog");
  auto garbage = apply_error({with_ref(draft("dataset", "/f", "o"), "warehouse")});
  EXPECT_EQ(garbage.code, Errc::invalid_argument);
  EXPECT_EQ(garbage.message,
            "dataset:/f/o: reference 'warehouse' is neither an address (TYPE:/FOLDER/NAME) nor a GUID");
}

TEST_F(CatalogTest, ReferenceToItselfIsRefused) {
  auto e = apply_error({at(with_ref(draft("dataset", "/f", "o"), "dataset:/f/o"), "a.yaml:1:3")});
  EXPECT_EQ(e.code, Errc::conflict);
  EXPECT_EQ(e.message, "a.yaml:1:3: dataset:/f/o: reference to itself (dataset:/f/o)");
}

TEST_F(CatalogTest, FolderScopedNameClashNamesTheHolder) {
  auto held = apply_ok({draft("dataset", "/f", "a"), draft("dataset", "/f", "b")});
  apply_ok({draft("dataset", "/g", "a")});  // same name, other folder: fine
  auto moved = at(draft("dataset", "/f", "a"), "x.yaml:2:5");
  moved.guid = held.items[1].guid;
  auto e = apply_error({moved});
  EXPECT_EQ(e.code, Errc::conflict);
  EXPECT_EQ(e.message,
            "x.yaml:2:5: dataset:/f/a: name clash: the address is held by another object (" + held.items[0].guid + ")");
}

TEST_F(CatalogTest, SameAddressTwiceInOneApplyIsOneObjectTwice) {
  auto e = apply_error({at(draft("dataset", "/f", "a"), "x.yaml:2:5"), at(draft("dataset", "/f", "a"), "x.yaml:9:5")});
  EXPECT_EQ(e.code, Errc::conflict);
  EXPECT_TRUE(e.message.starts_with("x.yaml:9:5: dataset:/f/a: this object (GUID ")) << e.message;
  EXPECT_TRUE(e.message.ends_with(") is already given at x.yaml:2:5: dataset:/f/a; name each object once per apply"))
      << e.message;
}

TEST_F(CatalogTest, TwoDraftsForTheSameGuidAreRefused) {
  const std::string guid = "6f9619ff-8b86-d011-b42d-00cf4fc964ff";
  auto a = draft("dataset", "/f", "a");
  a.guid = guid;
  auto b = at(draft("dataset", "/f", "b"), "x.yaml:5:5");
  b.guid = guid;
  auto e = apply_error({a, b});
  EXPECT_EQ(e.message, "x.yaml:5:5: dataset:/f/b: this object (GUID " + guid +
                           ") is already given at draft 1: dataset:/f/a; name each object once per apply");
}

TEST_F(CatalogTest, TwoNewObjectsAtOneAddressClash) {
  auto a = draft("dataset", "/f", "a");
  a.guid = "6f9619ff-8b86-d011-b42d-00cf4fc964ff";
  auto b = draft("dataset", "/f", "a");
  b.guid = "7f9619ff-8b86-d011-b42d-00cf4fc964ff";
  auto e = apply_error({at(a, "x.yaml:1:3"), at(b, "x.yaml:4:3")});
  EXPECT_EQ(e.message,
            "x.yaml:4:3: dataset:/f/a: name clash: another object in this apply has the same address "
            "(x.yaml:1:3)");
}

TEST_F(CatalogTest, TypeScopedNamesClashAcrossFolders) {
  auto held = apply_ok({draft("datasource", "/shared", "warehouse")});
  auto e = apply_error({at(draft("datasource", "/team", "warehouse"), "x.yaml:1:3")});
  EXPECT_EQ(e.code, Errc::conflict);
  EXPECT_EQ(e.message,
            "x.yaml:1:3: datasource:/team/warehouse: name clash: name 'warehouse' is held by "
            "datasource:/shared/warehouse (" +
                held.items[0].guid + ") (datasource names are unique across all folders: unique_name: type)");
  auto twice = apply_error({draft("datasource", "/a", "lake"), draft("datasource", "/b", "lake")});
  EXPECT_EQ(twice.message,
            "datasource:/b/lake: name clash: name 'lake' is also given to datasource:/a/lake in this "
            "apply (datasource names are unique across all folders: unique_name: type)");
  // Folder-scoped types may repeat a name in another folder.
  apply_ok({draft("dataset", "/a", "warehouse"), draft("dataset", "/b", "warehouse")});
}

TEST_F(CatalogTest, QuotaNamesTypeLimitAndCount) {
  apply_ok({draft("calendar", "/", "c1")});
  auto e = apply_error(
      {draft("calendar", "/", "c2"), at(draft("calendar", "/", "c3"), "x.yaml:3:3"), draft("calendar", "/", "c4")});
  EXPECT_EQ(e.code, Errc::conflict);
  EXPECT_EQ(e.message,
            "x.yaml:3:3: calendar:/c3: quota exceeded: type calendar allows at most 2 objects "
            "(max_objects) and this apply would make 3");
  // Updates do not count against the quota.
  apply_ok({draft("calendar", "/", "c1", {{"tz", "UTC"}}), draft("calendar", "/", "c2")});
}

TEST_F(CatalogTest, TypeOfAnObjectCannotChange) {
  auto made = apply_ok({draft("dataset", "/f", "a")});
  auto d = draft("task", "/f", "a");
  d.guid = made.items[0].guid;
  auto e = apply_error({d});
  EXPECT_EQ(e.message, "task:/f/a: GUID " + made.items[0].guid +
                           " is dataset:/f/a in the catalog; an object's type cannot change");
}

TEST_F(CatalogTest, EveryProblemIsReportedOneLineEach) {
  apply_ok({draft("datasource", "/shared", "warehouse")});
  auto e = apply_error({at(draft("widget", "/", "w"), "f:1:1"),
                        at(with_ref(draft("dataset", "/f", "o"), "dataset:/f/missing"), "f:2:1"),
                        at(draft("datasource", "/x", "warehouse"), "f:3:1")});
  EXPECT_EQ(e.code, Errc::invalid_argument);  // the file is wrong, not only the catalog's state
  std::vector<std::string> lines;
  std::istringstream in(e.message);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u) << e.message;
  EXPECT_TRUE(lines[0].starts_with("f:1:1: widget:/w: unknown type"));
  EXPECT_TRUE(lines[1].starts_with("f:2:1: dataset:/f/o: reference to dataset:/f/missing not found"));
  EXPECT_TRUE(lines[2].starts_with("f:3:1: datasource:/x/warehouse: name clash"));
}

TEST_F(CatalogTest, MissingBlobIsRefused) {
  auto d = draft("dataset", "/f", "o");
  d.attachments.push_back({"a.csv", std::string(64, 'a'), 3});
  auto e = apply_error({d});
  EXPECT_EQ(e.message, "dataset:/f/o: attachment 'a.csv': blob '" + std::string(64, 'a') +
                           "' is not in the blob store; store the file first");
}

TEST_F(CatalogTest, FailingApplyLeavesTheCatalogByteForByteUnchanged) {
  apply_ok({draft("datasource", "/shared", "wh"), with_ref(draft("dataset", "/f", "o"), "datasource:/shared/wh")});
  std::string before = dump();
  auto db = file_bytes(dir_.path() / "catalog.db");
  auto wal = file_bytes(dir_.path() / "catalog.db-wal");
  clock_.advance(seconds(1));
  apply_error({draft("dataset", "/f", "o", {{"changed", true}}), draft("task", "/t", "new"),
               with_ref(draft("task", "/t", "bad"), "task:/nowhere")});
  EXPECT_EQ(dump(), before);
  EXPECT_EQ(revision(), 2);
  EXPECT_EQ(file_bytes(dir_.path() / "catalog.db"), db);
  EXPECT_EQ(file_bytes(dir_.path() / "catalog.db-wal"), wal);
}

// --- blobs -------------------------------------------------------------------------------

TEST_F(CatalogTest, SameBytesAreStoredOnceAndSharedByObjects) {
  auto one = store_text("id,total\n1,10\n", "one.csv");
  auto two = store_text("id,total\n1,10\n", "two.csv");
  EXPECT_EQ(one.sha256, two.sha256);
  EXPECT_EQ(one.size, 14u);
  EXPECT_EQ(two.name, "two.csv");
  EXPECT_EQ(catalog_->blob_path(one.sha256), dir_.path() / "blobs" / one.sha256.substr(0, 2) / one.sha256);
  EXPECT_EQ(file_bytes(catalog_->blob_path(one.sha256)), "id,total\n1,10\n");
  size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path() / "blobs")) {
    if (e.is_regular_file()) ++files;  // no temporary files either
  }
  EXPECT_EQ(files, 1u);
  auto a = draft("dataset", "/f", "a");
  a.attachments.push_back(one);
  auto b = draft("dataset", "/f", "b");
  b.attachments.push_back(two);
  apply_ok({a, b});
  EXPECT_EQ(get_ok("dataset:/f/a").attachments, std::vector<Attachment>{one});
  EXPECT_EQ(get_ok("dataset:/f/b").attachments, std::vector<Attachment>{two});
}

std::vector<std::string> ferry_partials_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (is_ferry_partial(e.path().filename().string())) out.push_back(e.path().filename().string());
  }
  return out;
}

TEST_F(CatalogTest, BlobBeingWrittenIsAFerryPartialUntilRenamed) {
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  UniqueFd read_end(ends[0]), write_end(ends[1]);
  ASSERT_TRUE(write_all(write_end.get(), "half", "pipe"));
  Expected<Attachment> stored;
  std::thread writer([&] { stored = catalog_->store_blob(read_end.get(), "piped.txt"); });
  std::vector<std::string> partials;
  for (int i = 0; i < 500 && partials.empty(); ++i) {  // store_blob now waits for more bytes
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    partials = ferry_partials_in(dir_.path() / "blobs");
  }
  ASSERT_TRUE(write_all(write_end.get(), " and the rest", "pipe"));
  write_end = UniqueFd();
  writer.join();
  ASSERT_EQ(partials.size(), 1u);
  EXPECT_TRUE(partials[0].starts_with(".blob.ferry-")) << partials[0];
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(file_bytes(catalog_->blob_path(stored->sha256)), "half and the rest");
  EXPECT_TRUE(ferry_partials_in(dir_.path() / "blobs").empty());
}

TEST_F(CatalogTest, OpenRemovesLeftoverFerryPartialsAndNothingElse) {
  auto kept = store_text("kept", "kept.txt");
  catalog_.reset();
  auto blobs = dir_.path() / "blobs";
  test::write_text(blobs / (".blob.ferry-a1B2c3.partial"), "crashed");
  test::write_text(blobs / ".blob.partial", "another tool's");
  test::write_text(blobs / "notes.txt", "an operator's");
  reopen();
  EXPECT_TRUE(ferry_partials_in(blobs).empty());
  EXPECT_TRUE(std::filesystem::exists(blobs / ".blob.partial"));
  EXPECT_TRUE(std::filesystem::exists(blobs / "notes.txt"));
  EXPECT_EQ(file_bytes(catalog_->blob_path(kept.sha256)), "kept");
}

TEST_F(CatalogTest, LargeBlobIsStreamed) {
  std::string big(300 * 1024 + 7, 'z');  // several 64 KiB chunks and a short tail
  auto stored = store_text(big, "big.bin");
  EXPECT_EQ(stored.size, big.size());
  EXPECT_EQ(file_bytes(catalog_->blob_path(stored.sha256)), big);
}

// --- reads --------------------------------------------------------------------------------

TEST_F(CatalogTest, GetByAddressOrGuidAndNotFoundMessages) {
  auto made = apply_ok({draft("dataset", "/x", "y")});
  EXPECT_EQ(get_ok(made.items[0].guid).address().to_string(), "dataset:/x/y");
  EXPECT_EQ(catalog_->get("dataset:/x/z").error().message, "no object dataset:/x/z in the catalog");
  EXPECT_EQ(catalog_->get("dataset:/x/z").error().code, Errc::not_found);
  EXPECT_EQ(catalog_->get("6f9619ff-8b86-d011-b42d-00cf4fc964ff").error().message,
            "no object with GUID 6f9619ff-8b86-d011-b42d-00cf4fc964ff in the catalog");
  EXPECT_EQ(catalog_->get("nonsense").error().code, Errc::invalid_argument);
}

TEST_F(CatalogTest, ListFiltersByTypeAndFolderAndSorts) {
  apply_ok({draft("task", "/", "t"), draft("dataset", "/fin/daily", "b"), draft("dataset", "/fin", "z"),
            draft("dataset", "/fin", "a"), draft("dataset", "/finance", "x"), draft("dataset", "/", "r")});
  auto filter = [](std::optional<std::string> type, std::optional<std::string> folder) {
    ListFilter f;
    f.type = std::move(type);
    f.folder = std::move(folder);
    return f;
  };
  auto addresses = [&](ListFilter f) {
    std::vector<std::string> out;
    auto objects = catalog_->list(f).value();
    for (const auto& o : objects) out.push_back(o.address().to_string());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(addresses({}), (V{"dataset:/r", "dataset:/fin/a", "dataset:/fin/z", "dataset:/fin/daily/b",
                              "dataset:/finance/x", "task:/t"}));
  EXPECT_EQ(addresses(filter("task", {})), (V{"task:/t"}));
  EXPECT_EQ(addresses(filter({}, "/fin")), (V{"dataset:/fin/a", "dataset:/fin/z"}));
  EXPECT_EQ(addresses(filter({}, "/fin/**")), (V{"dataset:/fin/a", "dataset:/fin/z", "dataset:/fin/daily/b"}));
  EXPECT_EQ(addresses(filter("dataset", "/**")).size(), 5u);
  EXPECT_EQ(addresses(filter({}, "/")), (V{"dataset:/r", "task:/t"}));
  EXPECT_EQ(addresses(filter({}, "fin/")), (V{"dataset:/fin/a", "dataset:/fin/z"}));
  EXPECT_EQ(addresses(filter({}, "/fin/daily/**")), (V{"dataset:/fin/daily/b"}));
  EXPECT_EQ(catalog_->list(filter({}, "/a/../b")).error().code, Errc::invalid_argument);
}

// --- remove --------------------------------------------------------------------------------

TEST_F(CatalogTest, RemoveLeavesTombstonesAndCascadesThroughContains) {
  apply_ok({with_ref(with_ref(draft("dataset", "/f", "table"), "field:/f/id", RefKind::contains), "field:/f/total",
                     RefKind::contains),
            with_ref(draft("field", "/f", "id"), "field:/f/sub", RefKind::contains), draft("field", "/f", "total"),
            draft("field", "/f", "sub"), draft("dataset", "/f", "other")});
  clock_.advance(seconds(7));
  auto table = get_ok("dataset:/f/table");
  auto gone = catalog_->remove("dataset:/f/table");
  ASSERT_TRUE(gone) << gone.error().message;
  ASSERT_EQ(gone->size(), 4u);
  EXPECT_EQ((*gone)[0].guid, table.guid);  // the object first, then what it contains
  EXPECT_EQ((*gone)[0].address().to_string(), "dataset:/f/table");
  EXPECT_EQ((*gone)[0].revision, 6);
  EXPECT_EQ((*gone)[0].deleted_at, clock_.now());
  EXPECT_EQ((*gone)[1].address().to_string(), "field:/f/id");
  EXPECT_EQ((*gone)[2].address().to_string(), "field:/f/total");
  EXPECT_EQ((*gone)[3].address().to_string(), "field:/f/sub");
  EXPECT_EQ((*gone)[3].revision, 9);
  EXPECT_EQ(revision(), 9);
  EXPECT_EQ(catalog_->list({}).value().size(), 1u);
  EXPECT_EQ(catalog_->tombstones(0).value().size(), 4u);
  auto after = catalog_->tombstones(7).value();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].revision, 8);
}

TEST_F(CatalogTest, RemoveIsRefusedWhileReferencedFromOutside) {
  auto made = apply_ok({with_ref(draft("dataset", "/f", "table"), "field:/f/id", RefKind::contains),
                        draft("field", "/f", "id"), with_ref(draft("task", "/ops", "load"), "dataset:/f/table"),
                        with_ref(draft("dataset", "/g", "view"), "field:/f/id")});
  std::string before = dump();
  auto refused = catalog_->remove("dataset:/f/table");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::conflict);
  EXPECT_EQ(refused.error().message, "cannot delete dataset:/f/table (" + made.items[0].guid +
                                         "): still referenced by objects outside it; delete or change those first:\n"
                                         "  task:/ops/load (" +
                                         made.items[2].guid +
                                         ") uses dataset:/f/table\n"
                                         "  dataset:/g/view (" +
                                         made.items[3].guid + ") uses field:/f/id");
  EXPECT_EQ(dump(), before);
  EXPECT_EQ(catalog_->remove("dataset:/x/y").error().message, "no object dataset:/x/y in the catalog");
  EXPECT_EQ(catalog_->remove("dataset:/x/y").error().code, Errc::not_found);
  ASSERT_TRUE(catalog_->remove("task:/ops/load"));
  ASSERT_TRUE(catalog_->remove("dataset:/g/view"));
  EXPECT_TRUE(catalog_->remove(made.items[0].guid));
}

TEST_F(CatalogTest, RecreatingByGuidClearsItsTombstone) {
  auto made = apply_ok({draft("dataset", "/f", "a")});
  ASSERT_TRUE(catalog_->remove("dataset:/f/a"));
  ASSERT_EQ(catalog_->tombstones(0).value().size(), 1u);
  auto again = draft("dataset", "/f", "a");
  again.guid = made.items[0].guid;
  auto result = apply_ok({again});
  EXPECT_EQ(result.items[0].action, ApplyAction::created);
  EXPECT_EQ(result.items[0].revision, 3);
  EXPECT_TRUE(catalog_->tombstones(0).value().empty());
}

// --- threads -------------------------------------------------------------------------------

TEST_F(CatalogTest, ConcurrentAppliesGetDistinctRevisions) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto r = catalog_->apply({draft("task", "/t" + std::to_string(t), "n" + std::to_string(i))}, "w");
        EXPECT_TRUE(r);
        EXPECT_TRUE(catalog_->list({}));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<int64_t> revisions;
  auto objects = catalog_->list({}).value();
  for (const auto& o : objects) revisions.insert(o.revision);
  EXPECT_EQ(revisions.size(), 40u);
  EXPECT_EQ(*revisions.rbegin(), 40);
}

}  // namespace
}  // namespace ferry::catalog
