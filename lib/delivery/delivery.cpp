#include "delivery/delivery.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>
#include <vector>

#include "util/fd.h"
#include "util/sha256.h"

namespace ferry::delivery {
namespace fs = std::filesystem;

std::string_view to_string(OnExists policy) {
  switch (policy) {
    case OnExists::overwrite:
      return "overwrite";
    case OnExists::rename:
      return "rename";
    case OnExists::skip:
      return "skip";
  }
  return "unknown";
}

Expected<OnExists> parse_on_exists(std::string_view text) {
  if (text == "overwrite") return OnExists::overwrite;
  if (text == "rename") return OnExists::rename;
  if (text == "skip") return OnExists::skip;
  return fail(Errc::invalid_argument, "on_exists '" + std::string(text) + "' is not overwrite, rename or skip");
}

namespace {

/// Names NAME.zip, NAME-2.zip ... NAME-kMaxRenameSuffix.zip are tried before giving up.
constexpr int kMaxRenameSuffix = 10'000;
/// Package files are readable by transfer tools that run as other users.
constexpr mode_t kDeliveredMode = 0644;
/// Leaves room for "-NNNNN", ".sha256" and the temporary name's additions in NAME_MAX.
constexpr size_t kMaxPackageNameBytes = 200;

/// An operator-facing error about the target folder: what went wrong and what to do.
Error folder_error(const fs::path& dir, std::string_view what, int err) {
  std::string reason = errno_text(err);
  std::string folder = "folder " + dir.string();
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Error{Errc::not_found, folder + " does not exist: " + std::string(what) + ": " + reason +
                                        "; create it or correct the folder in the configuration"};
    case EACCES:
    case EPERM:
    case EROFS:
      return Error{Errc::io, folder + " is not writable by ferryd (uid " + std::to_string(::geteuid()) +
                                 "): " + std::string(what) + ": " + reason +
                                 "; give that user write access to the folder or choose another one"};
    case ENOSPC:
    case EDQUOT:
      return Error{Errc::io,
                   folder + ": " + std::string(what) + ": " + reason + "; free space there or choose another folder"};
    default:
      return Error{Errc::io, folder + ": " + std::string(what) + ": " + reason};
  }
}

bool is_cancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(); }

Status check_arguments(std::string_view package_name, std::string_view sha256) {
  if (package_name.empty() || package_name.starts_with('.') || package_name.find('/') != std::string_view::npos ||
      package_name.find('\0') != std::string_view::npos || package_name.size() > kMaxPackageNameBytes) {
    return fail(Errc::invalid_argument, "package name '" + std::string(package_name) +
                                            "' cannot be a file name: it must be 1-200 bytes, without '/' "
                                            "and not start with '.'");
  }
  if (!is_sha256_hex(sha256)) {
    return fail(Errc::invalid_argument, "'" + std::string(sha256) + "' is not a lower-case hex SHA-256");
  }
  return {};
}

/// The temporary file in the target folder. Removed on destruction unless placed().
class TempFile {
 public:
  static Expected<TempFile> create(const fs::path& dir, std::string_view final_name) {
    std::string tmpl = (dir / temp_name_template(final_name)).string();
    UniqueFd fd(::mkostemps(tmpl.data(), kTempNameSuffixLength, O_CLOEXEC));
    if (!fd) return std::unexpected(folder_error(dir, "create temporary file", errno));
    return TempFile(std::move(tmpl), std::move(fd));
  }
  TempFile(TempFile&& o) noexcept : path_(std::exchange(o.path_, {})), fd_(std::move(o.fd_)) {}
  TempFile& operator=(TempFile&&) = delete;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  /// Sets the final mode, makes the bytes durable and closes the file.
  Status finish(const fs::path& dir) {
    if (::fchmod(fd_.get(), kDeliveredMode) != 0) return std::unexpected(folder_error(dir, "chmod", errno));
    if (::fsync(fd_.get()) != 0) return std::unexpected(folder_error(dir, "fsync", errno));
    if (::close(fd_.release()) != 0) return std::unexpected(folder_error(dir, "close", errno));
    return {};
  }

  /// The file now lives under its final name; nothing to remove any more.
  void placed() { path_.clear(); }

