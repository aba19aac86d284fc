// read_manifest(): the manifest of a package without verifying it (for showing
// ferryd's own stored packages), still refusing what could hurt the reader.
#include <gtest/gtest.h>

#include <filesystem>

#include "package/package.h"
#include "package/package_fixture.h"
#include "support/temp_dir.h"

namespace ferry::package {
namespace {

namespace fs = std::filesystem;
using namespace ferry::package::test;

class ReadManifest : public ::testing::Test {
 protected:
  ferry::test::TempDir dir_;
  KeyPair key_;
  fs::path path_ = dir_.path() / "p.zip";

  void expect_refused(Errc code, const std::string& text) {
    auto m = read_manifest(path_);
    ASSERT_FALSE(m) << "read a package that should be refused: " << text;
    EXPECT_EQ(m.error().code, code) << m.error().message;
    EXPECT_TRUE(m.error().message.starts_with("package " + path_.string() + ": ")) << m.error().message;
    EXPECT_NE(m.error().message.find(text), std::string::npos) << m.error().message;
  }
};

TEST_F(ReadManifest, ReturnsWhatTheVerifyingReaderReturns) {
  build(path_, HandMade(two_objects()), &key_.secret);
  auto verified = open_package(path_, read_options(key_));
  ASSERT_TRUE(verified) << verified.error().message;
  auto m = read_manifest(path_);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(*m, verified->manifest());
  EXPECT_EQ(m->key_id, key_.secret.key_id());
}

TEST_F(ReadManifest, RoundTripsAPackageTheWriterWrote) {
  auto w = PackageWriter::create(path_);
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_TRUE(w->add_object(kGuidA, R"({"spec":{"rows":1}})"));
  auto m = base_manifest();
  m.objects = {object_entry(kGuidA)};
  m.order = {kGuidA};
  m.revisions = RevisionRange{4, 9};
  Manifest written;
  ASSERT_TRUE(w->finish(m, key_.secret, &written));
  auto back = read_manifest(path_);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, written);
}

// Not a verification: unsigned, untrusted, tampered manifests and entries whose
// bytes differ from their digests are all read.
TEST_F(ReadManifest, ChecksNoSignatureAndNoEntry) {
  build(path_, HandMade(two_objects()), nullptr);
  auto unsigned_manifest = read_manifest(path_);
  ASSERT_TRUE(unsigned_manifest) << unsigned_manifest.error().message;
  EXPECT_EQ(unsigned_manifest->objects.size(), 2u);

  fs::remove(path_);
  HandMade tampered(two_objects());
  tampered.tamper = [](std::string& text) { text.replace(text.find("nightly"), 7, "monthly"); };
  build(path_, std::move(tampered), &key_.secret);
  ASSERT_FALSE(open_package(path_, read_options(key_)));
  auto m = read_manifest(path_);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->name, "monthly");

  fs::remove(path_);
  HandMade wrong_digest(two_objects());
  std::string bogus(64, '0');
  wrong_digest.adjust_json = [&](nlohmann::json& j) {
    j["entries"][std::string("objects/") + kGuidA + ".json"]["sha256"] = bogus;
    j["objects"][0]["sha256"] = bogus;
  };
  build(path_, std::move(wrong_digest), &key_.secret);
  ASSERT_FALSE(open_package(path_, read_options(key_)));
  m = read_manifest(path_);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->objects[0].sha256, bogus);
}

TEST_F(ReadManifest, MissingFileIsNotFound) { expect_refused(Errc::not_found, "no such file"); }

TEST_F(ReadManifest, NotAZipIsCorrupt) {
  spit(path_, "not a zip at all");
  expect_refused(Errc::corrupt, "not a readable zip archive");
}

TEST_F(ReadManifest, NoManifestIsCorrupt) {
  write_zip(path_, two_objects());
  expect_refused(Errc::corrupt, "no manifest.json");
}

TEST_F(ReadManifest, UnsafeEntryNameIsRefused) {
  HandMade h(two_objects());
  h.extra.push_back({"../evil", "x"});
  build(path_, std::move(h), &key_.secret);
  expect_refused(Errc::corrupt, "entry \"../evil\"");
}

TEST_F(ReadManifest, ZipBombEntryIsRefused) {
  HandMade h(two_objects());
  std::string zeros(10 << 20, '\0');
  h.listed.push_back({"attachments/" + sha256_hex(zeros), zeros, ZIP_CM_DEFLATE});
  build(path_, std::move(h), &key_.secret);
  expect_refused(Errc::invalid_argument, "a possible zip bomb");
}

TEST_F(ReadManifest, ManifestOverTheLimitIsRefusedBeforeItIsRead) {
  // A stored 1 MiB manifest.json whose central directory claims 128 MiB + 1 byte
  // (a ratio the bomb check still lets through): refused on the declared size alone.
  auto entries = two_objects();
  entries.emplace_back("manifest.json", std::string(1 << 20, 'd'), ZIP_CM_STORE);
  write_zip(path_, entries);
  auto bytes = slurp(path_);
  auto central = bytes.rfind("manifest.json");
  ASSERT_NE(central, std::string::npos);
  uint32_t claimed = (uint32_t{128} << 20) + 1;
  for (int i = 0; i < 4; ++i) bytes[central - 46 + 24 + i] = static_cast<char>((claimed >> (8 * i)) & 0xff);
  spit(path_, bytes);
  expect_refused(Errc::invalid_argument, "manifest.json is 134217729 bytes, more than 134217728");
}

TEST_F(ReadManifest, InvalidJsonIsCorrupt) {
  HandMade h(two_objects());
  h.tamper = [](std::string& text) { text = "{\"format\": "; };
  build(path_, std::move(h), &key_.secret);
  expect_refused(Errc::corrupt, "manifest.json is not valid JSON");
}

TEST_F(ReadManifest, NewerFormatIsRefused) {
  HandMade h(two_objects());
  h.adjust_json = [](nlohmann::json& j) { j["format"] = "ferry-package/2"; };
  build(path_, std::move(h), &key_.secret);
  expect_refused(Errc::invalid_argument, "format ferry-package/2 is newer than this ferry reads");
}

TEST_F(ReadManifest, StrictParsingNamesTheBadField) {
  HandMade h(two_objects());
  h.adjust_json = [](nlohmann::json& j) { j["objects"][1]["refs"] = {{{"guid", kGuidA}, {"kind", "owns"}}}; };
  build(path_, std::move(h), &key_.secret);
  expect_refused(Errc::corrupt, "manifest: objects[1].refs[0].kind: expected \"uses\" or \"contains\"");
}

}  // namespace
}  // namespace ferry::package
