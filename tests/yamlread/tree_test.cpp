// The Document's own tree, built from yaml-cpp's parser events: it must read every
// document the way YAML::Load's node graph did (the readers and to_json rely on it).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "yamlread/yamlread.h"

namespace ferry::yamlread {
namespace {

std::string at(const YAML::Mark& m) { return std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1); }

/// Walks both trees side by side and reports the first difference ("" when none).
std::string difference(const Node& ours, const YAML::Node& theirs, const std::string& where) {
  if (ours.Type() != theirs.Type()) return where + ": type " + std::to_string(ours.Type());
  if (ours.Tag() != theirs.Tag()) return where + ": tag '" + ours.Tag() + "' vs '" + theirs.Tag() + "'";
  if (at(ours.Mark()) != at(theirs.Mark())) return where + ": mark " + at(ours.Mark()) + " vs " + at(theirs.Mark());
  if (ours.Scalar() != theirs.Scalar()) return where + ": scalar '" + ours.Scalar() + "'";
  if (ours.size() != theirs.size()) return where + ": size " + std::to_string(ours.size());
  if (ours.IsSequence()) {
    for (size_t i = 0; i < ours.size(); ++i) {
      auto d = difference(ours[i], theirs[i], where + "[" + std::to_string(i) + "]");
      if (!d.empty()) return d;
    }
  }
  if (ours.IsMap()) {
    auto mine = ours.begin();
    for (auto it = theirs.begin(); it != theirs.end(); ++it, ++mine) {
      auto d = difference(mine->first, it->first, where + " key");
      if (d.empty()) d = difference(mine->second, it->second, where + "." + it->first.Scalar());
      if (!d.empty()) return d;
    }
  }
  return "";
}

TEST(YamlTree, SameTreeAsYamlLoad) {
  for (const char* text : {
           "a: 1\nb: [x, 'y', \"z\", ~, null, , {c: d}]\n",
           "jobs:\n  - name: a\n    schedule: {every: 1h}\n    deliver:\n      - dir: /o\n        on_exists: skip\n",
           "k:\n  - \n  -\n  - v\n? complex\n: value\n",
           "base: &b {x: 1, y: [2, 3]}\nuse: *b\nlist: [&s hi, *s]\n",
           "tagged: !!str 5\nlocal: !mine {a: b}\nblock: |\n  two\n  lines\nfolded: >-\n  one\n  line\n",
           "[a: 1, b: 2]",
           "plain scalar",
           "a: 1\na: 2\n",
           "{a: , b: null, c: '', d: \"\"}",
       }) {
    Document doc("x.yaml", text);
    ASSERT_TRUE(doc.ok()) << text;
    EXPECT_EQ(difference(doc.root(), YAML::Load(text), "root"), "") << text;
  }
}

TEST(YamlTree, AliasIsTheAnchoredNode) {
  Document doc("x.yaml", "base: &b {x: 1}\nuse: *b\nlist: [&s hi, *s]\n");
  const Node use = doc.root()["use"];
  ASSERT_TRUE(use.IsMap());
  EXPECT_EQ(use["x"].Scalar(), "1");
  // The alias is the anchored node, so it reports the anchor's position.
  EXPECT_EQ(at(use.Mark()), "1:7");
  EXPECT_EQ(where_of(doc, use["x"]), "x.yaml:1:14");
  const Node list = doc.root()["list"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].Scalar(), "hi");
  EXPECT_EQ(at(list[1].Mark()), "3:8");
  EXPECT_EQ(to_json(doc.root()), nlohmann::json::parse(R"({"base":{"x":1},"use":{"x":1},"list":["hi","hi"]})"));
}

TEST(YamlTree, DuplicateKeysAreKeptInOrder) {
  Document doc("x.yaml", "a: 1\nb: 2\na: 3\n");
  const Node root = doc.root();
  ASSERT_EQ(root.size(), 3u);
  std::vector<std::string> pairs;
  for (const auto& pair : root) pairs.push_back(pair.first.Scalar() + "=" + pair.second.Scalar());
  EXPECT_EQ(pairs, (std::vector<std::string>{"a=1", "b=2", "a=3"}));
  EXPECT_EQ(root["a"].Scalar(), "1");  // a lookup finds the first
}

TEST(YamlTree, NullForms) {
  Document doc("x.yaml", "a:\nb: ~\nc: null\nd: Null\ne: NULL\nf: '~'\ng: nothing\nh: [, ]\n");
  const Node root = doc.root();
  for (const char* key : {"a", "b", "c", "d", "e"}) {
    EXPECT_TRUE(root[key].IsDefined()) << key;
    EXPECT_TRUE(root[key].IsNull()) << key;
    EXPECT_EQ(root[key].Tag(), "") << key;
    EXPECT_EQ(root[key].Scalar(), "") << key;
  }
  EXPECT_TRUE(root["f"].IsScalar());
  EXPECT_EQ(root["f"].Scalar(), "~");
  EXPECT_TRUE(root["g"].IsScalar());
  // An empty flow item is a null item.
  ASSERT_EQ(root["h"].size(), 1u);
  EXPECT_TRUE(root["h"][0].IsNull());
  // An empty or comment-only text is a defined null root with no position.
  for (const char* text : {"", "# nothing\n", "---\n"}) {
    Document empty("x.yaml", text);
    EXPECT_TRUE(empty.ok()) << text;
    EXPECT_TRUE(empty.root().IsDefined()) << text;
    EXPECT_TRUE(empty.root().IsNull()) << text;
  }
  EXPECT_TRUE(Document("x.yaml", "").root().Mark().is_null());
}

