#include "export/export.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <filesystem>
#include <map>

#include "export/export_fixture.h"
#include "package/package_fixture.h"
#include "support/temp_dir.h"
#include "util/fd.h"
#include "util/sha256.h"
#include "util/time.h"

namespace ferry::exporter {
namespace {

namespace fs = std::filesystem;
using namespace ferry::exporter::test;
using package::test::KeyPair;
using package::test::read_options;
using package::test::slurp;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using json = nlohmann::json;

const std::vector<std::string> kSecrets = {"PW-SECRET-7f3a", "TLSKEY-SECRET-91", "TOKEN-SECRET-55"};

std::map<std::string, std::string> zip_entries(const fs::path& path) {
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_RDONLY, &err);
  EXPECT_NE(za, nullptr);
  std::map<std::string, std::string> out;
  for (zip_int64_t i = 0; za && i < zip_get_num_entries(za, 0); ++i) {
    zip_stat_t st;
    zip_stat_index(za, static_cast<zip_uint64_t>(i), 0, &st);
    std::string data(st.size, '\0');
    zip_file_t* f = zip_fopen_index(za, static_cast<zip_uint64_t>(i), 0);
    EXPECT_EQ(zip_fread(f, data.data(), data.size()), static_cast<zip_int64_t>(data.size()));
    zip_fclose(f);
    out[st.name] = std::move(data);
  }
  if (za) zip_discard(za);
  return out;
}

// A data source with two secrets, a dataset using it with two attachments, a task
// with a secret token sharing one attachment with the dataset.
struct Export {
  ferry::test::TempDir dir;
  KeyPair key;
  Snapshot snap;
  types::TypeRegistry types = registry();
  std::map<std::string, json> specs;  // full specs, secrets included: what load_spec returns
  fs::path out = dir.path() / ".pkg.zip.partial";
  std::string schema = "create table orders (id int, amount numeric);\n";
  std::string sample = std::string(5000, 'a') + "sample rows";
  int src = 0, ds = 0, task = 0;

  Export() {
    fs::create_directories(dir.path() / "blobs");
    src = snap.add("datasource", "/shared", "warehouse");
    ds = snap.add("dataset", "/finance", "orders");
    task = snap.add("task", "/sales", "report");
    snap.uses(ds, src);
    snap.uses(task, ds);
    specs[guid(src)] = {
        {"host", "db.internal"}, {"password", kSecrets[0]}, {"tls", {{"key", kSecrets[1]}, {"mode", "on"}}}};
    specs[guid(ds)] = {{"query", "select * from orders"}};
    specs[guid(task)] = {{"token", kSecrets[2]}, {"cron", "0 1 * * *"}};
    snap.at(ds).attachments = {attach("schema.sql", schema), attach("sample.csv", sample)};
    snap.at(task).attachments = {attach("rows.csv", sample)};
  }
  catalog::Attachment attach(std::string name, const std::string& bytes) {
    auto sha = sha256_hex(bytes);
    ferry::test::write_text(dir.path() / "blobs" / sha, bytes);
    return {std::move(name), sha, bytes.size()};
  }
  WriteInput input() const {
    WriteInput in;
    in.package_id = "0b0e1a2c-5d7f-4c1e-9f3a-2a6b8e1c4d5f";
    in.name = "test-full-1";
    in.description = "nightly";
    in.export_settings = settings_json({});
    in.source = {"test", "single", "0.1.0"};
    in.created_at = parse_rfc3339("2026-11-24T06:12:57.123Z").value();
    return in;
  }
  LoadSpec loader() {
    return [this](const std::string& g) -> Expected<json> { return specs.at(g); };
  }
  BlobPath blobs() {
    return [this](const std::string& sha) { return dir.path() / "blobs" / sha; };
  }
  Expected<WriteResult> write(const Plan& p, package::WriterOptions options = {}) {
    return exporter::write(p, input(), types, loader(), blobs(), out, key.secret, std::move(options));
  }
  Plan plan_for(Request r = {}) { return plan(snap.objects, snap.tombstones, snap.revision, types, r).value(); }
};

std::vector<std::string> guids(const Plan& p) {
  std::vector<std::string> out;
  for (uint32_t row : p.objects) out.push_back(std::string(p.table.guid(row)));
  return out;
}

TEST(ExportWrite, WritesAPackageTheReaderVerifiesInPlanOrder) {
  Export e;
  auto p = e.plan_for();
  auto result = e.write(p);
  ASSERT_TRUE(result) << result.error().message;
  auto pkg = package::open_package(e.out, read_options(e.key));
  ASSERT_TRUE(pkg) << pkg.error().message;
  const auto& m = pkg->manifest();
  EXPECT_EQ(m.order, guids(p));
  EXPECT_THAT(m.order, ElementsAre(guid(e.src), guid(e.ds), guid(e.task)));
  EXPECT_EQ(m.name, "test-full-1");
  EXPECT_EQ(m.source, (package::Source{"test", "single", "0.1.0"}));
  EXPECT_EQ(m.export_settings, settings_json({}));
  EXPECT_FALSE(m.revisions);
  EXPECT_EQ(result->object_count, 3u);
  EXPECT_EQ(result->attachment_count, 2u);  // sample.csv and rows.csv share their bytes
  EXPECT_EQ(result->size, fs::file_size(e.out));
  EXPECT_EQ(result->sha256, sha256_hex(slurp(e.out)));
  ASSERT_EQ(m.objects.size(), 3u);
  // Each ref names its target's address, so a destination can name a missing input.
  const auto src = p.object(0);
  EXPECT_EQ(m.objects[1].refs,
            (std::vector<package::Ref>{{guid(e.src), package::RefKind::uses, src.address().to_string()}}));
  EXPECT_TRUE(pkg->has_attachment(sha256_hex(e.sample)));
  EXPECT_TRUE(pkg->has_attachment(sha256_hex(e.schema)));
}

TEST(ExportWrite, ObjectDocumentHasTheDocumentedFields) {
  Export e;
  ASSERT_TRUE(e.write(e.plan_for()));
  auto pkg = package::open_package(e.out, read_options(e.key));
  ASSERT_TRUE(pkg) << pkg.error().message;
  auto doc = json::parse(pkg->object_json(guid(e.ds)).value());
  EXPECT_EQ(doc, json::parse(R"({"guid":")" + guid(e.ds) + R"(","type":"dataset","name":"orders","folder":"/finance",
      "revision":2,"spec":{"query":"select * from orders"},"refs":[{"guid":")" +
                             guid(e.src) + R"(","kind":"uses"}],
      "attachments":[{"name":"schema.sql","sha256":")" +
                             sha256_hex(e.schema) + R"(","size":46},
                     {"name":"sample.csv","sha256":")" +
                             sha256_hex(e.sample) + R"(","size":5011}]})"));
}

TEST(ExportWrite, ObjectDocumentBytesAreDeterministic) {
  catalog::Object o;
  o.guid = guid(1);
  o.type = "task";
  o.name = "n";
  o.folder = "/f";
  o.revision = 4;
  types::TypeDef t;
  t.name = "task";
  t.secret_fields = {"/token", "/absent/field"};
  auto text = object_document(o, json::parse(R"({"z":1,"a":{"y":2,"b":3},"token":"x"})"), t);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, R"({"attachments":[],"folder":"/f","guid":")" + guid(1) +
                       R"(","name":"n","refs":[],"revision":4,"spec":{"a":{"b":3,"y":2},"z":1},"type":"task"})"
                       "\n");
}

