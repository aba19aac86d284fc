#include "types/types.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace ferry::types {
namespace {

std::string error_of(std::string_view text) {
  auto t = parse_types("t.yaml", text);
  if (t) return "(parsed)";
  EXPECT_EQ(t.error().code, Errc::invalid_argument);
  return t.error().message;
}

TypeRegistry parsed(std::string_view text) {
  auto t = parse_types("t.yaml", text);
  EXPECT_TRUE(t) << t.error().message;
  return t ? *t : TypeRegistry{};
}

TEST(Types, EveryDefault) {
  for (const char* text : {"types: {dataset: {}}\n", "types:\n  dataset:\n"}) {
    auto reg = parsed(text);
    ASSERT_EQ(reg.all().size(), 1u) << text;
    const TypeDef& d = reg.all()[0];
    EXPECT_EQ(d.name, "dataset");
    EXPECT_FALSE(d.global);
    EXPECT_EQ(d.unique_name, NameScope::folder);
    EXPECT_TRUE(d.secret_fields.empty());
    EXPECT_TRUE(d.exportable);
    EXPECT_TRUE(d.importable);
    EXPECT_FALSE(d.max_objects);
    EXPECT_FALSE(d.submit);
    EXPECT_EQ(d.submit_timeout, std::chrono::seconds(300));
  }
}

TEST(Types, ReadsEveryKeyInFileOrder) {
  auto reg = parsed(R"(types:
  zeta: {global: true, unique_name: type, secret_fields: [/password, /auth/token], exportable: false,
         importable: false, max_objects: 10, submit: "/bin/publish {guid}", submit_timeout: 30s}
  alpha: {secret_fields: /key}
)");
  EXPECT_EQ(reg.names(), "zeta, alpha");
  const TypeDef* z = reg.find("zeta");
  ASSERT_NE(z, nullptr);
  EXPECT_TRUE(z->global);
  EXPECT_EQ(z->unique_name, NameScope::type);
  EXPECT_EQ(z->secret_fields, (std::vector<std::string>{"/password", "/auth/token"}));
  EXPECT_FALSE(z->exportable);
  EXPECT_FALSE(z->importable);
  EXPECT_EQ(z->max_objects, 10u);
  EXPECT_EQ(z->submit, "/bin/publish {guid}");
  EXPECT_EQ(z->submit_timeout, std::chrono::seconds(30));
  EXPECT_EQ(reg.find("alpha")->secret_fields, std::vector<std::string>{"/key"});
  EXPECT_EQ(reg.find("beta"), nullptr);
}

TEST(Types, EmptyRegistries) {
  EXPECT_TRUE(parsed("types: {}\n").all().empty());
  EXPECT_TRUE(parsed("types:\n").all().empty());
}

TEST(TypesErrors, EmptyFileAndMissingTypes) {
  EXPECT_EQ(error_of(""), "t.yaml:1:1: missing required key 'types' in types file");
  EXPECT_EQ(error_of("# only a comment\n"), "t.yaml:1:1: missing required key 'types' in types file");
  EXPECT_EQ(error_of("type: {}\n"),
            "t.yaml:1:1: unknown key 'type' in types file; expected one of: types\n"
            "t.yaml:1:1: missing required key 'types' in types file");
  EXPECT_EQ(error_of("types: [dataset]\n"),
            "t.yaml:1:8: types: expected a mapping of type names to their settings, got a list");
}

TEST(TypesErrors, TypeNames) {
  EXPECT_EQ(
      error_of("types: {Dataset: {}, data-set: {}, 9x: {}, _x: {}}\n"),
      "t.yaml:1:9: types: type name 'Dataset' must be lower-case letters, digits and '_', starting with a letter\n"
      "t.yaml:1:22: types: type name 'data-set' must be lower-case letters, digits and '_', starting with a "
      "letter\n"
      "t.yaml:1:36: types: type name '9x' must be lower-case letters, digits and '_', starting with a letter\n"
      "t.yaml:1:44: types: type name '_x' must be lower-case letters, digits and '_', starting with a letter");
  EXPECT_EQ(error_of("types:\n  task: {}\n  task: {global: true}\n"),
            "t.yaml:3:3: types: type 'task' is defined twice");
}

TEST(TypesErrors, UnknownKey) {
  EXPECT_EQ(error_of("types:\n  dataset: {unique: folder}\n"),
            "t.yaml:2:13: types.dataset: unknown key 'unique' in type 'dataset'; expected one of: global, "
            "unique_name, secret_fields, exportable, importable, max_objects, submit, submit_timeout");
  EXPECT_EQ(error_of("types:\n  dataset: folder\n"),
            "t.yaml:2:12: types.dataset: expected a mapping (type 'dataset'), got a scalar");
}

TEST(TypesErrors, BadValues) {
  EXPECT_EQ(error_of(R"(types:
  t:
    global: yes
    unique_name: global
    exportable: 0
    importable: []
    max_objects: -1
    submit: ""
    submit_timeout: 0s
)"),
            "t.yaml:3:13: types.t.global: expected true or false; got 'yes'\n"
            "t.yaml:4:18: types.t.unique_name: expected one of folder, type; got 'global'\n"
            "t.yaml:5:17: types.t.exportable: expected true or false; got '0'\n"
            "t.yaml:6:17: types.t.importable: expected a string, got a list\n"
            "t.yaml:7:18: types.t.max_objects: expected a number from 0 to 9223372036854775807; got -1\n"
            "t.yaml:8:13: types.t.submit: expected a non-empty string\n"
            "t.yaml:9:21: types.t.submit_timeout: expected a duration greater than 0; got '0s'");
  EXPECT_EQ(error_of("types: {t: {submit_timeout: soon}}\n"),
            "t.yaml:1:29: types.t.submit_timeout: expected a duration such as 30s, 5m, 4h, 30d or 1h30m; got 'soon'");
}

TEST(TypesErrors, SecretFieldsMustBeJsonPointers) {
  EXPECT_EQ(error_of("types:\n  ds: {secret_fields: [/ok, password, '/a~2b', '']}\n"),
            "t.yaml:2:29: types.ds.secret_fields[1]: expected a JSON pointer into spec such as /password or "
            "/auth/token; got 'password'\n"
            "t.yaml:2:39: types.ds.secret_fields[2]: expected a JSON pointer into spec such as /password or "
            "/auth/token; got '/a~2b'\n"
            "t.yaml:2:48: types.ds.secret_fields[3]: expected a JSON pointer into spec such as /password or "
            "/auth/token; got ''");
  EXPECT_EQ(error_of("types:\n  ds: {secret_fields: password}\n"),
            "t.yaml:2:23: types.ds.secret_fields: expected a JSON pointer into spec such as /password or "
            "/auth/token; got 'password'");
  EXPECT_EQ(error_of("types:\n  ds: {secret_fields: {a: b}}\n"),
            "t.yaml:2:23: types.ds.secret_fields: expected a list of strings, got a mapping");
}

TEST(TypesLoad, MissingFileIsAnIoError) {
  test::TempDir dir;
  auto t = load_types(dir.path() / "types.yaml");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::io);
  EXPECT_EQ(t.error().message, (dir.path() / "types.yaml").string() + ": open: No such file or directory");
}

TEST(TypesLoad, ErrorsNameTheFile) {
  test::TempDir dir;
  auto path = test::write_text(dir.path() / "types.yaml", "types: {x: {global: maybe}}\n");
  auto t = load_types(path);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message, path.string() + ":1:21: types.x.global: expected true or false; got 'maybe'");
}

}  // namespace
}  // namespace ferry::types
