#include "delivery/delivery.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <thread>
#include <vector>

#include "support/temp_dir.h"
#include "util/fd.h"
#include "util/sha256.h"

namespace ferry::delivery {
namespace {
namespace fs = std::filesystem;

/// A package store with one package file, and a folder to deliver into.
struct Fixture {
  test::TempDir store, out;
  std::string content;
  fs::path package;
  std::string sha256;

  explicit Fixture(size_t size = (5u << 20) / 2) {  // 2.5 chunks: exercises the loop
    content.resize(size);
    for (size_t i = 0; i < size; ++i) content[i] = static_cast<char>((i * 7919u) >> 5);
    package = test::write_text(store.path() / "pkg.zip", content);
    sha256 = sha256_hex(content);
  }
  Expected<Delivered> deliver_to(OnExists policy, const std::atomic<bool>* cancel = nullptr) {
    return deliver(package, "nightly", sha256, Target{out.path(), policy}, cancel);
  }
};

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

/// `sha256sum -c` run as a real process in the folder, as a transfer tool would.
bool sha256sum_accepts(const fs::path& dir, const std::string& sidecar) {
  std::string cmd = "cd '" + dir.string() + "' && sha256sum --quiet -c '" + sidecar + "' >/dev/null 2>&1";
  int rc = std::system(cmd.c_str());
  return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

TEST(TempNames, PatternAndRecognition) {
  EXPECT_EQ(temp_name_template("a.zip"), ".a.zip.ferry-XXXXXX.partial");
  EXPECT_TRUE(is_ferry_partial(".a.zip.ferry-Ab12Cd.partial"));
  EXPECT_TRUE(is_ferry_partial(".x.zip.ferry-abc.partial"));
  EXPECT_TRUE(is_ferry_partial(".a.zip.sha256.ferry-Ab12Cd.partial"));
  EXPECT_FALSE(is_ferry_partial(".other.partial"));
  EXPECT_FALSE(is_ferry_partial("a.zip.ferry-Ab12Cd.partial"));  // not dot-named: not ours
  EXPECT_FALSE(is_ferry_partial(".a.zip.ferry-.partial"));
  EXPECT_FALSE(is_ferry_partial(".ferry-Ab12Cd.partial"));  // no final name
  EXPECT_FALSE(is_ferry_partial(".a.zip.ferry-Ab12Cd.partial.x"));
  EXPECT_FALSE(is_ferry_partial("x.zip"));
}

TEST(Delivery, WritesPackageAndSidecarThatSha256sumAccepts) {
  Fixture f;
  auto d = f.deliver_to(OnExists::rename);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->dir, f.out.path());
  EXPECT_EQ(d->file, f.out.path() / "nightly.zip");
  EXPECT_EQ(d->note, "");
  EXPECT_EQ(read_file(f.out.path() / "nightly.zip").value(), f.content);
  EXPECT_EQ(read_file(f.out.path() / "nightly.zip.sha256").value(), f.sha256 + "  nightly.zip\n");
  EXPECT_TRUE(sha256sum_accepts(f.out.path(), "nightly.zip.sha256"));
  EXPECT_EQ(names_in(f.out.path()), (std::set<std::string>{"nightly.zip", "nightly.zip.sha256"}));
  struct stat st {};
  ASSERT_EQ(::stat((f.out.path() / "nightly.zip").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(Delivery, RenamePicksTheFirstFreeNameAndTheSidecarFollows) {
  Fixture f(1000);
  ASSERT_TRUE(f.deliver_to(OnExists::rename));
  auto second = f.deliver_to(OnExists::rename);
  auto third = f.deliver_to(OnExists::rename);
  ASSERT_TRUE(second && third);
  EXPECT_EQ(second->file, f.out.path() / "nightly-2.zip");
  EXPECT_EQ(third->file, f.out.path() / "nightly-3.zip");
  EXPECT_EQ(third->note, "renamed: nightly.zip exists");
  EXPECT_EQ(read_file(f.out.path() / "nightly-3.zip.sha256").value(), f.sha256 + "  nightly-3.zip\n");
  for (auto name : {"nightly.zip.sha256", "nightly-2.zip.sha256", "nightly-3.zip.sha256"}) {
    EXPECT_TRUE(sha256sum_accepts(f.out.path(), name)) << name;
  }
  EXPECT_EQ(names_in(f.out.path()).size(), 6u);
}

TEST(Delivery, RenameTreatsALeftoverSidecarAsTaken) {
  Fixture f(1000);
  test::write_text(f.out.path() / "nightly.zip.sha256", "stale\n");
  auto d = f.deliver_to(OnExists::rename);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->file, f.out.path() / "nightly-2.zip");
  EXPECT_EQ(read_file(f.out.path() / "nightly.zip.sha256").value(), "stale\n");
}

TEST(Delivery, ConcurrentRenamesNeverShareAName) {
  Fixture f(300'000);
  std::vector<Expected<Delivered>> results(4, fail(Errc::internal, "not run"));
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&] { r = f.deliver_to(OnExists::rename); });
  for (auto& t : threads) t.join();
  std::set<fs::path> files;
  for (auto& r : results) {
    ASSERT_TRUE(r) << r.error().message;
    files.insert(*r->file);
  }
  EXPECT_EQ(files.size(), 4u);
  EXPECT_EQ(names_in(f.out.path()).size(), 8u);  // four packages, four sidecars, no temporary file
}

TEST(Delivery, FolderOnAnotherFileSystemWorksTheSameWay) {
  // /dev/shm is tmpfs on Linux; the kernel may refuse copy_file_range() across it.
  std::string tmpl = "/dev/shm/ferry-store-XXXXXX";
  if (!fs::is_directory("/dev/shm") || ::mkdtemp(tmpl.data()) == nullptr) GTEST_SKIP() << "no /dev/shm";
  fs::path store = tmpl;
  test::TempDir out;
  std::string content(3u << 20, 'p');
  auto package = test::write_text(store / "pkg.zip", content);
  struct stat a {
  }, b{};
  ::stat(store.c_str(), &a);
  ::stat(out.path().c_str(), &b);
  auto d = deliver(package, "far", sha256_hex(content), Target{out.path()}, nullptr);
  fs::remove_all(store);
  if (a.st_dev == b.st_dev) GTEST_SKIP() << "/dev/shm is on the same file system as the temp folder";
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(read_file(out.path() / "far.zip").value(), content);
  EXPECT_TRUE(sha256sum_accepts(out.path(), "far.zip.sha256"));
  EXPECT_EQ(names_in(out.path()).size(), 2u);
}

TEST(Delivery, OverwriteReplacesTheContent) {
  Fixture f(1000);
  test::write_text(f.out.path() / "nightly.zip", "old package");
  test::write_text(f.out.path() / "nightly.zip.sha256", "old checksum\n");
  auto d = f.deliver_to(OnExists::overwrite);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->file, f.out.path() / "nightly.zip");
  EXPECT_EQ(read_file(f.out.path() / "nightly.zip").value(), f.content);
  EXPECT_TRUE(sha256sum_accepts(f.out.path(), "nightly.zip.sha256"));
  EXPECT_EQ(names_in(f.out.path()).size(), 2u);
}

TEST(Delivery, SkipLeavesTheExistingFileAndReportsIt) {
  Fixture f(1000);
  test::write_text(f.out.path() / "nightly.zip", "old package");
  auto d = f.deliver_to(OnExists::skip);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_FALSE(d->file);
  EXPECT_EQ(d->note, "skipped: " + (f.out.path() / "nightly.zip").string() + " exists");
  EXPECT_EQ(read_file(f.out.path() / "nightly.zip").value(), "old package");
  EXPECT_EQ(names_in(f.out.path()), (std::set<std::string>{"nightly.zip"}));
}

TEST(Delivery, SkipDeliversWhenTheNameIsFree) {
  Fixture f(1000);
  auto d = f.deliver_to(OnExists::skip);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->file, f.out.path() / "nightly.zip");
  EXPECT_TRUE(sha256sum_accepts(f.out.path(), "nightly.zip.sha256"));
}

TEST(Delivery, MissingFolderFailsNamingItAndLeavesNothing) {
  Fixture f(1000);
  auto missing = f.out.path() / "missing";
  auto d = deliver(f.package, "nightly", f.sha256, Target{missing}, nullptr);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::not_found);
  EXPECT_EQ(d.error().message.find("folder " + missing.string() + " does not exist"), 0u) << d.error().message;
  EXPECT_TRUE(names_in(f.out.path()).empty());
}

