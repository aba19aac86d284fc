// Private to lib/watch: what the watcher asks of the file system. Name rules are pure;
// stat_regular() is one lstat; scan_folder() and check_sidecar() block on disk and run
// on a worker thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace ferry::watch {

inline constexpr std::string_view kSidecarSuffix = ".sha256";

/// What a directory entry's name makes it.
enum class NameKind {
  package,  ///< NAME.zip, not a dot-file
  sidecar,  ///< NAME.zip.sha256, not a dot-file
  other,    ///< dot-files, *.partial, everything else
};

NameKind classify(std::string_view file_name);

/// "NAME.zip" for "NAME.zip.sha256". Only for names classify() calls sidecars.
std::string package_of_sidecar(std::string_view sidecar_name);

/// What "unchanged" compares: the same file (device, inode) with the same size and mtime.
struct Stamp {
  dev_t dev = 0;
  ino_t ino = 0;
  std::uintmax_t size = 0;
  std::int64_t mtime_ns = 0;

  bool operator==(const Stamp&) const = default;
  bool same_file(const Stamp& o) const { return dev == o.dev && ino == o.ino; }
};

/// The path's stamp if it is a regular file (symbolic links are not followed), else nullopt.
std::optional<Stamp> stat_regular(const std::filesystem::path& path);

/// One look at the folder: its packages and sidecars (regular files only).
struct Listing {
  std::map<std::string, Stamp> packages;
  std::map<std::string, Stamp> sidecars;
};

/// Creates processed/ and failed/ if missing and lists the folder. Errors say what is
/// wrong with the folder and what to do. Worker thread.
Expected<Listing> scan_folder(const std::filesystem::path& dir);

enum class SidecarMatch {
  matches,  ///< NAME.zip.sha256 exists and names the package's SHA-256
  missing,  ///< no sidecar (yet)
  differs,  ///< a sidecar that is not a SHA-256 line, or names another hash
};

/// Reads FILE.sha256 and, if it holds a SHA-256, hashes FILE. Errors are for files
/// that exist but cannot be read. Worker thread.
Expected<SidecarMatch> check_sidecar(const std::filesystem::path& file);

/// The hex digest at the start of a sidecar's text ("<hex>  NAME.zip\n", as sha256sum
/// writes it; upper case accepted), or nullopt if it does not start with one.
std::optional<std::string> sidecar_digest(std::string_view text);

}  // namespace ferry::watch
