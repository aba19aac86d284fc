// Atomic delivery of a finished package file into folders (PRODUCT.md section 8):
// the bytes go to a temporary dot-named ".NAME.zip.ferry-XXXXXX.partial" created in
// the target folder itself, are fsync'ed, renamed to NAME.zip, and then the
// "NAME.zip.sha256" sidecar is written the same way as the done-marker for transfer
// tools. A watcher therefore sees either nothing or a whole package, and a folder on
// another file system than the package store works the same way (no cross-mount
// rename is ever attempted).
//
// Threads: every function blocks on disk; call from the worker pool. Concurrent
// deliveries into one folder are safe: under OnExists::rename two deliveries never
// take the same name.
#pragma once

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace ferry::delivery {

/// What to do when the folder already holds NAME.zip.
enum class OnExists {
  overwrite,  ///< replace it (atomically: readers see the old or the new file)
  rename,     ///< write NAME-2.zip, NAME-3.zip, ...: the first free name (default)
  skip,       ///< leave it alone and report the delivery as skipped
};

std::string_view to_string(OnExists policy);
/// "overwrite" | "rename" | "skip"; anything else is Errc::invalid_argument.
Expected<OnExists> parse_on_exists(std::string_view text);

struct Target {
  std::filesystem::path dir;              ///< must exist and be writable by ferryd
  OnExists on_exists = OnExists::rename;  ///< PRODUCT.md 11a: rename by default
};

struct Delivered {
  std::filesystem::path dir;
  std::optional<std::filesystem::path> file;  ///< the package's final path; nullopt when skipped
  std::string note;                           ///< "" normally; "renamed: ..." or "skipped: ... exists" for the record
};

/// Size of each copied chunk; cancellation is checked between chunks.
inline constexpr size_t kCopyChunkBytes = 1u << 20;

/// Delivers package_file into target.dir as "<package_name>.zip" (or the next free
/// "<package_name>-N.zip" under OnExists::rename) plus "<that name>.sha256" holding
/// "<sha256>  <file name>\n" (the format `sha256sum -c` reads). The package is
/// streamed, never held in memory, and made readable by everyone (0644) so transfer
/// tools running as other users can pick it up.
///
/// cancel (may be null) is polled between chunks; when set, the result is
/// Errc::cancelled. On cancellation or any failure the temporary file is removed and
/// nothing is left in the folder: if the sidecar cannot be written, the package file
/// just placed is removed again. Errors name the folder and what to do about it.
/// REQUIRES: package_name is a plain file name stem (no '/'); sha256 is lower-case hex.
Expected<Delivered> deliver(const std::filesystem::path& package_file, std::string_view package_name,
                            std::string_view sha256, const Target& target, const std::atomic<bool>* cancel);

/// Removes ferry's own leftover temporary files (is_ferry_partial(): ".*.ferry-*.partial")
/// directly inside dir, not in sub-folders, and returns how many it removed. Other
/// files, other tools' ".partial" files included, are never touched. A missing dir is
/// 0, not an error. Called on start, before any new delivery into dir begins.
Expected<int> remove_partials(const std::filesystem::path& dir);

}  // namespace ferry::delivery
