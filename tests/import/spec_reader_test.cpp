// SpecReader: specs read on worker threads come back in the order asked, across many
// batches, each with its own result.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "import/import_fixture.h"
#include "import/import_impl.h"

namespace ferry::importer {
namespace {

using namespace ferry::importer::test;
using ::testing::HasSubstr;

class SpecReaderTest : public ImportTest {};

// More objects than the reader keeps in flight (batches of 64, 8 ahead), so workers
// are refilled many times; one document in the middle names another object.
TEST_F(SpecReaderTest, SpecsComeBackInOrderWithEachOnesOwnResult) {
  constexpr int kObjects = 1500;
  constexpr int kBroken = 700;
  PackageSpec s;
  for (int n = 1; n <= kObjects; ++n) s.add(n, "dataset", "/f", "d" + std::to_string(n), {{"n", n}});
  s.documents[guid(kBroken)] =
      json{{"guid", guid(kBroken)}, {"type", "dataset"}, {"name", "other"}, {"folder", "/f"}, {"spec", json::object()}}
          .dump();
  auto pkg = open(s);
  std::vector<detail::SpecReader::Job> jobs;
  for (const auto& e : pkg.manifest().objects) jobs.push_back({.entry = &e});
  detail::SpecReader reader(pkg, std::move(jobs));
  for (int n = 1; n <= kObjects; ++n) {
    auto spec = reader.next();
    if (n == kBroken) {
      ASSERT_FALSE(spec);
      EXPECT_EQ(spec.error().code, Errc::corrupt);
      EXPECT_THAT(spec.error().message, HasSubstr(package::object_entry_name(guid(kBroken))));
      continue;
    }
    ASSERT_TRUE(spec) << n << ": " << spec.error().message;
    EXPECT_EQ(spec->tree, (json{{"n", n}})) << n;
    EXPECT_TRUE(spec->text.empty()) << "no text without values";
  }
}

// With an item's values the worker sets them and makes the text; a job that asks for
// the text only gets no tree.
TEST_F(SpecReaderTest, ValuesAreSetAndTheTextMadeOnTheWorker) {
  PackageSpec s;
  s.add(1, "dataset", "/f", "a", {{"host", "dev"}, {"port", 1}});
  s.add(2, "dataset", "/f", "b", {{"host", "dev"}});
  auto pkg = open(s);
  PlanItem with_values;
  with_values.fills.push_back({"/password", "s3cret"});
  with_values.overrides.push_back({"/host", "prod", TargetKind::address, "overrides.yaml:3:5"});
  const auto& objects = pkg.manifest().objects;
  detail::SpecReader reader(pkg, {{&objects[0], &with_values, false}, {&objects[1], &with_values, true}});
  auto first = reader.next();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->tree.is_null());
  EXPECT_EQ(first->text, R"({"host":"prod","password":"s3cret","port":1})");
  auto second = reader.next();
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->tree, json::parse(second->text));
  EXPECT_EQ(second->tree["host"], "prod");
  EXPECT_FALSE(reader.next()) << "no more jobs";
}

}  // namespace
}  // namespace ferry::importer
