// Helpers for package tests: keys, sample packages written with PackageWriter, and a
// raw zip builder (libzip) for hand-made hostile packages. Nothing binary is committed:
// every hostile zip is built by the test that uses it.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zip.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "package/package.h"
#include "signing/signing.h"
#include "util/sha256.h"
#include "util/time.h"

namespace ferry::package::test {

inline constexpr const char* kGuidA = "6f9619ff-8b86-d011-b42d-00cf4fc964ff";
inline constexpr const char* kGuidB = "7a9619ff-8b86-d011-b42d-00cf4fc964ff";

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::filesystem::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
}

/// A signing key plus a trust store that trusts it for every environment.
struct KeyPair {
  signing::SecretKey secret = signing::SecretKey::generate();
  signing::TrustStore trust;
  KeyPair() { trust.add(secret.public_key(), std::nullopt, "test.pub"); }
};

inline ReadOptions read_options(const KeyPair& key, std::string engine = "single") {
  ReadOptions o;
  o.trust = &key.trust;
  o.expected_engine = std::move(engine);
  return o;
}

/// A manifest with the fixed fields set; objects and entries are up to the caller.
inline Manifest base_manifest() {
  Manifest m;
  m.package_id = "p-0001";
  m.name = "nightly";
  m.description = "test package";
  m.created_at = parse_rfc3339("2026-11-24T06:12:57Z").value();
  m.source = {"test", "single", "0.1.0"};
  m.export_settings = {{"mode", "full"}};
  return m;
}

inline ObjectEntry object_entry(const std::string& guid) {
  ObjectEntry o;
  o.guid = guid;
  o.type = "dataset";
  o.name = "orders-" + guid.substr(0, 4);
  o.folder = "/sales";
  o.revision = 3;
  return o;
}

/// One raw zip entry for hostile packages.
struct RawEntry {
  RawEntry(std::string n, std::string d, zip_int32_t m = ZIP_CM_STORE, std::optional<uint32_t> mode = std::nullopt)
      : name(std::move(n)), data(std::move(d)), method(m), unix_mode(mode) {}
  std::string name;
  std::string data;
  zip_int32_t method = ZIP_CM_STORE;
  std::optional<uint32_t> unix_mode;  ///< e.g. S_IFLNK | 0777
};

/// Writes entries as a zip with libzip, exactly as given.
inline void write_zip(const std::filesystem::path& path, const std::vector<RawEntry>& entries) {
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(za, nullptr) << err;
  for (const auto& e : entries) {
    zip_source_t* src = zip_source_buffer(za, e.data.data(), e.data.size(), 0);
    zip_int64_t idx = zip_file_add(za, e.name.c_str(), src, ZIP_FL_ENC_UTF_8);
    ASSERT_GE(idx, 0) << e.name << ": " << zip_strerror(za);
    ASSERT_EQ(zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), e.method, 0), 0);
    if (e.unix_mode) {
      ASSERT_EQ(
          zip_file_set_external_attributes(za, static_cast<zip_uint64_t>(idx), 0, ZIP_OPSYS_UNIX, *e.unix_mode << 16),
          0);
    }
  }
  ASSERT_EQ(zip_close(za), 0) << zip_strerror(za);
}

/// A package by hand: `listed` entries appear in the manifest (objects/ entries also
/// as objects), `extra` entries only in the zip. The manifest is signed with key
/// unless key is null. adjust may change the manifest before it is signed.
struct HandMade {
  explicit HandMade(std::vector<RawEntry> l = {}) : listed(std::move(l)) {}
  std::vector<RawEntry> listed;
  std::vector<RawEntry> extra;
  Manifest manifest = base_manifest();
  std::function<void(nlohmann::json&)> adjust_json;  ///< after to_json, before signing
  std::function<void(std::string&)> tamper;          ///< changes the manifest bytes after signing
};

inline void build(const std::filesystem::path& path, HandMade h, const signing::SecretKey* key) {
  for (const auto& e : h.listed) {
    h.manifest.entries[e.name] = {sha256_hex(e.data), e.data.size()};
    if (e.name.starts_with("objects/")) {
      auto o = object_entry(e.name.substr(8, 36));
      o.sha256 = sha256_hex(e.data);
      h.manifest.objects.push_back(o);
      h.manifest.order.push_back(o.guid);
    }
  }
  if (key) h.manifest.key_id = key->key_id();
  auto j = to_json(h.manifest);
  if (h.adjust_json) h.adjust_json(j);
  std::string text = j.dump(2) + "\n";
  std::vector<RawEntry> all = h.listed;
  all.insert(all.end(), h.extra.begin(), h.extra.end());
  auto signature = key ? key->sign(text) : std::string();
  if (h.tamper) h.tamper(text);
  all.emplace_back("manifest.json", text, ZIP_CM_DEFLATE);
  if (key) all.emplace_back("signature.ed25519", signature);
  write_zip(path, all);
}

/// Two valid object entries, the usual content of a hand-made package.
inline std::vector<RawEntry> two_objects() {
  return {{std::string("objects/") + kGuidA + ".json", R"({"spec":{"a":1}})"},
          {std::string("objects/") + kGuidB + ".json", R"({"spec":{"b":2}})"}};
}

}  // namespace ferry::package::test
