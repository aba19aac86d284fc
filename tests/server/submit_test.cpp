// Submit hooks: which objects get one, and what is kept of a hook's stderr.
#include "server/submit.h"

#include <gtest/gtest.h>

namespace ferry::server {
namespace {

TEST(SubmitItems, OnlyCreatedAndUpdatedObjectsOfTypesWithSubmit) {
  types::TypeDef task;
  task.name = "task";
  task.submit = "/bin/true {guid}";
  types::TypeDef dataset;
  dataset.name = "dataset";
  types::TypeRegistry types({task, dataset});
  records::ImportRecord r;
  auto add = [&](std::string type, std::string address, std::string result) {
    records::ImportObjectResult o;
    o.type = std::move(type);
    o.address = std::move(address);
    o.dest_guid = "g-" + o.address;
    o.result = std::move(result);
    r.objects.push_back(std::move(o));
  };
  add("task", "task:/a", "created");
  add("task", "task:/b", "unchanged");
  add("dataset", "dataset:/c", "created");
  add("task", "task:/d", "updated");
  add("task", "task:/e", "deleted");
  add("task", "task:/f", "skipped");
  add("task", "task:/g", "failed");
  r.objects[3].submission.attempts = 2;
  auto items = submit_items(types, r);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].seq, 0u);
  EXPECT_EQ(items[0].address, "task:/a");
  EXPECT_EQ(items[0].guid, "g-task:/a");
  EXPECT_EQ(items[0].attempts, 0);
  EXPECT_EQ(items[1].seq, 3u);
  EXPECT_EQ(items[1].type, "task");
  EXPECT_EQ(items[1].attempts, 2);
}

TEST(StderrTail, KeepsTheLastTwentyLines) {
  std::string text;
  for (int i = 1; i <= 30; ++i) text += "line " + std::to_string(i) + "\n";
  std::string want;
  for (int i = 11; i <= 30; ++i) want += "line " + std::to_string(i) + "\n";
  EXPECT_EQ(stderr_tail(text), want);
  EXPECT_EQ(stderr_tail("one\ntwo"), "one\ntwo");
  EXPECT_EQ(stderr_tail(""), "");
}

TEST(StderrTail, KeepsAtMostTwoKibStartingAtALine) {
  std::string text = std::string(3000, 'a') + "\n" + std::string(1000, 'b') + "\n" + std::string(500, 'c') + "\n";
  EXPECT_EQ(stderr_tail(text), std::string(1000, 'b') + "\n" + std::string(500, 'c') + "\n");
  std::string one_line(5000, 'x');
  EXPECT_EQ(stderr_tail(one_line), std::string(2048, 'x'));
}

TEST(StderrTail, ReplacesBytesThatAreNotUtf8) {
  EXPECT_EQ(stderr_tail("bad \xff byte\n"), "bad \xEF\xBF\xBD byte\n");
  EXPECT_EQ(stderr_tail("caf\xC3\xA9\n"), "caf\xC3\xA9\n");
}

}  // namespace
}  // namespace ferry::server