 private:
  TempFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

/// copy_file_range() lets the kernel copy (or reflink) without passing the bytes
/// through user space. Some file systems and kernels refuse it (notably across
/// mounts before Linux 5.19); the caller then falls back to read()/write().
bool kernel_copy_unsupported(int err) { return err == EXDEV || err == ENOSYS || err == EINVAL || err == EOPNOTSUPP; }

/// Copies up to one chunk with read()/write(); returns the bytes copied, 0 at the end.
Expected<size_t> user_copy_chunk(int src, const fs::path& package_file, int dst, const fs::path& dir,
                                 std::vector<char>& buffer) {
  buffer.resize(kCopyChunkBytes);
  ssize_t n = ::read(src, buffer.data(), buffer.size());
  while (n < 0 && errno == EINTR) n = ::read(src, buffer.data(), buffer.size());
  if (n < 0) return fail_errno("read package", package_file.string(), errno);
  std::string_view data(buffer.data(), static_cast<size_t>(n));
  while (!data.empty()) {
    ssize_t w = ::write(dst, data.data(), data.size());
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return std::unexpected(folder_error(dir, "write", errno));
    data.remove_prefix(static_cast<size_t>(w));
  }
  return static_cast<size_t>(n);
}

/// Streams src to dst in chunks of kCopyChunkBytes, polling cancel between chunks.
Status copy_stream(int src, const fs::path& package_file, int dst, const fs::path& dir,
                   const std::atomic<bool>* cancel) {
  bool kernel_copy = true;
  std::vector<char> buffer;  // only allocated if the kernel copy is refused
  for (;;) {
    if (is_cancelled(cancel)) {
      return fail(Errc::cancelled, "delivery into folder " + dir.string() + " cancelled; nothing was left there");
    }
    if (kernel_copy) {
      ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, kCopyChunkBytes, 0);
      if (n > 0) continue;
      if (n == 0) return {};
      if (errno == EINTR) continue;
      if (!kernel_copy_unsupported(errno)) return std::unexpected(folder_error(dir, "copy package", errno));
      kernel_copy = false;  // offsets advanced so far stay valid for read()/write()
    }
    size_t n = FERRY_TRY(user_copy_chunk(src, package_file, dst, dir, buffer));
    if (n == 0) return {};
  }
}

/// rename(from, to) that fails with EEXIST instead of replacing, so two deliveries can
/// never take the same name. Where renameat2() is not supported (some network file
/// systems), link() + unlink() gives the same guarantee. Returns 0 or an errno.
/// EOPNOTSUPP when the file system has neither (vfat, some SMB and FUSE mounts).
int rename_noreplace(const std::string& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return errno;
  if (::link(from.c_str(), to.c_str()) != 0) return errno == EPERM ? EOPNOTSUPP : errno;
  ::unlink(from.c_str());  // if this fails, remove_partials() cleans it up on the next start
  return 0;
}

Error placement_error(const fs::path& dir, const std::string& file_name, int err) {
  if (err != EOPNOTSUPP) return folder_error(dir, "rename to " + file_name, err);
  return Error{Errc::io, "folder " + dir.string() +
                             ": its file system can neither rename without replacing nor "
                             "hard-link, so ferry cannot take " +
                             file_name + " safely; use on_exists: overwrite for this folder"};
}

std::string sidecar_name(const std::string& file_name) { return file_name + ".sha256"; }

