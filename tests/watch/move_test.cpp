#include "watch/watch.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "support/temp_dir.h"
#include "util/fd.h"
#include "util/sha256.h"

namespace ferry::watch {
namespace {
namespace fs = std::filesystem;

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

std::string contents(const fs::path& file) { return read_file(file).value(); }

TEST(MoveTo, ProcessedTakesSidecarAndWritesReportBeside) {
  test::TempDir tmp;
  auto file = test::write_text(tmp.path() / "nightly.zip", "PK nightly");
  std::string sidecar = sha256_hex("PK nightly") + "  nightly.zip\n";
  test::write_text(tmp.path() / "nightly.zip.sha256", sidecar);

  auto moved = move_to(file, Outcome::processed, R"({"state":"deployed"})");
  ASSERT_TRUE(moved) << moved.error().message;
  fs::path processed = tmp.path() / "processed";
  EXPECT_EQ(moved->package, processed / "nightly.zip");
  EXPECT_EQ(moved->sidecar, processed / "nightly.zip.sha256");
  EXPECT_EQ(moved->report, processed / "nightly.report.json");
  EXPECT_EQ(contents(moved->package), "PK nightly");
  EXPECT_EQ(contents(processed / "nightly.zip.sha256"), sidecar);
  EXPECT_EQ(contents(moved->report), R"({"state":"deployed"})");
  EXPECT_EQ(names_in(tmp.path()), std::set<std::string>{"processed"});
}

TEST(MoveTo, FailedWithoutSidecar) {
  test::TempDir tmp;
  auto file = test::write_text(tmp.path() / "bad.zip", "PK bad");
  auto moved = move_to(file, Outcome::failed, "{}");
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->package, tmp.path() / "failed" / "bad.zip");
  EXPECT_FALSE(moved->sidecar);
  EXPECT_EQ(names_in(tmp.path() / "failed"), (std::set<std::string>{"bad.zip", "bad.report.json"}));
  EXPECT_FALSE(fs::exists(file));
}

TEST(MoveTo, NameClashTakesTheNextFreeNameAndRenamesTheSidecarContent) {
  test::TempDir tmp;
  fs::path processed = tmp.path() / "processed";
  test::write_text(processed / "n.zip", "PK first");
  test::write_text(processed / "n.report.json", "first");
  test::write_text(processed / "n-2.report.json", "orphan report");  // taken as well: never replaced
  auto file = test::write_text(tmp.path() / "n.zip", "PK second");
  test::write_text(tmp.path() / "n.zip.sha256", sha256_hex("PK second") + "  n.zip\n");

  auto moved = move_to(file, Outcome::processed, "second");
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->package, processed / "n-3.zip");
  EXPECT_EQ(moved->report, processed / "n-3.report.json");
  EXPECT_EQ(contents(processed / "n.zip"), "PK first");
  EXPECT_EQ(contents(processed / "n.report.json"), "first");
  EXPECT_EQ(contents(processed / "n-2.report.json"), "orphan report");
  EXPECT_EQ(contents(processed / "n-3.zip"), "PK second");
  EXPECT_EQ(contents(processed / "n-3.zip.sha256"), sha256_hex("PK second") + "  n-3.zip\n");
  EXPECT_EQ(contents(moved->report), "second");
  EXPECT_FALSE(fs::exists(tmp.path() / "n.zip.sha256"));
}

TEST(MoveTo, MissingOrWrongFileIsAnErrorAndChangesNothing) {
  test::TempDir tmp;
  auto missing = move_to(tmp.path() / "gone.zip", Outcome::processed, "{}");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("gone.zip"), std::string::npos) << missing.error().message;
  auto wrong = move_to(test::write_text(tmp.path() / "notes.txt", "x"), Outcome::failed, "{}");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::invalid_argument);
  EXPECT_EQ(names_in(tmp.path()), std::set<std::string>{"notes.txt"});
}

}  // namespace
}  // namespace ferry::watch
