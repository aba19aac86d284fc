#include "package/package.h"
#include "package/package_impl.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <unistd.h>
#include <thread>

#include <filesystem>
#include <set>

#include "package/package_fixture.h"
#include "support/temp_dir.h"
#include "util/fd.h"

namespace ferry::package {
namespace {

namespace fs = std::filesystem;
using namespace ferry::package::test;

std::set<std::string> entry_names(const fs::path& zip_path) {
  int err = 0;
  zip_t* za = zip_open(zip_path.c_str(), ZIP_RDONLY, &err);
  EXPECT_NE(za, nullptr);
  std::set<std::string> names;
  for (zip_int64_t i = 0; za && i < zip_get_num_entries(za, 0); ++i)
    names.insert(zip_get_name(za, static_cast<zip_uint64_t>(i), 0));
  if (za) zip_discard(za);
  return names;
}

zip_uint16_t method_of(const fs::path& zip_path, const std::string& name) {
  int err = 0;
  zip_t* za = zip_open(zip_path.c_str(), ZIP_RDONLY, &err);
  zip_stat_t st;
  EXPECT_EQ(zip_stat(za, name.c_str(), 0, &st), 0) << name;
  zip_discard(za);
  return st.comp_method;
}

std::string random_bytes(size_t n) {
  std::string s(n, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& c : s) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x >> 56);
  }
  return s;
}

// Text like a CSV export: deflates about 3:1, so the probe deflates it.
std::string csv_text(size_t n) {
  std::string s;
  uint64_t x = 0x2545f4914f6cdd1dull;
  while (s.size() < n) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    s += std::to_string(x % 100000) + ",order," + std::to_string((x >> 20) % 1000) + ".25,EUR\n";
  }
  s.resize(n);
  return s;
}

// Writes a package of two objects sharing one attachment, from two different files
// with the same bytes, plus one compressible attachment of the second object.
struct Sample {
  ferry::test::TempDir dir;
  KeyPair key;
  fs::path package = dir.path() / ".nightly.zip.partial";
  std::string shared = random_bytes(300000);
  std::string text = std::string(200000, 'x') + "the end";
  Manifest written;

  Status write(WriterOptions options = {}) {
    auto w = FERRY_TRY(PackageWriter::create(package, std::move(options)));
    FERRY_TRY(w.add_object(kGuidA, R"({"spec":{"rows":1}})"));
    FERRY_TRY(w.add_object(kGuidB, R"({"spec":{"rows":2}})"));
    auto a = FERRY_TRY(w.add_attachment(ferry::test::write_text(dir.path() / "in/one.bin", shared)));
    auto b = FERRY_TRY(w.add_attachment(ferry::test::write_text(dir.path() / "in/two.bin", shared)));
    auto c = FERRY_TRY(w.add_attachment(ferry::test::write_text(dir.path() / "in/notes.txt", text)));
    EXPECT_EQ(a, b);
    auto m = base_manifest();
    m.objects = {object_entry(kGuidA), object_entry(kGuidB)};
    m.objects[0].attachments = {{"data.bin", a.sha256, a.size}};
    m.objects[1].attachments = {{"copy.bin", b.sha256, b.size}, {"notes.txt", c.sha256, c.size}};
    m.objects[1].refs = {{kGuidA, RefKind::uses, "dataset:/a/x"}};
    m.order = {kGuidA, kGuidB};
    m.deleted = {{"8b9619ff-8b86-d011-b42d-00cf4fc964ff", "dataset", "/old", "gone", 2}};
    m.required_secrets = {{kGuidB, "/password"}};
    m.revisions = RevisionRange{4, 9};
    m.previous_package_id = "p-0000";
    FERRY_TRY(w.finish(m, key.secret, &written));
    return {};
  }
};

