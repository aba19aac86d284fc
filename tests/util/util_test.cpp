#include "util/error.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "support/temp_dir.h"
#include "util/fd.h"
#include "util/guid.h"
#include "util/sha256.h"
#include "util/time.h"

namespace ferry {
namespace {

TEST(Util, Sha256OfKnownText) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(is_sha256_hex(sha256_hex("")));
  EXPECT_FALSE(is_sha256_hex("ABC"));
}

TEST(Util, Rfc3339RoundTrip) {
  auto t = parse_rfc3339("2026-11-23T02:00:00+01:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_rfc3339(*t), "2026-11-23T01:00:00.000Z");
  EXPECT_TRUE(parse_rfc3339("2026-11-23T01:00:00.5Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-23 01:00"));
}

// ferryd pins TZ only when it is unset: an operator's TZ stays as given.
TEST(Util, LocalTimeZoneIsPinnedOnlyWhenUnset) {
  const char* before = std::getenv("TZ");
  const std::optional<std::string> saved = before ? std::optional<std::string>(before) : std::nullopt;
  ::unsetenv("TZ");
  pin_local_time_zone();
  ASSERT_NE(std::getenv("TZ"), nullptr);
  EXPECT_STREQ(std::getenv("TZ"), ":/etc/localtime");
  ::setenv("TZ", "Europe/Vienna", 1);
  pin_local_time_zone();
  EXPECT_STREQ(std::getenv("TZ"), "Europe/Vienna");
  if (saved)
    ::setenv("TZ", saved->c_str(), 1);
  else
    ::unsetenv("TZ");
}

TEST(Util, GuidsAreCanonical) {
  auto g = new_guid();
  EXPECT_EQ(parse_guid(g), g);
  EXPECT_EQ(parse_guid("6F9619FF-8B86-D011-B42D-00CF4FC964FF"), "6f9619ff-8b86-d011-b42d-00cf4fc964ff");
  EXPECT_FALSE(parse_guid("dataset:/x/y"));
}

TEST(Util, AtomicWriteLeavesNoTemporaryFile) {
  test::TempDir dir;
  auto path = dir.path() / "out.txt";
  ASSERT_TRUE(write_file_atomic(path, "hello", 0600));
  EXPECT_EQ(read_file(path).value(), "hello");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(Util, AtomicWriteIntoMissingFolderFailsWithPath) {
  auto st = write_file_atomic("/nonexistent-ferry/out.txt", "x");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::io);
  EXPECT_NE(st.error().message.find("/nonexistent-ferry/"), std::string::npos);
}

}  // namespace
}  // namespace ferry