TEST(Delivery, UnwritableFolderSaysWhoCannotWrite) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into read-only folders";
  Fixture f(1000);
  ASSERT_EQ(::chmod(f.out.path().c_str(), 0555), 0);
  auto d = f.deliver_to(OnExists::rename);
  ::chmod(f.out.path().c_str(), 0755);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message.find("folder " + f.out.path().string() + " is not writable by ferryd (uid "), 0u)
      << d.error().message;
  EXPECT_TRUE(names_in(f.out.path()).empty());
}

TEST(Delivery, CancelLeavesNothing) {
  Fixture f;
  std::atomic<bool> cancel{true};
  auto d = f.deliver_to(OnExists::rename, &cancel);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::cancelled);
  EXPECT_TRUE(names_in(f.out.path()).empty());
}

TEST(Delivery, MissingPackageFileIsNamed) {
  Fixture f(10);
  auto d = deliver(f.store.path() / "gone.zip", "nightly", f.sha256, Target{f.out.path()}, nullptr);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("gone.zip"), std::string::npos) << d.error().message;
  EXPECT_TRUE(names_in(f.out.path()).empty());
}

TEST(Delivery, RefusesNamesThatAreNotFileNames) {
  Fixture f(10);
  for (auto bad : {"", ".hidden", "a/b"}) {
    auto d = deliver(f.package, bad, f.sha256, Target{f.out.path()}, nullptr);
    ASSERT_FALSE(d) << bad;
    EXPECT_EQ(d.error().code, Errc::invalid_argument);
  }
  EXPECT_FALSE(deliver(f.package, "ok", "ABC", Target{f.out.path()}, nullptr));
  EXPECT_TRUE(names_in(f.out.path()).empty());
}