// An ObjectReader has its own handle on the file: it reads on another thread while
// the package reads on this one, with the same texts and the same refusals.
TEST(Package, ObjectReaderReadsOnAnotherThread) {
  Sample s;
  auto st = s.write();
  ASSERT_TRUE(st) << st.error().message;
  auto pkg = open_package(s.package, read_options(s.key));
  ASSERT_TRUE(pkg) << pkg.error().message;
  auto reader = pkg->object_reader();
  ASSERT_TRUE(reader) << reader.error().message;
  Expected<std::string> there = fail(Errc::internal, "not read");
  Expected<std::string> missing = fail(Errc::internal, "not read");
  std::thread other([&] {
    there = reader->object_json(kGuidB);
    missing = reader->object_json("8b9619ff-8b86-d011-b42d-00cf4fc964ff");
  });
  EXPECT_EQ(pkg->object_json(kGuidA).value(), R"({"spec":{"rows":1}})");
  other.join();
  ASSERT_TRUE(there) << there.error().message;
  EXPECT_EQ(*there, R"({"spec":{"rows":2}})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST(Package, RoundTripSharesOneAttachmentBetweenObjects) {
  Sample s;
  auto st = s.write();
  ASSERT_TRUE(st) << st.error().message;
  auto names = entry_names(s.package);
  auto shared_entry = attachment_entry_name(sha256_hex(s.shared));
  EXPECT_EQ(names, (std::set<std::string>{"manifest.json", "signature.ed25519", object_entry_name(kGuidA),
                                          object_entry_name(kGuidB), shared_entry,
                                          attachment_entry_name(sha256_hex(s.text))}));

  auto pkg = open_package(s.package, read_options(s.key));
  ASSERT_TRUE(pkg) << pkg.error().message;
  EXPECT_EQ(pkg->manifest(), s.written);
  EXPECT_EQ(pkg->signer(), s.key.secret.key_id());
  EXPECT_EQ(pkg->manifest().key_id, s.key.secret.key_id());
  EXPECT_EQ(pkg->manifest().objects[0].sha256, sha256_hex(R"({"spec":{"rows":1}})"));
  EXPECT_EQ(pkg->object_json(kGuidB).value(), R"({"spec":{"rows":2}})");
  EXPECT_FALSE(pkg->object_json("8b9619ff-8b86-d011-b42d-00cf4fc964ff"));

  auto out = s.dir.path() / "out.bin";
  UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  ASSERT_TRUE(pkg->copy_attachment(sha256_hex(s.shared), fd.get()));
  fd = UniqueFd();
  EXPECT_EQ(slurp(out), s.shared);
  auto copy = s.dir.path() / "copy.txt";
  ASSERT_TRUE(pkg->copy_attachment(sha256_hex(s.text), copy));
  EXPECT_EQ(slurp(copy), s.text);
  EXPECT_FALSE(pkg->copy_attachment(sha256_hex(s.text), copy));  // never overwrites
  EXPECT_EQ(slurp(copy), s.text);
  EXPECT_TRUE(pkg->has_attachment(sha256_hex(s.text)));
  EXPECT_FALSE(pkg->has_attachment(sha256_hex("nope")));
}

TEST(Package, IncompressibleEntriesAreStoredOthersDeflated) {
  Sample s;
  ASSERT_TRUE(s.write());
  EXPECT_EQ(method_of(s.package, attachment_entry_name(sha256_hex(s.shared))), ZIP_CM_STORE);
  EXPECT_EQ(method_of(s.package, "signature.ed25519"), ZIP_CM_STORE);
  EXPECT_EQ(method_of(s.package, "manifest.json"), ZIP_CM_DEFLATE);
  // 200 000 'x' would compress ~1000:1: stored so the package stays far from max_ratio.
  EXPECT_EQ(method_of(s.package, attachment_entry_name(sha256_hex(s.text))), ZIP_CM_STORE);
}

TEST(Package, OtherZipToolsReadWhatTheWriterWrites) {
  Sample s;
  ASSERT_TRUE(s.write());
  auto cmd = "unzip -tqq '" + s.package.string() + "' > /dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(Package, WriterUsesNoFileNameButTheGivenOne) {
  Sample s;
  WriterOptions options;
  std::set<std::string> seen;
  options.progress = [&](uint64_t, uint64_t) {
    for (auto& e : fs::directory_iterator(s.dir.path())) seen.insert(e.path().filename().string());
  };
  ASSERT_TRUE(s.write(std::move(options)));
  EXPECT_EQ(seen, (std::set<std::string>{".nightly.zip.partial", "in"}));
}

TEST(Package, WriterReportsProgressUpToTheTotal) {
  Sample s;
  uint64_t last_done = 0, last_total = 0;
  WriterOptions options;
  options.progress = [&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
  };
  ASSERT_TRUE(s.write(std::move(options)));
  EXPECT_EQ(last_done, last_total);
  EXPECT_GT(last_total, s.shared.size() + s.text.size());
}

TEST(Package, CancelledWriteRemovesThePartialFile) {
  Sample s;
  std::stop_source stop;
  WriterOptions options;
  options.stop = stop.get_token();
  options.progress = [&](uint64_t done, uint64_t) {
    if (done > 1000) stop.request_stop();
  };
  auto st = s.write(std::move(options));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::cancelled) << st.error().message;
  EXPECT_FALSE(fs::exists(s.package));
}

