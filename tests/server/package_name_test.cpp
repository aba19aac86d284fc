#include "server/package_name.h"

#include <gtest/gtest.h>

namespace ferry::server {
namespace {

const std::map<std::string, std::string> kValues = {{"env", "prod"},         {"mode", "full"}, {"date", "20261124"},
                                                    {"time", "101500"},      {"seq", "3"},     {"job", "nightly"}};

TEST(PackageName, EveryPlaceholderExpands) {
  EXPECT_EQ(expand_name(kDefaultNameTemplate, kValues).value(), "prod-full-20261124-101500-3");
  EXPECT_EQ(expand_name("{job}-{date}", kValues).value(), "nightly-20261124");
}

TEST(PackageName, AtMost64CharactersAfterExpansion) {
  std::string t60(60, 'x');
  EXPECT_EQ(expand_name(t60 + "{seq}", kValues).value().size(), 61u);
  auto e = expand_name(t60 + "{job}", kValues);  // 67 characters once expanded
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "package name '" + t60 + "nightly' (from template '" + t60 +
                                   "{job}') is longer than 64 characters; shorten the template");
}

TEST(PackageName, UnknownPlaceholdersAndUnsafeCharactersAreRefused) {
  EXPECT_EQ(expand_name("{host}", kValues).error().message,
            "unknown placeholder in package name template '{host}'; use {env}, {mode}, {date}, {time}, {seq} or {job}");
  EXPECT_NE(expand_name("a/b", kValues).error().message.find("may hold only letters"), std::string::npos);
  EXPECT_NE(expand_name(".hidden", kValues).error().message.find("must not start with '.'"), std::string::npos);
}

}  // namespace
}  // namespace ferry::server
