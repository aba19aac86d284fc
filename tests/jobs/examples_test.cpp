// The shipped job file (etc/jobs.d/) and the examples in docs/jobs.md must load
// against the shipped configuration, so the documentation cannot drift from the parser.
#include <gtest/gtest.h>

#include "jobs/jobs.h"
#include "util/fd.h"

namespace ferry::jobs {
namespace {

const std::filesystem::path kSource(FERRY_SOURCE_DIR);

config::Config shipped_config() {
  auto c = config::load_config(kSource / "etc" / "ferryd.yaml");
  EXPECT_TRUE(c) << c.error().message;
  return c ? *c : config::Config{};
}

TEST(JobsExamples, EtcJobsDirLoads) {
  auto loads = load_jobs(kSource / "etc" / "jobs.d", shipped_config());
  ASSERT_TRUE(loads) << loads.error().message;
  ASSERT_EQ(loads->size(), 1u);
  const FileLoad& f = loads->front();
  EXPECT_TRUE(f.ok()) << (f.errors.empty() ? "" : f.errors.front());
  ASSERT_EQ(f.jobs.size(), 4u);
  EXPECT_EQ(f.jobs[0].name, "nightly-full");
  EXPECT_EQ(f.jobs[3].name, "weekly-ops");
  EXPECT_FALSE(f.jobs[3].schedule);
}

/// Fenced yaml blocks of the doc whose first line is "# file: jobs.yaml".
std::vector<std::string> job_blocks(const std::string& doc) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = doc.find("\n```yaml\n", pos)) != std::string::npos) {
    size_t start = pos + 9;
    size_t close = doc.find("\n```", start);
    std::string body = doc.substr(start, close - start + 1);
    if (body.starts_with("# file: jobs.yaml")) out.push_back(body);
    pos = close + 4;
  }
  return out;
}

TEST(JobsExamples, DocsExamplesLoad) {
  auto doc = read_file(kSource / "docs" / "jobs.md");
  ASSERT_TRUE(doc) << doc.error().message;
  auto blocks = job_blocks(*doc);
  ASSERT_EQ(blocks.size(), 1u);
  FileLoad f = parse_job_file("/etc/ferry/jobs.d/doc.yaml", blocks[0], shipped_config());
  EXPECT_TRUE(f.ok()) << (f.errors.empty() ? "" : f.errors.front());
  EXPECT_EQ(f.jobs.size(), 3u);
}

}  // namespace
}  // namespace ferry::jobs