TEST(Delivery, OnExistsParsesItsNames) {
  for (auto p : {OnExists::overwrite, OnExists::rename, OnExists::skip}) EXPECT_EQ(parse_on_exists(to_string(p)), p);
  EXPECT_FALSE(parse_on_exists("replace"));
}

TEST(RemovePartials, RemovesOnlyFerrysOwnLeftovers) {
  test::TempDir dir;
  for (auto name : {".other.partial", "x.zip", ".x.zip.ferry-abc.partial", ".x.zip.sha256.ferry-Q1w2E3.partial",
                    "sub/.y.zip.ferry-abcdef.partial"}) {
    test::write_text(dir.path() / name, "x");
  }
  fs::create_directory(dir.path() / ".d.zip.ferry-folder.partial");  // a folder is never ferry's temp file
  auto n = remove_partials(dir.path());
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(names_in(dir.path()),
            (std::set<std::string>{".other.partial", "x.zip", "sub", ".d.zip.ferry-folder.partial"}));
  EXPECT_TRUE(fs::exists(dir.path() / "sub/.y.zip.ferry-abcdef.partial"));  // not recursive
}

TEST(RemovePartials, MissingFolderIsZero) {
  test::TempDir dir;
  EXPECT_EQ(remove_partials(dir.path() / "missing").value(), 0);
}

TEST(RemovePartials, CleansWhatWriteFileAtomicWouldLeave) {
  test::TempDir dir;
  // write_file_atomic names its temporary file with the same template.
  std::string tmpl = (dir.path() / temp_name_template("report.json")).string();
  int fd = ::mkostemps(tmpl.data(), kTempNameSuffixLength, 0);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_EQ(remove_partials(dir.path()).value(), 1);
  EXPECT_TRUE(names_in(dir.path()).empty());
}

}  // namespace
}  // namespace ferry::delivery
