// Helpers for import tests: real signed packages written with lib/package's writer
// from plain objects (the documents exactly as docs/export.md specifies them), and a
// real destination catalog in a temporary folder.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "import/import.h"
#include "support/fake_clock.h"
#include "support/guids.h"
#include "support/temp_dir.h"
#include "util/fd.h"
#include "util/sha256.h"
#include "util/time.h"

namespace ferry::importer::test {

namespace fs = std::filesystem;
using json = nlohmann::json;

using ferry::test::guid;

inline types::TypeRegistry registry() {
  std::vector<types::TypeDef> defs;
  auto add = [&](std::string name) -> types::TypeDef& {
    defs.emplace_back().name = std::move(name);
    return defs.back();
  };
  add("datasource").global = true;
  defs.back().unique_name = types::NameScope::type;
  defs.back().secret_fields = {"/password"};
  add("dataset");
  add("task").secret_fields = {"/token"};
  add("table");
  add("field");
  add("report").importable = false;
  add("calendar").max_objects = 1;
  return types::TypeRegistry(std::move(defs));
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A package under construction: objects in deployment order, deletions, required
/// secrets and attachment bytes. Objects get GUIDs by number.
struct PackageSpec {
  std::string package_id = "0b0e1a2c-5d7f-4c1e-9f3a-2a6b8e1c4d5f";
  std::vector<package::ObjectEntry> objects;  ///< in `order`
  std::map<std::string, json> specs;          ///< by GUID, secrets already removed
  std::vector<package::Tombstone> deleted;
  std::vector<package::RequiredSecret> required;
  std::map<std::string, std::string> blobs;      ///< sha256 -> bytes
  std::map<std::string, std::string> documents;  ///< by GUID: written instead of document(e) (a broken one)
  bool include_data = true;

  package::ObjectEntry& add(int n, std::string type, std::string folder, std::string name, json spec = json::object()) {
    package::ObjectEntry& e = objects.emplace_back();
    e.guid = guid(n);
    e.type = std::move(type);
    e.folder = std::move(folder);
    e.name = std::move(name);
    e.revision = n;
    specs[e.guid] = std::move(spec);
    return e;
  }
  package::ObjectEntry& at(int n) {
    for (auto& e : objects)
      if (e.guid == guid(n)) return e;
    throw std::out_of_range("no object " + std::to_string(n));
  }
  void uses(int from, int to, std::string address = "") {
    at(from).refs.push_back({guid(to), package::RefKind::uses, std::move(address)});
  }
  void contains(int from, int to) { at(from).refs.push_back({guid(to), package::RefKind::contains, ""}); }
  void attach(int n, std::string name, const std::string& bytes) {
    auto sha = sha256_hex(bytes);
    blobs[sha] = bytes;
    at(n).attachments.push_back({std::move(name), sha, bytes.size()});
  }
  void secret(int n, std::string pointer) { required.push_back({guid(n), std::move(pointer)}); }
  void remove(int n, std::string type, std::string folder, std::string name) {
    deleted.push_back({guid(n), std::move(type), std::move(folder), std::move(name), 100 + n});
  }

  /// The objects/<guid>.json document as docs/export.md specifies it.
  std::string document(const package::ObjectEntry& e) const {
    json refs = json::array();
    for (const auto& r : e.refs) refs.push_back({{"guid", r.guid}, {"kind", package::to_string(r.kind)}});
    json attachments = json::array();
    for (const auto& a : e.attachments)
      attachments.push_back({{"name", a.name}, {"sha256", a.sha256}, {"size", a.size}});
    json doc = {{"guid", e.guid},         {"type", e.type},           {"name", e.name}, {"folder", e.folder},
                {"revision", e.revision}, {"spec", specs.at(e.guid)}, {"refs", refs},   {"attachments", attachments}};
    return doc.dump() + "\n";
  }

  void write(const fs::path& path, const signing::SecretKey& key) const {
    auto writer = package::PackageWriter::create(path);
    ASSERT_TRUE(writer) << writer.error().message;
    package::Manifest m;
    m.package_id = package_id;
    m.name = "test-full-1";
    m.description = "import test";
    m.created_at = parse_rfc3339("2026-11-24T06:12:57Z").value();
    m.source = {"test", "single", "0.1.0"};
    m.export_settings = {{"mode", "full"}, {"include_data", include_data}};
    for (const auto& e : objects) {
      auto own = documents.find(e.guid);
      ASSERT_TRUE(writer->add_object(e.guid, own == documents.end() ? document(e) : own->second));
      m.objects.push_back(e);
      m.order.push_back(e.guid);
    }
    if (include_data) {
      for (const auto& [sha, bytes] : blobs) {
        auto file = path.parent_path() / ("blob-" + sha);
        std::ofstream(file, std::ios::binary) << bytes;
        auto added = writer->add_attachment(file, sha);
        ASSERT_TRUE(added) << added.error().message;
      }
    }
    m.deleted = deleted;
    m.required_secrets = required;
    auto written = writer->finish(std::move(m), key);
    ASSERT_TRUE(written) << written.error().message;
  }
};

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    trust_.add(key_.public_key(), std::nullopt, "test.pub");
    auto opened = catalog::Catalog::open(dir_.path() / "dest", types_, clock_);
    ASSERT_TRUE(opened) << opened.error().message;
    catalog_ = std::move(*opened);
  }