bool name_taken(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

/// A sidecar left for a name that no longer holds a package would briefly pair the
/// new package with the old checksum; transfer tools must never see that.
Status remove_stale_sidecar(const fs::path& dir, const std::string& file_name) {
  auto sidecar = dir / sidecar_name(file_name);
  if (::unlink(sidecar.c_str()) != 0 && errno != ENOENT) {
    return std::unexpected(folder_error(dir, "remove old " + sidecar.filename().string(), errno));
  }
  return {};
}

/// OnExists::rename: the first NAME.zip, NAME-2.zip ... that holds neither a package nor a sidecar.
Expected<fs::path> place_renamed(TempFile& tmp, const fs::path& dir, std::string_view name) {
  for (int n = 1; n <= kMaxRenameSuffix; ++n) {
    std::string file_name = std::string(name) + (n == 1 ? "" : "-" + std::to_string(n)) + ".zip";
    auto path = dir / file_name;
    if (name_taken(dir / sidecar_name(file_name))) continue;
    int err = rename_noreplace(tmp.path(), path);
    if (err == EEXIST) continue;
    if (err != 0) return std::unexpected(placement_error(dir, file_name, err));
    tmp.placed();
    return path;
  }
  return fail(Errc::conflict, "folder " + dir.string() + " already holds " + std::string(name) + ".zip up to " +
                                  std::string(name) + "-" + std::to_string(kMaxRenameSuffix) +
                                  ".zip; clean it up or deliver with on_exists overwrite");
}

/// Moves the temporary file to its final name under policy; nullopt when skipped.
Expected<std::optional<fs::path>> place(TempFile& tmp, const Target& target, std::string_view name) {
  if (target.on_exists == OnExists::rename) return FERRY_TRY(place_renamed(tmp, target.dir, name));
  std::string file_name = std::string(name) + ".zip";
  auto path = target.dir / file_name;
  FERRY_TRY(remove_stale_sidecar(target.dir, file_name));
  if (target.on_exists == OnExists::overwrite) {
    if (::rename(tmp.path().c_str(), path.c_str()) != 0) {
      return std::unexpected(folder_error(target.dir, "rename to " + file_name, errno));
    }
  } else if (int err = rename_noreplace(tmp.path(), path); err == EEXIST) {
    return std::nullopt;  // skip: another delivery placed it since deliver() looked
  } else if (err != 0) {
    return std::unexpected(placement_error(target.dir, file_name, err));
  }
  tmp.placed();
  return path;
}

/// Writes the sidecar; if that fails, takes the package back out of the folder so a
/// transfer tool never waits forever for a done-marker that will not come.
Status write_sidecar(const fs::path& file, std::string_view sha256) {
  std::string file_name = file.filename().string();
  std::string content = std::string(sha256) + "  " + file_name + "\n";
  Status st = write_file_atomic(file.parent_path() / sidecar_name(file_name), content, kDeliveredMode);
  if (st) return {};
  ::unlink(file.c_str());
  (void)fsync_dir(file.parent_path());
  return std::unexpected(st.error().with_context("folder " + file.parent_path().string() + ": write " +
                                                 sidecar_name(file_name) + " (the package was removed again)"));
}

std::string skipped_note(const fs::path& path) { return "skipped: " + path.string() + " exists"; }

/// Copies the package into a temporary file in the folder and places it; nullopt when skipped.
Expected<std::optional<fs::path>> copy_and_place(const fs::path& package_file, std::string_view name,
                                                 const Target& target, const std::atomic<bool>* cancel) {
  UniqueFd src(::open(package_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src) return fail_errno("open package", package_file.string(), errno);
  auto tmp = FERRY_TRY(TempFile::create(target.dir, std::string(name) + ".zip"));
  FERRY_TRY(copy_stream(src.get(), package_file, tmp.fd(), target.dir, cancel));
  FERRY_TRY(tmp.finish(target.dir));
  if (is_cancelled(cancel)) {
    return fail(Errc::cancelled, "delivery into folder " + target.dir.string() + " cancelled; nothing was left there");
  }
  auto placed = FERRY_TRY(place(tmp, target, name));
  if (auto st = fsync_dir(target.dir); !st) {
    if (placed) ::unlink(placed->c_str());
    return std::unexpected(st.error());
  }
  return placed;
}

}  // namespace

Expected<Delivered> deliver(const fs::path& package_file, std::string_view package_name, std::string_view sha256,
                            const Target& target, const std::atomic<bool>* cancel) {
  FERRY_TRY(check_arguments(package_name, sha256));
  Delivered out{target.dir, std::nullopt, ""};
  auto wanted = target.dir / (std::string(package_name) + ".zip");
  // Looking first saves copying a large package only to throw it away; place() still
  // refuses to replace, in case another delivery takes the name meanwhile.
  if (target.on_exists == OnExists::skip && name_taken(wanted)) {
    out.note = skipped_note(wanted);
    return out;
  }
  auto placed = FERRY_TRY(copy_and_place(package_file, package_name, target, cancel));
  if (!placed) {
    out.note = skipped_note(wanted);
    return out;
  }
  FERRY_TRY(write_sidecar(*placed, sha256));
  if (*placed != wanted) out.note = "renamed: " + wanted.filename().string() + " exists";
  out.file = std::move(*placed);
  return out;
}

Expected<int> remove_partials(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return 0;
  if (ec) return std::unexpected(folder_error(dir, "list", ec.value()));
  int removed = 0;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    auto name = it->path().filename().string();
    // Only regular files ferry named itself; a symlink or folder is never ferry's.
    if (!is_ferry_partial(name) || it->symlink_status(ec).type() != fs::file_type::regular) continue;
    if (::unlink(it->path().c_str()) == 0) {
      ++removed;
    } else if (errno != ENOENT) {
      return std::unexpected(folder_error(dir, "remove " + name, errno));
    }
  }
  // increment() reports a failure by setting ec and turning `it` into the end iterator.
  if (ec) return std::unexpected(folder_error(dir, "list", ec.value()));
  return removed;
}

}  // namespace ferry::delivery
