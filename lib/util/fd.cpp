#include "util/fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>

namespace ferry {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

Expected<std::string> read_all(int fd, std::string_view name, size_t max_bytes) {
  std::string out;
  std::array<char, 65536> buf;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("read", name, errno);
    if (n == 0) return out;
    out.append(buf.data(), static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return fail(Errc::invalid_argument,
                  std::string(name) + ": larger than " + std::to_string(max_bytes) + " bytes; is this the right file?");
    }
  }
}

Expected<std::string> read_file(const std::filesystem::path& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open", path.string(), errno);
  return read_all(fd.get(), path.string(), max_bytes);
}

Status write_all(int fd, std::string_view data, std::string_view name) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("write", name, errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status fsync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("open folder", dir.string(), errno);
  if (::fsync(fd.get()) != 0) return fail_errno("fsync folder", dir.string(), errno);
  return {};
}

std::string temp_name_template(std::string_view final_name) {
  return "." + std::string(final_name) + ".ferry-XXXXXX.partial";
}

bool is_ferry_partial(std::string_view file_name) {
  constexpr std::string_view kMarker = ".ferry-";
  constexpr std::string_view kSuffix = ".partial";
  if (!file_name.starts_with('.') || !file_name.ends_with(kSuffix)) return false;
  auto stem = file_name.substr(0, file_name.size() - kSuffix.size());
  auto marker = stem.rfind(kMarker);
  // A final name of at least one character before the marker, a random part after it.
  if (marker == std::string_view::npos || marker < 2) return false;
  auto random = stem.substr(marker + kMarker.size());
  return !random.empty() && random.find('.') == std::string_view::npos;
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view content, int mode) {
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::string tmpl = (dir / temp_name_template(path.filename().string())).string();
  UniqueFd fd(::mkostemps(tmpl.data(), kTempNameSuffixLength, O_CLOEXEC));
  if (!fd) return fail_errno("create temporary file", tmpl, errno);
  auto cleanup = [&](Error e) {
    ::unlink(tmpl.c_str());
    return std::unexpected(std::move(e));
  };
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) return cleanup(fail_errno("chmod", tmpl, errno).error());
  if (auto st = write_all(fd.get(), content, tmpl); !st) return cleanup(st.error());
  if (::fsync(fd.get()) != 0) return cleanup(fail_errno("fsync", tmpl, errno).error());
  fd = UniqueFd();
  if (::rename(tmpl.c_str(), path.c_str()) != 0) return cleanup(fail_errno("rename", path.string(), errno).error());
  return fsync_dir(dir);
}

}  // namespace ferry