TEST(ExportWrite, SecretsAreListedAndAbsentFromEveryByte) {
  Export e;
  auto result = e.write(e.plan_for());
  ASSERT_TRUE(result) << result.error().message;
  auto raw = slurp(e.out);
  auto entries = zip_entries(e.out);
  ASSERT_EQ(entries.size(), 7u);  // 3 objects, 2 attachments, manifest, signature
  for (const auto& secret : kSecrets) {
    EXPECT_EQ(raw.find(secret), std::string::npos) << secret << " in the raw zip";
    for (const auto& [name, data] : entries)
      EXPECT_EQ(data.find(secret), std::string::npos) << secret << " in " << name;
  }
  // The fields around the secrets are still there.
  auto src_doc = json::parse(entries.at("objects/" + guid(e.src) + ".json"));
  EXPECT_EQ(src_doc["spec"], json::parse(R"({"host":"db.internal","tls":{"mode":"on"}})"));
  auto pkg = package::open_package(e.out, read_options(e.key));
  ASSERT_TRUE(pkg) << pkg.error().message;
  std::vector<package::RequiredSecret> expected = {
      {guid(e.src), "/password"}, {guid(e.src), "/tls/key"}, {guid(e.task), "/token"}};
  EXPECT_EQ(pkg->manifest().required_secrets, expected);
  EXPECT_EQ(result->required_secrets, expected);
}

TEST(ExportWrite, WithoutDataAttachmentsAreListedButNotCarried) {
  Export e;
  auto p = e.plan_for({.include_data = false});
  auto result = e.write(p);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->attachment_count, 0u);
  for (const auto& [name, data] : zip_entries(e.out)) EXPECT_FALSE(name.starts_with("attachments/")) << name;
  auto pkg = package::open_package(e.out, read_options(e.key));
  ASSERT_TRUE(pkg) << pkg.error().message;
  const auto& ds = pkg->manifest().objects.at(1);
  EXPECT_THAT(ds.attachments, ElementsAre(package::AttachmentRef{"schema.sql", sha256_hex(e.schema), e.schema.size()},
                                          package::AttachmentRef{"sample.csv", sha256_hex(e.sample), e.sample.size()}));
  EXPECT_FALSE(pkg->has_attachment(sha256_hex(e.schema)));
}

