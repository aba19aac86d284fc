// move_to(): filing a package away after import. Worker thread: every step blocks on disk.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "util/fd.h"
#include "watch/folder.h"
#include "watch/watch.h"

namespace ferry::watch {
namespace fs = std::filesystem;

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::processed:
      return "processed";
    case Outcome::failed:
      return "failed";
  }
  return "unknown";
}

namespace {

/// NAME.zip, NAME-2.zip ... NAME-kMaxSuffix.zip are tried before giving up.
constexpr int kMaxSuffix = 10'000;
constexpr mode_t kSubfolderMode = 0755;
constexpr std::string_view kReportSuffix = ".report.json";

bool name_taken(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

/// rename() that fails with EEXIST instead of replacing (link + unlink where the file
/// system lacks renameat2's RENAME_NOREPLACE). Returns 0 or an errno.
int rename_noreplace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return errno;
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  if (::unlink(from.c_str()) != 0) return errno;  // both names exist; the package is not lost
  return 0;
}

/// "NAME" for FOLDER/NAME.zip; a name that is not a package is refused.
Expected<std::string> package_stem(const fs::path& file) {
  std::string name = file.filename().string();
  if (classify(name) != NameKind::package) {
    return fail(Errc::invalid_argument, file.string() + ": not a package file name (NAME.zip, not a dot-file)");
  }
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) return fail_errno("move package", file.string(), errno);
  if (!S_ISREG(st.st_mode)) return fail(Errc::invalid_argument, file.string() + ": not a regular file");
  return name.substr(0, name.size() - 4);
}

Status ensure_folder(const fs::path& dir) {
  if (::mkdir(dir.c_str(), kSubfolderMode) == 0 || errno == EEXIST) return {};
  return fail_errno("create folder", dir.string(), errno);
}

std::string candidate(const std::string& stem, int n) { return n == 1 ? stem : stem + "-" + std::to_string(n); }

/// Renames the package to the first free NAME[-N].zip in dest: one whose package,
/// sidecar and report names are all unused, so nothing there is ever replaced.
Expected<fs::path> place_package(const fs::path& file, const std::string& stem, const fs::path& dest) {
  for (int n = 1; n <= kMaxSuffix; ++n) {
    std::string base = candidate(stem, n);
    fs::path target = dest / (base + ".zip");
    if (name_taken(dest / (base + ".zip.sha256")) || name_taken(dest / (base + std::string(kReportSuffix)))) continue;
    int err = rename_noreplace(file, target);
    if (err == EEXIST) continue;
    if (err == EXDEV) {
      return fail(Errc::io, "move " + file.string() + " to " + dest.string() +
                                ": it is on another file system; processed/ and failed/ must be plain folders "
                                "inside the watched folder, not mount points");
    }
    if (err != 0) return fail_errno("move package to " + target.string(), file.string(), err);
    return target;
  }
  return fail(Errc::conflict, dest.string() + " already holds " + stem + ".zip up to " + candidate(stem, kMaxSuffix) +
                                  ".zip; prune it (keep_processed) and retry");
}

/// Renames the sidecar beside the moved package. If the package got a new name and the
/// sidecar is a sha256sum line, it is rewritten to name the new file, so `sha256sum -c`
/// still works there; the old sidecar goes only after the new one is on disk.
Expected<std::optional<fs::path>> move_sidecar(const fs::path& file, const fs::path& placed) {
  fs::path from = file;
  from += kSidecarSuffix;
  fs::path to = placed;
  to += kSidecarSuffix;
  if (!name_taken(from)) return std::nullopt;
  if (file.filename() != placed.filename()) {
    auto text = read_file(from, 4096);
    auto digest = text ? sidecar_digest(*text) : std::nullopt;
    if (digest) {
      FERRY_TRY(write_file_atomic(to, *digest + "  " + placed.filename().string() + "\n"));
      if (::unlink(from.c_str()) != 0) return fail_errno("remove moved sidecar", from.string(), errno);
      return to;
    }
  }
  if (int err = rename_noreplace(from, to); err != 0)
    return fail_errno("move sidecar to " + to.string(), from.string(), err);
  return to;
}

}  // namespace

Expected<Moved> move_to(const fs::path& file, Outcome outcome, std::string_view report_json) {
  std::string stem = FERRY_TRY(package_stem(file));
  fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  fs::path dest = dir / to_string(outcome);
  FERRY_TRY(ensure_folder(dest));
  Moved moved;
  moved.package = FERRY_TRY(place_package(file, stem, dest));
  auto where = [&](const Error& e) {
    return std::unexpected(e.with_context("package " + file.string() + " is now " + moved.package.string()));
  };
  auto sidecar = move_sidecar(file, moved.package);
  if (!sidecar) return where(sidecar.error());
  moved.sidecar = *sidecar;
  std::string package_name = moved.package.filename().string();
  moved.report = dest / (package_name.substr(0, package_name.size() - 4) + std::string(kReportSuffix));
  if (auto st = write_file_atomic(moved.report, report_json); !st) return where(st.error());
  if (auto st = fsync_dir(dest); !st) return where(st.error());
  if (auto st = fsync_dir(dir); !st) return where(st.error());
  return moved;
}

}  // namespace ferry::watch