TEST(Package, AbandonedWriterRemovesThePartialFile) {
  ferry::test::TempDir dir;
  auto path = dir.path() / ".p.zip.partial";
  {
    auto w = PackageWriter::create(path).value();
    ASSERT_TRUE(w.add_object(kGuidA, "{}"));
    EXPECT_TRUE(fs::exists(path));
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(Package, WriterNeverReplacesAnExistingFile) {
  ferry::test::TempDir dir;
  auto path = ferry::test::write_text(dir.path() / "p.zip", "keep");
  auto w = PackageWriter::create(path);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, Errc::io);
  EXPECT_EQ(slurp(path), "keep");
}

TEST(Package, WriterRefusesAManifestThatDoesNotMatchWhatWasAdded) {
  ferry::test::TempDir dir;
  KeyPair key;
  auto path = dir.path() / ".p.zip.partial";
  auto w = PackageWriter::create(path).value();
  ASSERT_TRUE(w.add_object(kGuidA, "{}"));
  auto m = base_manifest();
  m.objects = {object_entry(kGuidB)};
  m.order = {kGuidB};
  auto st = w.finish(m, key.secret);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("in the manifest but was not added"), std::string::npos) << st.error().message;
  EXPECT_FALSE(fs::exists(path));
}

TEST(Package, WriterChecksAnAttachmentAgainstItsExpectedHash) {
  ferry::test::TempDir dir;
  KeyPair key;
  auto file = ferry::test::write_text(dir.path() / "blob", "actual bytes");
  auto path = dir.path() / ".p.zip.partial";
  auto w = PackageWriter::create(path).value();
  auto added = w.add_attachment(file, sha256_hex("other bytes"));  // trusted for the name, checked while copying
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, Errc::corrupt);
  EXPECT_NE(added.error().message.find("content changed while the package was written"), std::string::npos)
      << added.error().message;
  auto st = w.finish(base_manifest(), key.secret);  // a writer that failed stays failed
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::corrupt);
  EXPECT_FALSE(fs::exists(path));
}