TEST(ExportWrite, IncrementalManifestCarriesRevisionsDeletionsAndBaseline) {
  Export e;
  e.snap.deleted(60, "dataset", "/finance", "old", 9);
  auto p = e.plan_for({.mode = Mode::incremental, .since_revision = 2});
  auto in = e.input();
  in.previous_package_id = "prev-1";
  auto result = exporter::write(p, in, e.types, e.loader(), e.blobs(), e.out, e.key.secret);
  ASSERT_TRUE(result) << result.error().message;
  auto pkg = package::open_package(e.out, read_options(e.key));
  ASSERT_TRUE(pkg) << pkg.error().message;
  const auto& m = pkg->manifest();
  EXPECT_EQ(m.order, (std::vector<std::string>{guid(e.task)}));
  EXPECT_EQ(m.revisions, (package::RevisionRange{2, 9}));
  EXPECT_EQ(m.previous_package_id, "prev-1");
  ASSERT_EQ(m.deleted.size(), 1u);
  EXPECT_EQ(m.deleted[0], (package::Tombstone{guid(60), "dataset", "/finance", "old", 9}));
}

TEST(ExportWrite, CancelledExportLeavesNoFile) {
  Export e;
  std::stop_source stop;
  e.specs.clear();
  auto load = [&](const std::string&) -> Expected<json> {
    stop.request_stop();
    return json::object();
  };
  auto result = exporter::write(e.plan_for(), e.input(), e.types, load, e.blobs(), e.out, e.key.secret,
                                {.stop = stop.get_token(), .progress = {}});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::cancelled);
  EXPECT_FALSE(fs::exists(e.out));
}

TEST(ExportWrite, FailureNamesTheObjectAndLeavesNoFile) {
  Export e;
  auto load = [&](const std::string& g) -> Expected<json> {
    if (g == guid(e.ds)) return fail(Errc::io, "disk on fire");
    return e.specs.at(g);
  };
  auto result = exporter::write(e.plan_for(), e.input(), e.types, load, e.blobs(), e.out, e.key.secret);
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("dataset:/finance/orders (" + guid(e.ds) + ")"));
  EXPECT_THAT(result.error().message, HasSubstr("disk on fire"));
  EXPECT_FALSE(fs::exists(e.out));
}

TEST(ExportWrite, ChangedBlobFailsTheExport) {
  Export e;
  ferry::test::write_text(e.dir.path() / "blobs" / sha256_hex(e.schema), "tampered");
  auto result = e.write(e.plan_for());
  ASSERT_FALSE(result);
  EXPECT_FALSE(fs::exists(e.out));
}

// Object documents wait in an unnamed temporary file: no other name ever appears in
// the package's folder, not even while the export runs.
TEST(ExportWrite, NoOtherFileAppearsBesideThePackage) {
  Export e;
  std::vector<std::string> seen;
  auto load = [&](const std::string& g) -> Expected<json> {
    for (const auto& entry : fs::directory_iterator(e.dir.path())) seen.push_back(entry.path().filename());
    return e.specs.at(g);
  };
  ASSERT_TRUE(exporter::write(e.plan_for(), e.input(), e.types, load, e.blobs(), e.out, e.key.secret));
  EXPECT_EQ(seen.size(), 6u);  // blobs and the partial package, at each of three loads
  for (const auto& name : seen) EXPECT_THAT(name, ::testing::AnyOf("blobs", ".pkg.zip.partial"));
  std::vector<std::string> after;
  for (const auto& entry : fs::directory_iterator(e.dir.path())) after.push_back(entry.path().filename());
  EXPECT_THAT(after, UnorderedElementsAre("blobs", ".pkg.zip.partial"));
}

// While objects are added, the manifest's lists and the zip's central directory
// collect in unnamed O_TMPFILEs beside the package (shown by /proc as
// "DIR/#INODE (deleted)"), not in memory.
TEST(ExportWrite, ManifestListsWaitInAnUnnamedTemporaryFile) {
  Export e;
  UniqueFd probe(::open(e.dir.path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!probe) GTEST_SKIP() << "this file system has no O_TMPFILE: the writer keeps object JSON in memory here";
  probe = UniqueFd();
  bool spilled = false;
  auto load = [&](const std::string& g) -> Expected<json> {
    for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      auto target = fs::read_symlink(fd.path(), ec).string();
      if (target.starts_with((e.dir.path() / "#").string())) spilled = true;
    }
    return e.specs.at(g);
  };
  ASSERT_TRUE(exporter::write(e.plan_for(), e.input(), e.types, load, e.blobs(), e.out, e.key.secret));
  EXPECT_TRUE(spilled);
  ASSERT_TRUE(package::open_package(e.out, read_options(e.key)));
}

// The writer only knows what was added so far; the exporter reports a total that
// covers the plan, so done/total moves forward instead of sitting near 100 %.
TEST(ExportWrite, ProgressTotalCoversThePlannedAttachmentsFromTheStart) {
  Export e;
  uint64_t first_total = 0, last_done = 0, last_total = 0;
  package::WriterOptions options;
  options.progress = [&](uint64_t done, uint64_t total) {
    if (first_total == 0) first_total = total;
    EXPECT_LE(done, total);
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
  };
  ASSERT_TRUE(e.write(e.plan_for(), std::move(options)));
  EXPECT_GE(first_total, e.schema.size() + e.sample.size());
  EXPECT_EQ(last_done, last_total);
}

}  // namespace
}  // namespace ferry::exporter
