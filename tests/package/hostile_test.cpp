// One test per refusal of the package reader, each on a zip built here by hand.
#include "package/package.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "package/package_fixture.h"
#include "support/temp_dir.h"

namespace ferry::package {
namespace {

namespace fs = std::filesystem;
using namespace ferry::package::test;

class Hostile : public ::testing::Test {
 protected:
  ferry::test::TempDir dir_;
  KeyPair key_;
  fs::path path_ = dir_.path() / "p.zip";
  ReadOptions options_ = read_options(key_);

  // Opens path_ and expects a refusal with this code whose message contains text.
  void expect_refused(Errc code, const std::string& text) {
    auto pkg = open_package(path_, options_);
    ASSERT_FALSE(pkg) << "accepted a package that should be refused: " << text;
    EXPECT_EQ(pkg.error().code, code) << pkg.error().message;
    EXPECT_TRUE(pkg.error().message.starts_with("package " + path_.string() + ": ")) << pkg.error().message;
    EXPECT_NE(pkg.error().message.find(text), std::string::npos) << pkg.error().message;
  }
  void build_with(HandMade h) { build(path_, std::move(h), &key_.secret); }
};

TEST_F(Hostile, AHandMadeValidPackageIsAccepted) {
  build_with(HandMade(two_objects()));
  auto pkg = open_package(path_, options_);
  ASSERT_TRUE(pkg) << pkg.error().message;
  EXPECT_EQ(pkg->manifest().objects.size(), 2u);
}

TEST_F(Hostile, UnsignedIsRefusedUnlessAllowed) {
  build(path_, HandMade(two_objects()), nullptr);
  expect_refused(Errc::permission_denied, "unsigned (no signature.ed25519)");
  options_.unsigned_packages = UnsignedPolicy::allow;
  auto pkg = open_package(path_, options_);
  ASSERT_TRUE(pkg) << pkg.error().message;
  EXPECT_FALSE(pkg->signer());
}

TEST_F(Hostile, UntrustedKeyIsRefused) {
  signing::SecretKey stranger = signing::SecretKey::generate();
  build(path_, HandMade(two_objects()), &stranger);
  expect_refused(Errc::permission_denied, "signing key " + stranger.key_id() + " is not trusted");
}

TEST_F(Hostile, KeyBoundToAnotherEnvironmentIsRefused) {
  signing::TrustStore bound;
  bound.add(key_.secret.public_key(), "prod", "prod.pub");
  options_.trust = &bound;
  build_with(HandMade(two_objects()));  // source environment "test"
  expect_refused(Errc::permission_denied, "trusted only for environment prod");
}

TEST_F(Hostile, TamperedManifestIsRefused) {
  HandMade h(two_objects());
  h.tamper = [](std::string& text) { text.replace(text.find("nightly"), 7, "nightlY"); };
  build_with(std::move(h));
  expect_refused(Errc::corrupt, "the signature does not match manifest.json");
}

TEST_F(Hostile, TamperedEntryIsRefused) {
  HandMade h(two_objects());
  h.adjust_json = [](nlohmann::json& j) {
    // Sign a manifest that lists other bytes of the same size for object A.
    auto name = std::string("objects/") + kGuidA + ".json";
    auto other = sha256_hex(R"({"spec":{"a":9}})");
    j["entries"][name]["sha256"] = other;
    j["objects"][0]["sha256"] = other;
  };
  build_with(std::move(h));
  expect_refused(Errc::corrupt, std::string("entry objects/") + kGuidA + ".json: SHA-256 mismatch (manifest says " +
                                    sha256_hex(R"({"spec":{"a":9}})"));
}

// open_package hashes a large package on several threads, each a run of entries in
// name order: every run is checked, and the first bad entry in name order is named.
TEST_F(Hostile, TamperedEntriesAreFoundOnEveryHashingThreadFirstInNameOrder) {
  std::vector<RawEntry> six;
  auto name = [](int n) { return "objects/00000000-0000-4000-8000-00000000000" + std::to_string(n) + ".json"; };
  for (int n = 1; n <= 6; ++n) six.push_back({name(n), R"({"spec":{"n":)" + std::to_string(n) + "}}"});
  options_.hash_threads = 3;  // runs: entries 1-2, 3-4, 5-6
  auto tamper = [&](std::vector<int> bad) {
    HandMade h(six);
    h.adjust_json = [&, bad](nlohmann::json& j) {
      for (size_t k = 0; k < j["objects"].size(); ++k) {
        for (int n : bad) {
          if (j["objects"][k]["guid"] != name(n).substr(8, 36)) continue;
          j["entries"][name(n)]["sha256"] = j["objects"][k]["sha256"] = sha256_hex("other");
        }
      }
    };
    build_with(std::move(h));
  };
  build_with(HandMade(six));
  auto pkg = open_package(path_, options_);
  ASSERT_TRUE(pkg) << pkg.error().message;
  tamper({6});  // the last run's last entry
  expect_refused(Errc::corrupt, "entry " + name(6) + ": SHA-256 mismatch");
  tamper({6, 4});  // the second and third runs: the first in name order is named
  expect_refused(Errc::corrupt, "entry " + name(4) + ": SHA-256 mismatch");
  tamper({5, 1});
  expect_refused(Errc::corrupt, "entry " + name(1) + ": SHA-256 mismatch");
}

TEST_F(Hostile, MissingEntryIsRefused) {
  HandMade h(two_objects());
  h.adjust_json = [](nlohmann::json& j) {
    j["entries"]["attachments/" + sha256_hex("gone")] = {{"sha256", sha256_hex("gone")}, {"size", 4}};
  };
  build_with(std::move(h));
  expect_refused(Errc::corrupt, "entry attachments/" + sha256_hex("gone") + " is listed in the manifest but missing");
}

TEST_F(Hostile, ExtraEntryIsRefused) {
  HandMade h(two_objects());
  h.extra = {{"attachments/" + sha256_hex("late"), "late"}};
  build_with(std::move(h));
  expect_refused(Errc::corrupt, "entry attachments/" + sha256_hex("late") + " is not listed in the manifest");
}

TEST_F(Hostile, TruncatedZipIsRefused) {
  build_with(HandMade(two_objects()));
  auto bytes = slurp(path_);
  spit(path_, bytes.substr(0, bytes.size() / 2));
  expect_refused(Errc::corrupt, "not a readable zip archive");
}

TEST_F(Hostile, CorruptZipIsRefused) {
  spit(path_, "PK\x03\x04 this is not really a zip file at all, just bytes");
  expect_refused(Errc::corrupt, "not a readable zip archive");
}

TEST_F(Hostile, CorruptCompressedDataIsRefused) {
  HandMade h(two_objects());
  h.listed.push_back(
      {"attachments/" + sha256_hex(std::string(5000, 'q') + "z"), std::string(5000, 'q') + "z", ZIP_CM_DEFLATE});
  build_with(std::move(h));
  // Flip bytes inside the deflated stream of the attachment (after its local header).
  auto bytes = slurp(path_);
  auto at = bytes.find("attachments/") + 12 + 64 + 8;
  for (size_t i = 0; i < 8; ++i) bytes[at + i] = static_cast<char>(bytes[at + i] ^ 0x5a);
  spit(path_, bytes);
  expect_refused(Errc::corrupt, "damaged data (Zlib error");
}

TEST_F(Hostile, DotDotInANameIsRefused) {
  HandMade h(two_objects());
  h.extra = {{"objects/../../etc/cron.d/x", "boom"}};
  build_with(std::move(h));
  expect_refused(Errc::corrupt, "entry \"objects/../../etc/cron.d/x\": \"..\" in the path");
}

TEST_F(Hostile, AbsolutePathIsRefused) {
  HandMade h(two_objects());
  h.extra = {{"/etc/passwd", "root::0:0"}};
  build_with(std::move(h));
  expect_refused(Errc::corrupt, "entry \"/etc/passwd\": absolute path");
}

TEST_F(Hostile, BackslashInANameIsRefused) {
  HandMade h(two_objects());
  h.extra = {{"objects\\..\\evil.json", "{}"}};
  build_with(std::move(h));
  expect_refused(Errc::corrupt, "backslash in the name");
}

TEST_F(Hostile, SymlinkAttributeIsRefused) {
  HandMade h(two_objects());
  h.listed[1].unix_mode = S_IFLNK | 0777;
  build_with(std::move(h));
  expect_refused(Errc::corrupt, std::string("entry \"objects/") + kGuidB + ".json\": symbolic link");
}

TEST_F(Hostile, UnknownFolderIsRefused) {
  HandMade h(two_objects());
  h.extra = {{"scripts/", ""}};
  build_with(std::move(h));
  expect_refused(Errc::corrupt, "entry \"scripts/\": unexpected folder");
}

TEST_F(Hostile, DuplicateEntryNamesAreRefused) {
  // libzip will not write two entries with one name, so write A and a same-length
  // twin, then rename the twin to A in the raw bytes (local header and central directory).
  HandMade h(two_objects());
  std::string twin = std::string("objects/") + kGuidA + ".jsoN";
  h.extra = {{twin, "{}"}};
  build_with(std::move(h));
  auto bytes = slurp(path_);
  auto real = std::string("objects/") + kGuidA + ".json";
  int replaced = 0;
  for (auto at = bytes.find(twin); at != std::string::npos; at = bytes.find(twin, at)) {
    bytes.replace(at, twin.size(), real);
    ++replaced;
  }
  ASSERT_EQ(replaced, 2);
  spit(path_, bytes);
  expect_refused(Errc::corrupt, "duplicate entry name");
}

TEST_F(Hostile, MoreEntriesThanTheLimitAreRefused) {
  build_with(HandMade(two_objects()));
  options_.limits.max_entries = 3;  // the package has 4
  expect_refused(Errc::invalid_argument, "4 entries, more than limits.max_entries (3)");
}

TEST_F(Hostile, MoreExpandedBytesThanTheLimitAreRefused) {
  HandMade h(two_objects());
  std::string big(300000, 'b');
  h.listed.push_back({"attachments/" + sha256_hex(big), big, ZIP_CM_DEFLATE});
  build_with(std::move(h));
  options_.limits.max_expanded_bytes = 100000;
  expect_refused(Errc::invalid_argument, "expands to more than limits.max_expanded_bytes (100000 bytes)");
}

TEST_F(Hostile, HigherCompressionRatioThanTheLimitIsRefused) {
  HandMade h(two_objects());
  std::string zeros(10 << 20, '\0');  // deflates about 1000:1
  h.listed.push_back({"attachments/" + sha256_hex(zeros), zeros, ZIP_CM_DEFLATE});
  build_with(std::move(h));
  expect_refused(Errc::invalid_argument, "more than limits.max_ratio (200): a possible zip bomb");
}

TEST_F(Hostile, LyingSizeInTheCentralDirectoryIsCaughtWhileStreaming) {
  // Declares 100 bytes for content that inflates to 200 000: the reader must stop at 100.
  HandMade h(two_objects());
  std::string data(200000, 'L');
  auto name = "attachments/" + sha256_hex(data);
  h.listed.push_back({name, data, ZIP_CM_DEFLATE});
  h.adjust_json = [&](nlohmann::json& j) { j["entries"][name]["size"] = 100; };
  build_with(std::move(h));
  // Patch the uncompressed size (offset 24 in the central directory header, 22 in the
  // local header) to 100.
  auto bytes = slurp(path_);
  auto patch = [&](size_t name_at, size_t size_offset) {
    for (int i = 0; i < 4; ++i) bytes[name_at + size_offset + i] = static_cast<char>(i == 0 ? 100 : 0);
  };
  auto local = bytes.find(name);
  auto central = bytes.rfind(name);
  ASSERT_NE(central, std::string::npos);
  patch(local - 30, 22);
  patch(central - 46, 24);
  spit(path_, bytes);
  expect_refused(Errc::corrupt, name + ": expands beyond its declared size of 100 bytes");
}

TEST_F(Hostile, AnotherEngineIsRefused) {
  build_with(HandMade(two_objects()));
  options_.expected_engine = "cluster";
  expect_refused(Errc::invalid_argument,
                 "comes from engine \"single\" (environment test) but this environment's engine is \"cluster\"");
}

TEST_F(Hostile, NewerFormatVersionIsRefused) {
  HandMade h(two_objects());
  h.adjust_json = [](nlohmann::json& j) {
    j["format"] = "ferry-package/2";
    j.erase("objects");  // a newer format may look different: the version is checked first
  };
  build_with(std::move(h));
  expect_refused(Errc::invalid_argument, "format ferry-package/2 is newer than this ferry reads (ferry-package/1)");
}

TEST_F(Hostile, ManifestMissingAFieldIsRefusedNamingIt) {
  HandMade h(two_objects());
  h.adjust_json = [](nlohmann::json& j) { j["source"].erase("engine"); };
  build_with(std::move(h));
  expect_refused(Errc::corrupt, "manifest: source.engine: missing");
}

}  // namespace
}  // namespace ferry::package
