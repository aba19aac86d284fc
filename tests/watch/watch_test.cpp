#include "watch/watch.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "util/sha256.h"

namespace ferry::watch {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// A real folder, a real io_context run by the test thread, a real worker thread for
/// offloaded work, and the watcher's reports collected in order.
class Harness {
 public:
  Harness() : dir_(tmp_.path() / "inbox"), outside_(tmp_.path() / "outside") {
    fs::create_directories(dir_);
    fs::create_directories(outside_);
  }
  ~Harness() {
    if (watcher_) watcher_->stop();
  }

  const fs::path& dir() const { return dir_; }
  const std::vector<fs::path>& ready() const { return ready_; }
  const std::vector<Error>& errors() const { return errors_; }
  boost::asio::io_context& io() { return io_; }
  FolderWatcher& watcher() { return *watcher_; }

  void start(Options options) {
    watcher_ = std::make_unique<FolderWatcher>(
        io_.get_executor(), dir_, options,
        [this](std::function<void()> job) { boost::asio::post(pool_, std::move(job)); },
        [this](fs::path file) { ready_.push_back(std::move(file)); },
        [this](const Error& error) { errors_.push_back(error); });
    watcher_->start();
  }

  /// Runs the loop until done() holds; the limit is only a safety net against a hang.
  bool run_until(const std::function<bool()>& done, std::chrono::seconds limit = 30s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      if (io_.stopped()) io_.restart();
      io_.run_one_for(20ms);
    }
    return true;
  }

  bool run_until_reported(const std::string& name) {
    return run_until([&] { return reported(name) > 0; });
  }

  int reported(const std::string& name) const {
    int n = 0;
    for (const auto& f : ready_) n += f == dir_ / name ? 1 : 0;
    return n;
  }

  /// Writes a file outside the folder and renames it in, as ferry's delivery does.
  fs::path rename_in(const std::string& name, const std::string& content = "PK package") {
    auto staged = test::write_text(outside_ / name, content);
    fs::rename(staged, dir_ / name);
    return dir_ / name;
  }

 private:
  test::TempDir tmp_;
  fs::path dir_, outside_;
  boost::asio::io_context io_;
  boost::asio::thread_pool pool_{1};  // one worker: offloaded jobs finish in the order they were given
  std::vector<fs::path> ready_;
  std::vector<Error> errors_;
  std::unique_ptr<FolderWatcher> watcher_;
};

Options fast(Options o = {}) {
  o.settle = 100ms;
  o.retry = 50ms;
  return o;
}

std::string sidecar_text(const std::string& content, const std::string& name) {
  return sha256_hex(content) + "  " + name + "\n";
}

TEST(FolderWatcher, FileRenamedInIsReportedOnce) {
  Harness h;
  h.start(fast());
  h.rename_in("a.zip");
  ASSERT_TRUE(h.run_until_reported("a.zip"));
  h.rename_in("marker.zip");  // everything about a.zip happened before this is reported
  ASSERT_TRUE(h.run_until_reported("marker.zip"));
  EXPECT_EQ(h.ready(), (std::vector<fs::path>{h.dir() / "a.zip", h.dir() / "marker.zip"}));
  EXPECT_TRUE(h.errors().empty());
}

TEST(FolderWatcher, IgnoresDotFilesPartialsSidecarsSubfoldersAndLinks) {
  Harness h;
  h.start(fast());
  ASSERT_TRUE(h.run_until([&] { return fs::is_directory(h.dir() / "processed"); }));
  h.rename_in(".hidden.zip");
  h.rename_in("big.zip.partial");
  h.rename_in(".big.zip.ferry-Ab12Cd.partial");
  h.rename_in("a.zip.sha256", "abc  a.zip\n");
  h.rename_in("notes.txt");
  test::write_text(h.dir() / "processed" / "old.zip", "PK old");
  test::write_text(h.dir() / "failed" / "bad.zip", "PK bad");
  fs::create_directory(h.dir() / "folder.zip");
  fs::create_symlink(h.dir() / "processed" / "old.zip", h.dir() / "link.zip");
  h.rename_in("marker.zip");
  ASSERT_TRUE(h.run_until_reported("marker.zip"));
  EXPECT_EQ(h.ready(), std::vector<fs::path>{h.dir() / "marker.zip"});
}

