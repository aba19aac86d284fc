#include "yamlread/yamlread.h"

#include <gtest/gtest.h>

namespace ferry::yamlread {
namespace {

struct Sample {
  std::string id = "none";
  int64_t count = 7;
  std::chrono::seconds every{0};
};

void read_sample(Document& doc, Sample& out) {
  read_map<Sample>(doc, doc.root(), "sample",
                   {
                       {"id", [](Document& d, const Node& n, Sample& s) {
                          if (auto v = as_name(d, n)) s.id = *v;
                        }, Need::required},
                       {"count", [](Document& d, const Node& n, Sample& s) {
                          if (auto v = as_int(d, n, 0, 10)) s.count = *v;
                        }},
                       {"every", [](Document& d, const Node& n, Sample& s) {
                          if (auto v = as_duration(d, n)) s.every = *v;
                        }},
                   },
                   out);
}

TEST(YamlRead, ReadsKnownKeysAndKeepsDefaults) {
  Document doc("x.yaml", "id: a\nevery: 1h30m\n");
  Sample s;
  read_sample(doc, s);
  EXPECT_TRUE(doc.ok());
  EXPECT_EQ(s.id, "a");
  EXPECT_EQ(s.count, 7);
  EXPECT_EQ(s.every, std::chrono::seconds(5400));
}

TEST(YamlRead, ReportsEveryErrorWithPosition) {
  Document doc("x.yaml", "count: 11\nbogus: 1\nevery: soon\n");
  Sample s;
  read_sample(doc, s);
  ASSERT_EQ(doc.errors().size(), 4u);
  EXPECT_EQ(doc.errors()[0], "x.yaml:1:8: count: expected a number from 0 to 10; got 11");
  EXPECT_EQ(doc.errors()[1], "x.yaml:2:1: unknown key 'bogus' in sample; expected one of: id, count, every");
  EXPECT_EQ(doc.errors()[2],
            "x.yaml:3:8: every: expected a duration such as 30s, 5m, 4h, 30d or 1h30m; got 'soon'");
  EXPECT_EQ(doc.errors()[3], "x.yaml:1:1: missing required key 'id' in sample");
}

TEST(YamlRead, SyntaxErrorHasPosition) {
  Document doc("bad.yaml", "a: [1, 2\n");
  ASSERT_FALSE(doc.ok());
  EXPECT_TRUE(doc.errors()[0].starts_with("bad.yaml:2:1: ")) << doc.errors()[0];
}

TEST(YamlRead, DuplicateKeyIsAnError) {
  Document doc("x.yaml", "id: a\nid: b\n");
  Sample s;
  read_sample(doc, s);
  ASSERT_EQ(doc.errors().size(), 1u);
  EXPECT_EQ(doc.errors()[0], "x.yaml:2:1: duplicate key 'id' in sample");
}

TEST(YamlRead, SizesAndDurations) {
  EXPECT_EQ(parse_size("64GiB"), uint64_t{64} << 30);
  EXPECT_EQ(parse_size("200"), 200u);
  EXPECT_FALSE(parse_size("64GB"));
  EXPECT_EQ(parse_duration("0s"), std::chrono::seconds(0));
  EXPECT_EQ(parse_duration("30d"), std::chrono::seconds(30 * 86400));
  EXPECT_FALSE(parse_duration("5"));
  EXPECT_FALSE(parse_duration("m"));
}

TEST(YamlRead, JsonConversionKeepsQuotedStrings) {
  Document doc("x.yaml", "{a: 5432, b: '5432', c: true, d: ~, e: [1.5, x]}");
  auto j = to_json(doc.root());
  EXPECT_EQ(j["a"], 5432);
  EXPECT_EQ(j["b"], "5432");
  EXPECT_EQ(j["c"], true);
  EXPECT_TRUE(j["d"].is_null());
  EXPECT_EQ(j["e"][0], 1.5);
  EXPECT_EQ(j["e"][1], "x");
}

TEST(YamlRead, TimeZoneMustExist) {
  Document doc("x.yaml", "tz: Mars/Olympus\n");
  EXPECT_FALSE(as_timezone(doc, doc.root()["tz"]));
  EXPECT_EQ(doc.errors()[0],
            "x.yaml:1:5: unknown time zone 'Mars/Olympus'; expected a name from the tz database such as "
            "Europe/Berlin or UTC");
  Document ok("x.yaml", "tz: Europe/Berlin\n");
  EXPECT_TRUE(as_timezone(ok, ok.root()["tz"]));
}

}  // namespace
}  // namespace ferry::yamlread
