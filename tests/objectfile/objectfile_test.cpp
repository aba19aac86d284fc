#include "objectfile/objectfile.h"

#include <gtest/gtest.h>

namespace ferry::objectfile {
namespace {

using catalog::RefKind;

std::vector<ParsedObject> parsed(std::string_view text, const std::string& file = "/home/op/apply.yaml") {
  auto r = parse_object_file(file, text);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : std::vector<ParsedObject>{};
}

std::string error_of(std::string_view text) {
  auto r = parse_object_file("o.yaml", text);
  if (r) return "(parsed)";
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  return r.error().message;
}

constexpr const char* kProductExample = R"(objects:
  - {type: datasource, name: warehouse, folder: /shared,
     spec: {host: db.internal, port: 5432, password: s3cret}}
  - type: dataset
    name: orders
    folder: /finance
    spec: {query: "select * from orders"}
    refs: [{to: "datasource:/shared/warehouse", kind: uses}]
    attachments: [{name: sample.csv, file: ./sample.csv}]
)";

TEST(ObjectFile, Defaults) {
  auto objs = parsed("objects: [{type: dataset, name: orders}]\n");
  ASSERT_EQ(objs.size(), 1u);
  const auto& d = objs[0].draft;
  EXPECT_FALSE(d.guid);
  EXPECT_EQ(d.type, "dataset");
  EXPECT_EQ(d.name, "orders");
  EXPECT_EQ(d.folder, "/");
  EXPECT_EQ(d.spec, nlohmann::json::object());
  EXPECT_TRUE(d.refs.empty());
  EXPECT_TRUE(d.attachments.empty());
  EXPECT_TRUE(objs[0].attachments.empty());
  EXPECT_EQ(d.where, "/home/op/apply.yaml:1:11");
}

TEST(ObjectFile, ProductExample) {
  auto objs = parsed(kProductExample);
  ASSERT_EQ(objs.size(), 2u);
  const auto& ds = objs[0].draft;
  EXPECT_EQ(ds.type, "datasource");
  EXPECT_EQ(ds.folder, "/shared");
  EXPECT_EQ(ds.spec, nlohmann::json::parse(R"({"host": "db.internal", "port": 5432, "password": "s3cret"})"));
  EXPECT_EQ(ds.where, "/home/op/apply.yaml:2:5");
  const auto& set = objs[1].draft;
  EXPECT_EQ(set.where, "/home/op/apply.yaml:4:5");
  EXPECT_EQ(set.spec["query"], "select * from orders");
  ASSERT_EQ(set.refs.size(), 1u);
  EXPECT_EQ(set.refs[0].to, "datasource:/shared/warehouse");
  EXPECT_EQ(set.refs[0].kind, RefKind::uses);
  EXPECT_EQ(set.refs[0].where, "/home/op/apply.yaml:8:12");
  ASSERT_EQ(objs[1].attachments.size(), 1u);
  const auto& a = objs[1].attachments[0];
  EXPECT_EQ(a.name, "sample.csv");
  EXPECT_EQ(a.file, "./sample.csv");
  EXPECT_EQ(a.resolved, "/home/op/sample.csv");
  EXPECT_EQ(a.where, "/home/op/apply.yaml:9:19");
}

TEST(ObjectFile, GuidsFoldersRefsAndAttachmentNames) {
  auto objs = parsed(R"(objects:
  - guid: 6F9619FF-8B86-D011-B42D-00CF4FC964FF
    type: workflow
    name: daily
    folder: etl//jobs/
    spec:
    refs:
      - {to: 0A9619FF-8B86-D011-B42D-00CF4FC964FF, kind: contains}
      - {to: "task:/etl//load"}
    attachments: [{file: sql/load.sql}, {file: /abs/x.jar, name: tool.jar}]
)",
                     "rel/apply.yaml");
  ASSERT_EQ(objs.size(), 1u);
  const auto& d = objs[0].draft;
  EXPECT_EQ(d.guid, "6f9619ff-8b86-d011-b42d-00cf4fc964ff");
  EXPECT_EQ(d.folder, "/etl/jobs");
  EXPECT_EQ(d.spec, nlohmann::json::object());
  ASSERT_EQ(d.refs.size(), 2u);
  EXPECT_EQ(d.refs[0].to, "0a9619ff-8b86-d011-b42d-00cf4fc964ff");
  EXPECT_EQ(d.refs[0].kind, RefKind::contains);
  EXPECT_EQ(d.refs[1].to, "task:/etl/load");
  EXPECT_EQ(d.refs[1].kind, RefKind::uses);
  ASSERT_EQ(objs[0].attachments.size(), 2u);
  EXPECT_EQ(objs[0].attachments[0].name, "load.sql");
  EXPECT_EQ(objs[0].attachments[0].file, "sql/load.sql");
  EXPECT_EQ(objs[0].attachments[0].resolved, "rel/sql/load.sql");
  EXPECT_EQ(objs[0].attachments[1].name, "tool.jar");
  EXPECT_EQ(objs[0].attachments[1].resolved, "/abs/x.jar");
}