  /// Writes the package and opens it verified.
  package::VerifiedPackage open(const PackageSpec& spec, std::string file = "pkg.zip") {
    auto path = dir_.path() / "in" / file;
    fs::create_directories(path.parent_path());
    fs::remove(path);
    spec.write(path, key_);
    package::ReadOptions options;
    options.trust = &trust_;
    options.expected_engine = "single";
    auto pkg = package::open_package(path, options);
    EXPECT_TRUE(pkg) << pkg.error().message;
    return std::move(*pkg);
  }

  Plan plan_ok(const package::VerifiedPackage& pkg, const Policy& policy = {}, const Secrets& secrets = {}) {
    auto p = importer::plan(pkg, *catalog_, types_, secrets, policy);
    EXPECT_TRUE(p) << p.error().message;
    return p ? *p : Plan{};
  }

  DeployResult deploy_ok(const package::VerifiedPackage& pkg, const Plan& p, std::string import_id = "imp-1") {
    auto r = importer::deploy(pkg, p, *catalog_, import_id, "ferry");
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : DeployResult{};
  }

  /// Creates objects in the destination with the GUIDs given.
  void apply(std::vector<catalog::ObjectDraft> drafts) {
    auto r = catalog_->apply(drafts, "alice");
    ASSERT_TRUE(r) << r.error().message;
  }

  catalog::Attachment store(const std::string& bytes) {
    auto path = dir_.path() / "upload";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    auto stored = catalog_->store_blob(fd.get(), "upload");
    EXPECT_TRUE(stored) << stored.error().message;
    return stored ? *stored : catalog::Attachment{};
  }

  /// Everything a reader of the catalog can see, to compare states.
  std::string dump() {
    std::ostringstream out;
    out << "revision " << catalog_->revision().value() << "\n";
    auto objects = catalog_->list({}).value();
    for (const auto& o : objects) {
      out << o.guid << " " << o.address().to_string() << " r" << o.revision << " " << o.spec.dump();
      for (const auto& r : o.refs) out << " " << catalog::to_string(r.kind) << ":" << r.to_guid;
      for (const auto& a : o.attachments) out << " @" << a.name << "=" << a.sha256;
      out << "\n";
    }
    auto tombstones = catalog_->tombstones(0).value();
    for (const auto& t : tombstones) out << "tomb " << t.guid << " r" << t.revision << "\n";
    return out.str();
  }

  ferry::test::TempDir dir_;
  ferry::test::FakeClock clock_;
  types::TypeRegistry types_ = registry();
  signing::SecretKey key_ = signing::SecretKey::generate();
  signing::TrustStore trust_;
  std::unique_ptr<catalog::Catalog> catalog_;
};

inline catalog::ObjectDraft draft(int n, std::string type, std::string folder, std::string name,
                                  json spec = json::object()) {
  catalog::ObjectDraft d;
  d.guid = guid(n);
  d.type = std::move(type);
  d.folder = std::move(folder);
  d.name = std::move(name);
  d.spec = std::move(spec);
  return d;
}

/// The plan item for a source GUID number.
inline const PlanItem& item(const Plan& p, int n) {
  for (const auto& i : p.items)
    if (i.source_guid == guid(n)) return i;
  throw std::out_of_range("no plan item for " + guid(n));
}

}  // namespace ferry::importer::test
