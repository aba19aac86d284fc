// Owning file descriptor and whole-file helpers used by every module that touches disk.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "util/error.h"

namespace ferry {

/// Owns one file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

/// Reads everything readable from fd (for small documents: YAML, JSON, keys).
/// Fails past max_bytes so a wrong file cannot exhaust memory.
Expected<std::string> read_all(int fd, std::string_view name, size_t max_bytes = 64u << 20);

/// Reads a whole small file by path.
Expected<std::string> read_file(const std::filesystem::path& path, size_t max_bytes = 64u << 20);

/// Writes fully, retrying short writes and EINTR.
Status write_all(int fd, std::string_view data, std::string_view name);

/// fsync() a directory so a rename inside it is durable.
Status fsync_dir(const std::filesystem::path& dir);

/// The name of every temporary file ferry writes into a folder before renaming it to
/// final_name: ".FINAL_NAME.ferry-XXXXXX.partial". Dot-prefixed and ending in
/// ".partial" so watchers (ferry's and other tools') skip it; "ferry-" so cleanup
/// after a crash (is_ferry_partial) never touches another tool's temporary files.
/// The six X are for mkostemps() with kTempNameSuffixLength.
std::string temp_name_template(std::string_view final_name);

/// Length of ".partial", the suffix mkostemps() must keep after the X's.
inline constexpr int kTempNameSuffixLength = 8;

/// True for a file name ferry's temp_name_template() produced (any random part),
/// i.e. ".*.ferry-*.partial"; false for other tools' ".NAME.partial" files.
bool is_ferry_partial(std::string_view file_name);

/// Writes content to path so that readers see either the old file or the whole new
/// one: a temporary file named by temp_name_template() in the same folder, fsync,
/// rename, fsync of the folder. The temporary file is removed on failure.
Status write_file_atomic(const std::filesystem::path& path, std::string_view content, int mode = 0644);

}  // namespace ferry