// How exports write: each object comes with its manifest record and is streamed
// into manifest.json as it is added. What the reader parses is what was given, in
// the order added, with the hashes the writer computed.
TEST(Package, StreamedObjectsParseBackAsTheManifestGiven) {
  ferry::test::TempDir dir;
  KeyPair key;
  auto path = dir.path() / ".s.zip.partial";
  auto big = csv_text(3u << 20);  // three deflate blocks
  auto w = PackageWriter::create(path).value();
  auto att = w.add_attachment(ferry::test::write_text(dir.path() / "in/big.csv", big));
  ASSERT_TRUE(att) << att.error().message;
  auto a = object_entry(kGuidA);
  a.refs = {{kGuidB, RefKind::contains, "workflow:/x/\"quoted\" n\u00e4me"}};
  auto b = object_entry(kGuidB);
  b.attachments = {{"big.csv", att->sha256, att->size}};
  ASSERT_TRUE(w.add_object(b, R"({"b":1})"));
  ASSERT_TRUE(w.add_object(a, R"({"a":1})"));
  auto m = base_manifest();
  m.deleted = {{"8b9619ff-8b86-d011-b42d-00cf4fc964ff", "dataset", "/old", "gone", 2}};
  m.required_secrets = {{kGuidA, "/password"}};
  auto written = w.finish(m, key.secret);
  ASSERT_TRUE(written) << written.error().message;

  b.sha256 = sha256_hex(R"({"b":1})");
  a.sha256 = sha256_hex(R"({"a":1})");
  m.objects = {b, a};
  m.order = {kGuidB, kGuidA};
  m.key_id = key.secret.key_id();
  m.entries = {{object_entry_name(kGuidA), {a.sha256, 7}},
               {object_entry_name(kGuidB), {b.sha256, 7}},
               {attachment_entry_name(att->sha256), *att}};
  auto pkg = open_package(path, read_options(key));
  ASSERT_TRUE(pkg) << pkg.error().message;
  EXPECT_EQ(pkg->manifest(), m);
  EXPECT_EQ(written->sha256, sha256_hex(slurp(path)));
  EXPECT_EQ(written->bytes, fs::file_size(path));
  EXPECT_EQ(written->entries, 5u);
  EXPECT_EQ(method_of(path, attachment_entry_name(att->sha256)), ZIP_CM_DEFLATE);
  auto copy = dir.path() / "big.copy";
  ASSERT_TRUE(pkg->copy_attachment(att->sha256, copy));
  EXPECT_EQ(slurp(copy), big);
  // One list element per line, so a manifest can be read (and diffed) line by line.
  const auto& text = pkg->manifest_bytes();
  EXPECT_NE(text.find("\n{\"attachments\":[{\"name\":\"big.csv\""), std::string::npos) << text;
  EXPECT_NE(text.find("\n\"" + std::string(kGuidA) + "\"\n]"), std::string::npos) << text;
  EXPECT_TRUE(text.ends_with("\"key_id\":\"" + key.secret.key_id() + "\"}\n")) << text;
  auto cmd = "unzip -tqq '" + path.string() + "' > /dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(Package, StreamedAndUnstreamedObjectsDoNotMix) {
  ferry::test::TempDir dir;
  KeyPair key;
  auto w = PackageWriter::create(dir.path() / ".p.zip.partial").value();
  ASSERT_TRUE(w.add_object(object_entry(kGuidA), "{}"));
  EXPECT_FALSE(w.add_object(kGuidB, "{}"));
  EXPECT_FALSE(w.add_object(object_entry(kGuidA), "{}"));  // twice
  auto m = base_manifest();
  m.order = {kGuidA};
  auto st = w.finish(m, key.secret);  // streamed objects make the order themselves
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("must not list objects or order"), std::string::npos) << st.error().message;
}

TEST(Package, CancelledWhileAnAttachmentStreamsRemovesThePartialFile) {
  ferry::test::TempDir dir;
  std::stop_source stop;
  WriterOptions options;
  options.stop = stop.get_token();
  options.progress = [&](uint64_t done, uint64_t) {
    if (done > (1u << 20)) stop.request_stop();
  };
  auto path = dir.path() / ".p.zip.partial";
  auto w = PackageWriter::create(path, std::move(options)).value();
  auto added = w.add_attachment(ferry::test::write_text(dir.path() / "in/big.csv", csv_text(40u << 20)));
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, Errc::cancelled) << added.error().message;
  w = PackageWriter::create(dir.path() / ".other.zip.partial").value();  // the first writer is gone
  EXPECT_FALSE(fs::exists(path));
}

TEST(Package, ManifestReadingNamesTheBadField) {
  auto m = base_manifest();
  m.objects = {object_entry(kGuidA)};
  m.objects[0].sha256 = sha256_hex("x");
  m.order = {kGuidA};
  m.entries[object_entry_name(kGuidA)] = {sha256_hex("x"), 1};
  auto j = to_json(m);
  ASSERT_TRUE(manifest_from_json(j)) << manifest_from_json(j).error().message;
  EXPECT_EQ(manifest_from_json(j).value(), m);

  auto expect_error = [&](auto change, const std::string& text) {
    auto bad = j;
    change(bad);
    auto r = manifest_from_json(bad);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, Errc::corrupt);
    EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
  };
  expect_error([](auto& b) { b.erase("package_id"); }, "package_id: missing");
  expect_error([](auto& b) { b["source"]["engine"] = 3; }, "source.engine: expected a string");
  expect_error(
      [](auto& b) {
        b["objects"][0]["refs"] = {{{"guid", kGuidA}, {"kind", "owns"}}};
      },
      "objects[0].refs[0].kind: expected \"uses\" or \"contains\"");
  expect_error([](auto& b) { b["objects"][0]["revision"] = "3"; }, "objects[0].revision: expected an integer");
  expect_error([](auto& b) { b["created_at"] = "yesterday"; }, "created_at: expected an RFC 3339 time");
  expect_error([](auto& b) { b["entries"]["../x"] = {{"sha256", sha256_hex("")}, {"size", 0}}; }, "entries[\"../x\"]");
  expect_error([](auto& b) { b["order"] = nlohmann::json::array(); },
               "order: object " + std::string(kGuidA) + " is missing");
  expect_error([](auto& b) { b["objects"][0]["sha256"] = sha256_hex("y"); },
               "objects[0].sha256: differs from its entry");
  expect_error(
      [](auto& b) {
        b["entries"]["attachments/" + sha256_hex("a")] = {{"sha256", sha256_hex("b")}, {"size", 1}};
      },
      "differs from the hash in the entry's name");
}