TEST(FolderWatcher, FileWrittenInPlaceIsReportedAfterSettleOnce) {
  Harness h;
  h.start(fast());
  std::ofstream out(h.dir() / "scp.zip", std::ios::binary);
  out << std::string(4096, 'a');
  out.flush();
  h.rename_in("marker.zip");
  ASSERT_TRUE(h.run_until_reported("marker.zip"));
  EXPECT_EQ(h.reported("scp.zip"), 0) << "half-written file taken before it settled";

  out << std::string(4096, 'b');  // the writer comes back: the settle wait starts again
  out.close();
  ASSERT_TRUE(h.run_until_reported("scp.zip"));
  EXPECT_EQ(fs::file_size(h.dir() / "scp.zip"), 8192u);
  h.rename_in("marker2.zip");
  ASSERT_TRUE(h.run_until_reported("marker2.zip"));
  EXPECT_EQ(h.reported("scp.zip"), 1);
}

TEST(FolderWatcher, FilesPresentAtStartAreReportedAndSubfoldersCreated) {
  Harness h;
  test::write_text(h.dir() / "one.zip", "PK 1");
  test::write_text(h.dir() / "two.zip", "PK 2");
  test::write_text(h.dir() / ".three.zip", "PK 3");
  h.start(fast());
  ASSERT_TRUE(h.run_until([&] { return h.ready().size() >= 2; }));
  EXPECT_TRUE(fs::is_directory(h.dir() / "processed"));
  EXPECT_TRUE(fs::is_directory(h.dir() / "failed"));
  h.rename_in("marker.zip");
  ASSERT_TRUE(h.run_until_reported("marker.zip"));
  EXPECT_EQ(h.reported("one.zip"), 1);
  EXPECT_EQ(h.reported("two.zip"), 1);
  EXPECT_EQ(h.ready().size(), 3u);
}

TEST(FolderWatcher, FileMovedAwayAndBackIsReportedAgain) {
  Harness h;
  h.start(fast());
  auto file = h.rename_in("a.zip");
  ASSERT_TRUE(h.run_until([&] { return h.reported("a.zip") == 1 && fs::is_directory(h.dir() / "processed"); }));
  fs::rename(file, h.dir() / "processed" / "a.zip");
  fs::rename(h.dir() / "processed" / "a.zip", file);
  ASSERT_TRUE(h.run_until([&] { return h.reported("a.zip") == 2; }));
}

TEST(FolderWatcher, PollModeReportsPresentAndArrivingFiles) {
  Harness h;
  test::write_text(h.dir() / "early.zip", "PK early");
  Options options = fast();
  options.poll = 30ms;
  h.start(options);
  ASSERT_TRUE(h.run_until_reported("early.zip"));
  EXPECT_TRUE(fs::is_directory(h.dir() / "processed"));
  h.rename_in(".hidden.zip");
  h.rename_in("late.zip.partial");
  h.rename_in("late.zip");
  ASSERT_TRUE(h.run_until_reported("late.zip"));
  h.rename_in("marker.zip");  // several scans later: still one report each
  ASSERT_TRUE(h.run_until_reported("marker.zip"));
  EXPECT_EQ(h.ready(), (std::vector<fs::path>{h.dir() / "early.zip", h.dir() / "late.zip", h.dir() / "marker.zip"}));
}

