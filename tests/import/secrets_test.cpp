#include "import/import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace ferry::importer {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

const char* kGuid = "6f9619ff-8b86-d011-b42d-00cf4fc964ff";

TEST(Secrets, ParsesAddressAndGuidEntriesWithAnyValue) {
  auto s = parse_secrets("secrets.yaml", R"(secrets:
  - {address: "datasource:/shared/warehouse", pointer: /password, value: s3cret}
  - guid: 6F9619FF-8B86-D011-B42D-00CF4FC964FF
    pointer: /tls/key
    value: {pem: "-----BEGIN-----", bits: 4096}
)");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->entries().size(), 2u);
  const auto& a = s->entries()[0];
  EXPECT_EQ(a.target, TargetKind::address);
  EXPECT_EQ(a.key, "datasource:/shared/warehouse");
  EXPECT_EQ(a.pointer, "/password");
  EXPECT_EQ(a.value, json("s3cret"));
  EXPECT_EQ(a.where, "secrets.yaml:2:5");
  const auto& g = s->entries()[1];
  EXPECT_EQ(g.target, TargetKind::guid);
  EXPECT_EQ(g.key, kGuid);  // canonical lower case
  EXPECT_EQ(g.value, json::parse(R"({"pem":"-----BEGIN-----","bits":4096})"));
}

TEST(Secrets, FindPrefersGuidOverAddress) {
  auto s = parse_secrets("s.yaml", std::string(R"(secrets:
  - {address: "datasource:/shared/warehouse", pointer: /password, value: by-address}
  - {guid: )") + kGuid + R"(, pointer: /password, value: by-guid}
)");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->find(kGuid, "datasource:/shared/warehouse", "/password")->value, "by-guid");
  EXPECT_EQ(s->find("00000000-0000-4000-8000-000000000001", "datasource:/shared/warehouse", "/password")->value,
            "by-address");
  EXPECT_EQ(s->find(kGuid, "x:/y", "/token"), nullptr);
}

TEST(Secrets, EmptyTextAndAbsentFileMeanNoSecrets) {
  auto empty = parse_secrets("s.yaml", "# nothing yet\n");
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->entries().empty());
  test::TempDir dir;
  auto absent = load_secrets(dir.path() / "secrets.yaml");
  ASSERT_TRUE(absent) << absent.error().message;
  EXPECT_TRUE(absent->entries().empty());
}

TEST(Secrets, LoadsAFile) {
  test::TempDir dir;
  auto path = test::write_text(dir.path() / "secrets.yaml",
                               "secrets: [{guid: " + std::string(kGuid) + ", pointer: /password, value: x}]\n");
  auto s = load_secrets(path);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->entries().size(), 1u);
  EXPECT_EQ(s->entries()[0].where, path.string() + ":1:11");
}

TEST(Secrets, ReportsEveryErrorWithItsPosition) {
  auto s = parse_secrets("s.yaml", std::string(R"(secrets:
  - {address: "datasource:/a/b", guid: )") +
                                       kGuid + R"(, pointer: /p, value: 1}
  - {pointer: /p, value: 1}
  - {address: "nonsense", pointer: /p, value: 1}
  - {guid: not-a-guid, pointer: password, value: 1}
  - {address: "dataset:/a/b", pointer: /p}
  - {address: "dataset:/a/b", pointer: /p, value: 2}
  - {address: "dataset:/a/b", pointer: /p, value: 3}
  - {type: dataset, pointer: /p, value: 3}
  - {address: "dataset:/a/c", pointer: /p, value: 2, colour: red}
  - {address: "dataset:/a/b", pointer: "", value: 2}
)");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::invalid_argument);
  EXPECT_EQ(
      s.error().message,
      "s.yaml:4:15: secrets[2].address: 'nonsense' is not an object address (no type); expected "
      "TYPE:/FOLDER/NAME such as dataset:/finance/orders\n"
      "s.yaml:5:12: secrets[3].guid: expected a GUID such as 6f9619ff-8b86-d011-b42d-00cf4fc964ff; got "
      "'not-a-guid'\n"
      "s.yaml:5:33: secrets[3].pointer: expected a JSON pointer into spec such as /password or /auth/token; "
      "got 'password'\n"
      "s.yaml:6:5: secrets[4]: missing required key 'value' in secret\n"
      "s.yaml:9:6: secrets[7]: unknown key 'type' in secret; expected one of: address, guid, pointer, value\n"
      "s.yaml:10:54: secrets[8]: unknown key 'colour' in secret; expected one of: address, guid, pointer, "
      "value\n"
      "s.yaml:11:40: secrets[9].pointer: expected a JSON pointer into spec such as /password or /auth/token; got ''\n"
      "s.yaml:2:5: secrets[0]: give only one of address or guid per secret\n"
      "s.yaml:3:5: secrets[1]: a secret names its object with one of address or guid\n"
      "s.yaml:8:5: secrets[6]: dataset:/a/b /p is already given at s.yaml:7:5; give each secret once");
}

TEST(Secrets, RefusesAnUnknownTopLevelKey) {
  auto s = parse_secrets("s.yaml", "overrides: []\n");
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("s.yaml:1:1: unknown key 'overrides' in secrets file; expected one of: "));
}

}  // namespace
}  // namespace ferry::importer
