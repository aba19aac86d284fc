#include "cli/output.h"

#include <gtest/gtest.h>

#include <sstream>

#include "cli/progress.h"

namespace ferry::cli {
namespace {

TEST(CliOutput, HumanSizes) {
  EXPECT_EQ(human_size(0), "0 B");
  EXPECT_EQ(human_size(1023), "1023 B");
  EXPECT_EQ(human_size(1536), "1.5 KiB");
  EXPECT_EQ(human_size(12ull << 20), "12.0 MiB");
  EXPECT_EQ(human_size(3ull << 40), "3.0 TiB");
}

TEST(CliOutput, MembersMayBeMissing) {
  nlohmann::json r = {{"size", 2048}, {"name", "x"}, {"neg", -1}};
  EXPECT_EQ(cell(r, "name"), "x");
  EXPECT_EQ(cell(r, "missing"), "-");
  EXPECT_EQ(size_cell(r, "size"), "2.0 KiB");
  EXPECT_EQ(size_cell(r, "missing"), "-");
  EXPECT_EQ(size_cell(r, "neg"), "-1");
  EXPECT_TRUE(member(nlohmann::json::array(), "x").is_null());
  EXPECT_EQ(short_id("0f8c2b6e-1d2a-4c3b-9e4f-5a6b7c8d9e0f"), "0f8c2b6e");
  EXPECT_EQ(short_id("abc"), "abc");
}

TEST(CliProgress, LineFollowsBytesWhenKnown) {
  nlohmann::json e = {{"event", "progress"},
                      {"objects_done", 120},
                      {"objects_total", 480},
                      {"bytes_done", 5 << 20},
                      {"bytes_total", 20 << 20}};
  EXPECT_EQ(progress_line(e), "[#####...............]  25%  120/480 objects  5.0 MiB/20.0 MiB");
  e["bytes_total"] = 0;
  EXPECT_EQ(progress_line(e), "[#####...............]  25%  120/480 objects");
  EXPECT_EQ(progress_line({{"event", "progress"}}), "[....................]   0%  0/0 objects");
  EXPECT_EQ(progress_line({{"objects_done", 9}, {"objects_total", 9}}), "[####################] 100%  9/9 objects");
}

TEST(CliProgress, DrawsNothingWhenNotATerminal) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    ProgressBar bar(file);
    bar.on_event({{"event", "progress"}, {"objects_done", 1}, {"objects_total", 2}});
  }
  EXPECT_EQ(std::ftell(file), 0);
  std::fclose(file);
}

}  // namespace
}  // namespace ferry::cli
