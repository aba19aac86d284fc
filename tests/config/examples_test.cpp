// The shipped examples (etc/) and the examples in docs/configuration.md must parse,
// so the documentation cannot drift from the parsers.
#include "config/config.h"

#include <gtest/gtest.h>

#include "objectfile/objectfile.h"
#include "types/types.h"
#include "util/fd.h"

namespace ferry::config {
namespace {

const Path kSource(FERRY_SOURCE_DIR);

TEST(ConfigExamples, EtcFerrydYamlParses) {
  auto c = load_config(kSource / "etc" / "ferryd.yaml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->environment.id, "prod");
  EXPECT_EQ(c->maintenance.windows.size(), 2u);
  EXPECT_EQ(c->signing.trusted.size(), 2u);
  ASSERT_EQ(c->watch.size(), 1u);
  EXPECT_EQ(c->watch[0].window, "nightly");
  EXPECT_TRUE(c->roles.configured);
  EXPECT_EQ(c->metrics.listen, "127.0.0.1:9464");
}

TEST(ConfigExamples, EtcTypesYamlParses) {
  auto t = types::load_types(kSource / "etc" / "types.yaml");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->names(), "datasource, dataset, task, workflow, workflow_step, adhoc_query");
  const types::TypeDef* ds = t->find("datasource");
  ASSERT_NE(ds, nullptr);
  EXPECT_TRUE(ds->global);
  EXPECT_EQ(ds->unique_name, types::NameScope::type);
  EXPECT_EQ(ds->secret_fields, std::vector<std::string>{"/password"});
  EXPECT_EQ(t->find("task")->unique_name, types::NameScope::folder);
  EXPECT_FALSE(t->find("adhoc_query")->exportable);
}

struct Block {
  std::string kind;  ///< "ferryd.yaml", "types.yaml", "objects.yaml" or "json"
  std::string text;
};

/// Fenced blocks of the doc whose first line is "# file: NAME", plus every json block.
std::vector<Block> doc_blocks(const std::string& doc) {
  std::vector<Block> out;
  size_t pos = 0;
  while ((pos = doc.find("\n```", pos)) != std::string::npos) {
    size_t info_end = doc.find('\n', pos + 4);
    std::string info = doc.substr(pos + 4, info_end - pos - 4);
    size_t close = doc.find("\n```", info_end);
    std::string body = doc.substr(info_end + 1, close - info_end);
    pos = close + 4;
    if (info == "json") out.push_back({"json", body});
    if (info != "yaml" || !body.starts_with("# file: ")) continue;
    out.push_back({body.substr(8, body.find_first_of(" \n", 8) - 8), body});
  }
  return out;
}

TEST(ConfigExamples, DocsExamplesParse) {
  auto doc = read_file(kSource / "docs" / "configuration.md");
  ASSERT_TRUE(doc) << doc.error().message;
  auto blocks = doc_blocks(*doc);
  std::map<std::string, int> seen;
  for (const auto& b : blocks) {
    ++seen[b.kind];
    if (b.kind == "ferryd.yaml") {
      auto c = parse_config("doc-ferryd.yaml", b.text);
      EXPECT_TRUE(c) << c.error().message;
    } else if (b.kind == "types.yaml") {
      auto t = types::parse_types("doc-types.yaml", b.text);
      EXPECT_TRUE(t) << t.error().message;
    } else {
      auto o = objectfile::parse_object_file("doc-objects." + b.kind, b.text);
      EXPECT_TRUE(o) << o.error().message;
    }
  }
  EXPECT_EQ(seen["ferryd.yaml"], 2);
  EXPECT_EQ(seen["types.yaml"], 1);
  EXPECT_EQ(seen["objects.yaml"], 1);
  EXPECT_EQ(seen["json"], 1);
}

}  // namespace
}  // namespace ferry::config
