#include "watch/folder.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <system_error>

#include "util/fd.h"
#include "util/sha256.h"
#include "watch/watch.h"

namespace ferry::watch {
namespace fs = std::filesystem;

namespace {

/// A sidecar is one line; anything much larger is not one.
constexpr size_t kMaxSidecarBytes = 4096;
constexpr mode_t kSubfolderMode = 0755;

Stamp stamp_of(const struct stat& st) {
  return Stamp{st.st_dev, st.st_ino, static_cast<std::uintmax_t>(st.st_size),
               static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

/// "watched folder DIR ...: reason; what to do" for the failures an operator can fix.
Error folder_error(const fs::path& dir, std::string_view what, int err) {
  std::string head = "watched folder " + dir.string();
  std::string reason = std::string(what) + ": " + errno_text(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Error{Errc::not_found, head + " does not exist: " + reason +
                                        "; create it (or mount it) or correct watch.dir in the configuration"};
    case EACCES:
    case EPERM:
    case EROFS:
      return Error{Errc::io,
                   head + " is not usable by ferryd: " + reason + "; give ferryd's user read and write access to it"};
    default:
      return Error{Errc::io, head + ": " + reason};
  }
}

Status ensure_subfolder(const fs::path& dir, Outcome outcome) {
  fs::path sub = dir / to_string(outcome);
  if (::mkdir(sub.c_str(), kSubfolderMode) == 0 || errno == EEXIST) return {};
  return std::unexpected(folder_error(dir, "create " + sub.filename().string() + "/", errno));
}

}  // namespace

NameKind classify(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.ends_with(".partial")) return NameKind::other;
  if (name.size() > 4 && name.ends_with(".zip")) return NameKind::package;
  if (name.size() > 4 + kSidecarSuffix.size() && name.ends_with(".zip.sha256")) return NameKind::sidecar;
  return NameKind::other;
}

std::string package_of_sidecar(std::string_view sidecar_name) {
  return std::string(sidecar_name.substr(0, sidecar_name.size() - kSidecarSuffix.size()));
}

std::optional<Stamp> stat_regular(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return stamp_of(st);
}

Expected<Listing> scan_folder(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return std::unexpected(folder_error(dir, "stat", errno));
  if (!S_ISDIR(st.st_mode)) return std::unexpected(folder_error(dir, "stat", ENOTDIR));
  FERRY_TRY(ensure_subfolder(dir, Outcome::processed));
  FERRY_TRY(ensure_subfolder(dir, Outcome::failed));
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return std::unexpected(folder_error(dir, "list", ec.value()));
  Listing listing;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    NameKind kind = classify(name);
    if (kind == NameKind::other) continue;
    auto stamp = stat_regular(it->path());  // a file gone since readdir is simply not listed
    if (!stamp) continue;
    (kind == NameKind::package ? listing.packages : listing.sidecars).emplace(name, *stamp);
  }
  if (ec) return std::unexpected(folder_error(dir, "list", ec.value()));
  return listing;
}

std::optional<std::string> sidecar_digest(std::string_view text) {
  constexpr size_t kHexLength = 64;
  if (text.size() < kHexLength) return std::nullopt;
  std::string digest(text.substr(0, kHexLength));
  std::transform(digest.begin(), digest.end(), digest.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!is_sha256_hex(digest)) return std::nullopt;
  if (text.size() > kHexLength && !std::isspace(static_cast<unsigned char>(text[kHexLength]))) return std::nullopt;
  return digest;
}

Expected<SidecarMatch> check_sidecar(const fs::path& file) {
  fs::path sidecar = file;
  sidecar += kSidecarSuffix;
  UniqueFd side_fd(::open(sidecar.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!side_fd && errno == ENOENT) return SidecarMatch::missing;
  if (!side_fd) return fail_errno("open sidecar", sidecar.string(), errno);
  std::string text = FERRY_TRY(read_all(side_fd.get(), sidecar.string(), kMaxSidecarBytes));
  auto expected = sidecar_digest(text);
  if (!expected) return SidecarMatch::differs;
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd && errno == ENOENT) return SidecarMatch::differs;  // gone meanwhile; its removal is seen separately
  if (!fd) return fail_errno("open package", file.string(), errno);
  auto actual = sha256_fd(fd.get());
  if (!actual) return std::unexpected(actual.error().with_context("hash package " + file.string()));
  return *actual == *expected ? SidecarMatch::matches : SidecarMatch::differs;
}

}  // namespace ferry::watch