TEST(ObjectFile, EmptyListIsFine) { EXPECT_TRUE(parsed("objects: []\n").empty()); }

TEST(ObjectFile, JsonParsesTheSame) {
  const char* json = R"({
	"objects": [
		{"type": "datasource", "name": "warehouse", "folder": "/shared",
		 "spec": {"host": "db.internal", "port": 5432, "password": "s3cret"}},
		{"type": "dataset", "name": "orders", "folder": "/finance",
		 "spec": {"query": "select * from orders"},
		 "refs": [{"to": "datasource:/shared/warehouse", "kind": "uses"}],
		 "attachments": [{"name": "sample.csv", "file": "./sample.csv"}]}
	]
})";
  auto from_yaml = parsed(kProductExample);
  auto from_json = parsed(json, "/home/op/apply.json");
  ASSERT_EQ(from_json.size(), from_yaml.size());
  for (size_t i = 0; i < from_yaml.size(); ++i) {
    const auto& y = from_yaml[i];
    const auto& j = from_json[i];
    EXPECT_EQ(j.draft.guid, y.draft.guid);
    EXPECT_EQ(j.draft.type, y.draft.type);
    EXPECT_EQ(j.draft.name, y.draft.name);
    EXPECT_EQ(j.draft.folder, y.draft.folder);
    EXPECT_EQ(j.draft.spec, y.draft.spec);
    ASSERT_EQ(j.draft.refs.size(), y.draft.refs.size());
    for (size_t r = 0; r < y.draft.refs.size(); ++r) {
      EXPECT_EQ(j.draft.refs[r].to, y.draft.refs[r].to);
      EXPECT_EQ(j.draft.refs[r].kind, y.draft.refs[r].kind);
    }
    ASSERT_EQ(j.attachments.size(), y.attachments.size());
    for (size_t a = 0; a < y.attachments.size(); ++a) {
      EXPECT_EQ(j.attachments[a].name, y.attachments[a].name);
      EXPECT_EQ(j.attachments[a].file, y.attachments[a].file);
      EXPECT_EQ(j.attachments[a].resolved, y.attachments[a].resolved);
    }
  }
  EXPECT_EQ(from_json[1].draft.where, "/home/op/apply.json:5:3");
}

TEST(ObjectFileErrors, MissingObjects) {
  EXPECT_EQ(error_of(""), "o.yaml:1:1: missing required key 'objects' in object file");
  EXPECT_EQ(error_of("# nothing\n"), "o.yaml:1:1: missing required key 'objects' in object file");
  EXPECT_EQ(error_of("object: []\n"),
            "o.yaml:1:1: unknown key 'object' in object file; expected one of: objects\n"
            "o.yaml:1:1: missing required key 'objects' in object file");
  EXPECT_EQ(error_of("objects: {type: x}\n"), "o.yaml:1:10: objects: expected a list, got a mapping");
  EXPECT_EQ(error_of("objects: [dataset]\n"), "o.yaml:1:11: objects[0]: expected a mapping (object), got a scalar");
}

TEST(ObjectFileErrors, RequiredKeys) {
  EXPECT_EQ(error_of("objects:\n  - {folder: /x}\n"),
            "o.yaml:2:5: objects[0]: missing required key 'type' in object\n"
            "o.yaml:2:5: objects[0]: missing required key 'name' in object");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, refs: [{kind: uses}], attachments: [{name: a}]}\n"),
            "o.yaml:2:31: objects[0].refs[0]: missing required key 'to' in ref\n"
            "o.yaml:2:60: objects[0].attachments[0]: missing required key 'file' in attachment");
}

TEST(ObjectFileErrors, UnknownKeysAndOwner) {
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, kind: x}\n"),
            "o.yaml:2:24: objects[0]: unknown key 'kind' in object; expected one of: guid, type, name, folder, spec, "
            "refs, attachments");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, owner: alice}\n"),
            "o.yaml:2:24: objects[0]: unknown key 'owner' in object: an object's owner is the user who applies the "
            "file");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, refs: [{to: 'a:/b', via: c}]}\n"),
            "o.yaml:2:44: objects[0].refs[0]: unknown key 'via' in ref; expected one of: to, kind");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, attachments: [{file: a, path: b}]}\n"),
            "o.yaml:2:48: objects[0].attachments[0]: unknown key 'path' in attachment; expected one of: name, file");
  EXPECT_EQ(error_of("objects: []\nowner: me\n"),
            "o.yaml:2:1: unknown key 'owner' in object file; expected one of: objects");
}