// open_package reads manifest.json with ManifestParse (objects and entries read while
// parsing, never one tree); it must accept and refuse exactly what manifest_from_json
// does, with the same message.
TEST(Package, StreamedManifestParseReadsLikeManifestFromJson) {
  auto m = base_manifest();
  for (const char* g : {kGuidA, kGuidB}) {
    m.objects.push_back(object_entry(g));
    m.objects.back().sha256 = sha256_hex(g);
    m.order.push_back(g);
    m.entries[object_entry_name(g)] = {sha256_hex(g), 1};
  }
  m.objects[1].refs = {{kGuidA, RefKind::contains, "task:/a"}};
  m.entries["attachments/" + sha256_hex("a")] = {sha256_hex("a"), 1};
  const auto j = to_json(m);
  auto same = [](const nlohmann::json& doc, const std::string& what) {
    auto tree = manifest_from_json(doc);
    ManifestParse parse(doc.dump());
    EXPECT_FALSE(parse.rest().contains("objects") && !parse.rest()["objects"].empty()) << what;
    auto streamed = parse.manifest();
    ASSERT_EQ(static_cast<bool>(tree), static_cast<bool>(streamed)) << what;
    if (tree) {
      EXPECT_EQ(*streamed, *tree) << what;
    } else {
      EXPECT_EQ(streamed.error().message, tree.error().message) << what;
    }
  };
  same(j, "valid");
  EXPECT_EQ(ManifestParse(j.dump()).manifest().value(), m);
  auto variant = [&](const std::string& what, auto change) {
    auto bad = j;
    change(bad);
    same(bad, what);
  };
  variant("header and object wrong", [](auto& b) {
    b.erase("package_id");
    b["objects"][1]["revision"] = "3";
  });
  variant("second object wrong", [](auto& b) { b["objects"][1]["refs"][0]["kind"] = "owns"; });
  variant("both objects wrong", [](auto& b) {
    b["objects"][0]["type"] = 1;
    b["objects"][1]["name"] = 2;
  });
  variant("element not an object", [](auto& b) { b["objects"][1] = "x"; });
  variant("element an array", [](auto& b) { b["objects"][0] = nlohmann::json::array({1}); });
  variant("objects not an array", [](auto& b) { b["objects"] = {{"a", b["objects"][0]}}; });
  variant("objects missing", [](auto& b) { b.erase("objects"); });
  variant("object and entry wrong", [](auto& b) {
    b["objects"][0]["guid"] = "nope";
    b["entries"]["../x"] = 1;
  });
  variant("two entries wrong", [](auto& b) {
    b["entries"]["attachments/" + sha256_hex("a")]["size"] = -1;
    b["entries"]["objects/x.json"] = {{"sha256", sha256_hex("")}, {"size", 0}};
  });
  variant("entry not an object", [](auto& b) { b["entries"][object_entry_name(kGuidA)] = 5; });
  variant("entries an array", [](auto& b) { b["entries"] = nlohmann::json::array({1, 2}); });
  variant("entry missing for an object", [](auto& b) { b["entries"].erase(object_entry_name(kGuidB)); });
  variant("deleted wrong after objects", [](auto& b) { b["deleted"] = {{{"guid", 1}}}; });
  variant("export holds objects and entries keys", [](auto& b) {
    b["export"] = {{"objects", {1, 2}}, {"entries", {{"x", 1}}}};
  });
  EXPECT_THROW(ManifestParse("{\"objects\": [1,"), nlohmann::json::exception);
}

}  // namespace
}  // namespace ferry::package