TEST(YamlTree, QuotedScalarsStayStringsInJson) {
  Document doc("x.yaml", "{a: '1', b: 1, c: \"true\", d: true, e: 'null', f: null, g: '', h: 1.5, i: !!str 7}");
  const Node root = doc.root();
  EXPECT_EQ(root["a"].Tag(), "!");
  EXPECT_EQ(root["b"].Tag(), "?");
  EXPECT_EQ(root.Tag(), "?");
  auto j = to_json(root);
  EXPECT_EQ(j["a"], "1");
  EXPECT_EQ(j["b"], 1);
  EXPECT_EQ(j["c"], "true");
  EXPECT_EQ(j["d"], true);
  EXPECT_EQ(j["e"], "null");
  EXPECT_TRUE(j["f"].is_null());
  EXPECT_EQ(j["g"], "");
  EXPECT_EQ(j["h"], 1.5);
  EXPECT_EQ(j["i"], 7);  // an explicit tag is neither "!" nor "?": read as plain, as before
}

TEST(YamlTree, MarksOfNestedNodes) {
  Document doc("f.yaml", "jobs:\n  - name: x\n    deliver:\n      - dir: /a\n        on_exists: skip\n");
  const Node target = doc.root()["jobs"][0]["deliver"][0];
  EXPECT_EQ(at(target.Mark()), "4:9");
  EXPECT_EQ(where_of(doc, target["dir"]), "f.yaml:4:14");
  EXPECT_EQ(where_of(doc, target["on_exists"]), "f.yaml:5:20");
  EXPECT_EQ(where_of(doc, doc.root()["jobs"][0]["name"]), "f.yaml:2:11");
  // A key's own position, as read_map reports unknown keys.
  auto pair = target.begin();
  ++pair;
  EXPECT_EQ(at(pair->first.Mark()), "5:9");
}

TEST(YamlTree, SyntaxErrorIsReportedAsYamlCppReportsIt) {
  for (const char* text : {"a: [1, 2\n", "a: b: c\n", "a: *nowhere\n", "{a: 1\n", "a: 1\n b: 2\n"}) {
    Document doc("bad.yaml", text);
    ASSERT_EQ(doc.errors().size(), 1u) << text;
    std::string expected;
    try {
      (void)YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      expected = "bad.yaml:" + at(e.mark) + ": " + e.msg;
    }
    ASSERT_FALSE(expected.empty()) << text;
    EXPECT_EQ(doc.errors()[0], expected);
    EXPECT_TRUE(doc.root().IsNull()) << text;
  }
  EXPECT_EQ(Document("bad.yaml", "a: b: c\n").errors()[0], "bad.yaml:1:5: illegal map value");
}

TEST(YamlTree, OnlyTheFirstDocumentIsRead) {
  Document doc("x.yaml", "a: 1\n---\nb: 2\n");
  EXPECT_TRUE(doc.ok());
  EXPECT_EQ(doc.root()["a"].Scalar(), "1");
  EXPECT_FALSE(doc.root()["b"]);
}

TEST(YamlTree, LookupsThatFindNothingAreUndefined) {
  Document doc("x.yaml", "a: {b: c}\nlist: [x]\ns: text\n");
  const Node root = doc.root();
  for (const Node& missing : {root["zzz"], root["a"]["zzz"], root["list"][1], root["list"]["x"], root["s"]["x"],
                              root["a"][0], root["zzz"]["deeper"], root["zzz"][0]}) {
    EXPECT_FALSE(missing.IsDefined());
    EXPECT_FALSE(missing);
    EXPECT_EQ(missing.Type(), YAML::NodeType::Undefined);
    EXPECT_FALSE(missing.IsNull());
    EXPECT_FALSE(missing.IsScalar());
    EXPECT_FALSE(missing.IsMap());
    EXPECT_EQ(missing.size(), 0u);
    EXPECT_EQ(missing.Scalar(), "");
    EXPECT_TRUE(missing.Mark().is_null());
    EXPECT_TRUE(missing.begin() == missing.end());
    EXPECT_EQ(describe(missing), "nothing");
  }
  EXPECT_TRUE(root["a"]["b"]);
  EXPECT_TRUE(Node().IsDefined() == false);
}

struct Target {
  std::string dir;
};
struct Outer {
  std::vector<Target> targets;
};

TEST(YamlTree, ErrorPathsNameKeysAndItems) {
  Document doc("x.yaml", "targets:\n  - dir: /a\n  - dir: [x]\n  - {include_upstream_extra_long_key: 1}\n");
  Outer out;
  auto read_target = [](Document& d, const Node& n, Target& t) {
    read_map<Target>(d, n, "target", {field("dir", &Target::dir, as_name, Need::required)}, t);
  };
  read_map<Outer>(doc, doc.root(), "outer",
                  {nested("targets", &Outer::targets,
                          [&](Document& d, const Node& n, std::vector<Target>& targets) {
                            read_list<Target>(d, n, read_target, targets);
                          })},
                  out);
  ASSERT_EQ(doc.errors().size(), 3u);
  EXPECT_EQ(doc.errors()[0], "x.yaml:3:10: targets[1].dir: expected a string, got a list");
  EXPECT_EQ(doc.errors()[1],
            "x.yaml:4:6: targets[2]: unknown key 'include_upstream_extra_long_key' in target; expected one of: dir");
  EXPECT_EQ(doc.errors()[2], "x.yaml:4:5: targets[2]: missing required key 'dir' in target");
  // Segments pushed by callers as text still join the same way.
  doc.push("a");
  doc.push_key("b");
  doc.push("[3]");
  doc.push_index(4);
  EXPECT_EQ(doc.path(), "a.b[3][4]");
}

}  // namespace
}  // namespace ferry::yamlread