TEST(ObjectFileErrors, BadValues) {
  EXPECT_EQ(error_of("objects:\n  - {guid: 1234, type: t, name: n}\n"),
            "o.yaml:2:12: objects[0].guid: expected a GUID such as 6f9619ff-8b86-d011-b42d-00cf4fc964ff; got '1234'");
  EXPECT_EQ(error_of("objects:\n  - {type: '', name: n}\n"),
            "o.yaml:2:12: objects[0].type: expected a non-empty string");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: a/b}\n"),
            "o.yaml:2:21: objects[0].name: name 'a/b' must not contain '/'");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: ''}\n"), "o.yaml:2:21: objects[0].name: a name must not be empty");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, folder: /a/../b}\n"),
            "o.yaml:2:32: objects[0].folder: folder '/a/../b' contains '..'; folders are absolute paths like "
            "/finance/daily");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, spec: [1, 2]}\n"),
            "o.yaml:2:30: objects[0].spec: expected a mapping (spec), got a list");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, refs: {to: x}}\n"),
            "o.yaml:2:30: objects[0].refs: expected a list, got a mapping");
}

TEST(ObjectFileErrors, BadRefs) {
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, refs: [{to: warehouse, kind: needs}]}\n"),
            "o.yaml:2:36: objects[0].refs[0].to: 'warehouse' is not an object address (no type); expected "
            "TYPE:/FOLDER/NAME such as dataset:/finance/orders, or a GUID\n"
            "o.yaml:2:53: objects[0].refs[0].kind: expected one of uses, contains; got 'needs'");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, refs: [{to: 'dataset:/x/'}]}\n"),
            "o.yaml:2:36: objects[0].refs[0].to: 'dataset:/x/' is not an object address (no name); expected "
            "TYPE:/FOLDER/NAME such as dataset:/finance/orders, or a GUID");
}

TEST(ObjectFileErrors, Attachments) {
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, attachments: [{file: a/x.csv}, {file: b/x.csv}]}\n"),
            "o.yaml:2:55: objects[0].attachments[1]: duplicate attachment name 'x.csv'; attachments[0] of this "
            "object already uses it");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, attachments: [{file: a, name: s}, {file: b, name: s}]}\n"),
            "o.yaml:2:58: objects[0].attachments[1]: duplicate attachment name 's'; attachments[0] of this object "
            "already uses it");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, attachments: [{file: 'dir/'}]}\n"),
            "o.yaml:2:45: objects[0].attachments[0].file: cannot take an attachment name from 'dir/' (a name must "
            "not be empty); give the attachment a name");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, attachments: [{file: ''}]}\n"),
            "o.yaml:2:45: objects[0].attachments[0].file: expected a non-empty string");
  EXPECT_EQ(error_of("objects:\n  - {type: t, name: n, attachments: [{file: a, name: 'x/y'}]}\n"),
            "o.yaml:2:54: objects[0].attachments[0].name: name 'x/y' must not contain '/'");
}

TEST(ObjectFileErrors, EveryErrorIsReportedWithItsPosition) {
  EXPECT_EQ(error_of(R"(objects:
  - type: dataset
    name: orders
    guid: nope
  - type: task
    folder: /a/./b
  - {type: x, name: y, refs: [{to: 'x:/y', kind: owns}]}
)"),
            "o.yaml:4:11: objects[0].guid: expected a GUID such as 6f9619ff-8b86-d011-b42d-00cf4fc964ff; got 'nope'\n"
            "o.yaml:6:13: objects[1].folder: folder '/a/./b' contains '.'; folders are absolute paths like "
            "/finance/daily\n"
            "o.yaml:5:5: objects[1]: missing required key 'name' in object\n"
            "o.yaml:7:50: objects[2].refs[0].kind: expected one of uses, contains; got 'owns'");
}

TEST(ObjectFileErrors, JsonErrorsHavePositions) {
  EXPECT_EQ(error_of("{\"objects\": [{\"type\": \"t\", \"name\": \"n\", \"guid\": \"x\"}]}"),
            "o.yaml:1:49: objects[0].guid: expected a GUID such as 6f9619ff-8b86-d011-b42d-00cf4fc964ff; got 'x'");
}

}  // namespace
}  // namespace ferry::objectfile
