// The catalog tests' shared fixture: a catalog in a temporary folder with a fake
// clock and a small type registry, and helpers to build drafts and compare states.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "catalog/catalog.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"
#include "util/fd.h"

namespace ferry::catalog {

inline types::TypeDef type_def(std::string name, types::NameScope scope = types::NameScope::folder,
                               std::optional<uint64_t> max_objects = std::nullopt) {
  types::TypeDef d;
  d.name = std::move(name);
  d.unique_name = scope;
  d.max_objects = max_objects;
  return d;
}

inline types::TypeRegistry test_types() {
  return types::TypeRegistry({type_def("datasource", types::NameScope::type), type_def("dataset"), type_def("task"),
                              type_def("field"), type_def("calendar", types::NameScope::folder, 2)});
}

inline ObjectDraft draft(std::string type, std::string folder, std::string name,
                         nlohmann::json spec = nlohmann::json::object()) {
  ObjectDraft d;
  d.type = std::move(type);
  d.folder = std::move(folder);
  d.name = std::move(name);
  d.spec = std::move(spec);
  return d;
}

inline ObjectDraft with_ref(ObjectDraft d, std::string to, RefKind kind = RefKind::uses, std::string where = "") {
  d.refs.push_back({std::move(to), kind, std::move(where)});
  return d;
}

inline ObjectDraft at(ObjectDraft d, std::string where) {
  d.where = std::move(where);
  return d;
}

/// Every field of an object as one line, to compare objects exactly.
inline std::string line(const Object& o) {
  std::ostringstream out;
  out << o.guid << " " << o.address().to_string() << " r" << o.revision << " " << o.owner << " "
      << o.created_at.time_since_epoch().count() << " " << o.updated_at.time_since_epoch().count() << " "
      << o.spec.dump();
  for (const auto& r : o.refs) out << " " << to_string(r.kind) << ":" << r.to_guid;
  for (const auto& a : o.attachments) out << " @" << a.name << "=" << a.sha256 << ":" << a.size;
  return out.str();
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    catalog_.reset();
    auto opened = Catalog::open(dir_.path(), types_, clock_);
    ASSERT_TRUE(opened) << opened.error().message;
    catalog_ = std::move(*opened);
  }

  ApplyResult apply_ok(const std::vector<ObjectDraft>& drafts, std::string_view owner = "alice") {
    auto result = catalog_->apply(drafts, owner);
    EXPECT_TRUE(result) << result.error().message;
    return result ? *result : ApplyResult{};
  }

  Error apply_error(const std::vector<ObjectDraft>& drafts) {
    auto result = catalog_->apply(drafts, "alice");
    EXPECT_FALSE(result);
    return result ? Error{} : result.error();
  }

  Object get_ok(std::string_view what) {
    auto o = catalog_->get(what);
    EXPECT_TRUE(o) << o.error().message;
    return o ? *o : Object{};
  }

  int64_t revision() { return catalog_->revision().value(); }

  Attachment store_text(const std::string& text, const std::string& name) {
    auto path = test::write_text(dir_.path() / "in" / name, text);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    auto stored = catalog_->store_blob(fd.get(), name);
    EXPECT_TRUE(stored) << stored.error().message;
    return stored ? *stored : Attachment{};
  }

  /// Everything a reader can see, as text, to compare states.
  std::string dump() {
    std::ostringstream out;
    out << "revision " << revision() << "\n";
    auto objects = catalog_->list({}).value();
    for (const auto& o : objects) out << line(o) << "\n";
    auto tombs = catalog_->tombstones(0).value();
    for (const auto& t : tombs) out << "tomb " << t.guid << " r" << t.revision << "\n";
    return out.str();
  }

  test::TempDir dir_;
  test::FakeClock clock_;
  types::TypeRegistry types_ = test_types();
  std::unique_ptr<Catalog> catalog_;
};

inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace ferry::catalog