TEST(FolderWatcher, RequiredSidecarWaitsForAMatchingOne) {
  Harness h;
  Options options = fast();
  options.sidecar = Sidecar::required;
  h.start(options);
  std::string content = "PK the package";
  h.rename_in("a.zip", content);
  h.rename_in("a.zip.sha256", sidecar_text("PK something else", "a.zip"));
  h.rename_in("marker.zip.sha256", sidecar_text("PK marker", "marker.zip"));
  h.rename_in("marker.zip", "PK marker");
  ASSERT_TRUE(h.run_until_reported("marker.zip"));
  EXPECT_EQ(h.reported("a.zip"), 0) << "taken with a sidecar that does not match";

  h.rename_in("a.zip.sha256", sidecar_text(content, "a.zip"));
  ASSERT_TRUE(h.run_until_reported("a.zip"));
  EXPECT_TRUE(h.errors().empty());
}

TEST(FolderWatcher, RequiredSidecarInPollMode) {
  Harness h;
  std::string content = "PK polled";
  test::write_text(h.dir() / "a.zip", content);
  test::write_text(h.dir() / "b.zip", "PK no sidecar");
  Options options = fast();
  options.poll = 30ms;
  options.sidecar = Sidecar::required;
  h.start(options);
  h.rename_in("a.zip.sha256", sidecar_text(content, "a.zip"));
  ASSERT_TRUE(h.run_until_reported("a.zip"));
  h.rename_in("marker.zip", "PK marker");
  h.rename_in("marker.zip.sha256", sidecar_text("PK marker", "marker.zip"));
  ASSERT_TRUE(h.run_until_reported("marker.zip"));
  EXPECT_EQ(h.reported("b.zip"), 0);
  EXPECT_EQ(h.reported("a.zip"), 1);
}

TEST(FolderWatcher, RemovedFolderIsReportedAndWatchedAgainWhenBack) {
  Harness h;
  h.start(fast());
  h.rename_in("a.zip");
  ASSERT_TRUE(h.run_until_reported("a.zip"));
  // A scan still running on the worker may create processed/ again while remove_all
  // walks the folder ("Directory not empty"): remove again until it is gone.
  for (std::error_code ec; fs::remove_all(h.dir(), ec), ec;) ASSERT_EQ(ec, std::errc::directory_not_empty);
  ASSERT_TRUE(h.run_until([&] { return !h.errors().empty(); }));
  // Either the inotify watch or a scan still running on the worker notices first.
  EXPECT_EQ(h.errors()[0].code, Errc::not_found);
  EXPECT_NE(h.errors()[0].message.find("watched folder " + h.dir().string()), std::string::npos)
      << h.errors()[0].message;

  fs::create_directories(h.dir());
  h.rename_in("b.zip");
  ASSERT_TRUE(h.run_until_reported("b.zip"));
  EXPECT_TRUE(fs::is_directory(h.dir() / "processed"));
  EXPECT_EQ(h.errors().size(), 1u);
}

TEST(FolderWatcher, MissingFolderAtStartIsReportedAndRetried) {
  Harness h;
  fs::remove_all(h.dir());
  h.start(fast());
  ASSERT_TRUE(h.run_until([&] { return !h.errors().empty(); }));
  EXPECT_EQ(h.errors()[0].code, Errc::not_found);
  EXPECT_NE(h.errors()[0].message.find("does not exist"), std::string::npos) << h.errors()[0].message;
  fs::create_directories(h.dir());
  h.rename_in("a.zip");
  ASSERT_TRUE(h.run_until_reported("a.zip"));
  EXPECT_EQ(h.errors().size(), 1u);
}

TEST(FolderWatcher, StopCancelsEverythingAndIsIdempotent) {
  Harness h;
  test::write_text(h.dir() / "settling.zip", "PK");
  h.start(fast());
  ASSERT_TRUE(h.run_until([&] { return fs::is_directory(h.dir() / "failed"); }));
  h.watcher().stop();
  h.watcher().stop();
  h.rename_in("late.zip");
  h.io().restart();
  h.io().run();  // returns only once no timer, read or job is left
  EXPECT_TRUE(h.ready().empty());
}

}  // namespace
}  // namespace ferry::watch
