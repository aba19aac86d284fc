// Private to the catalog module: the content-addressed blob store.
#pragma once

#include <filesystem>
#include <string_view>

#include "catalog/catalog.h"
#include "util/error.h"

namespace ferry::catalog::detail {

/// Files named by their SHA-256 under root: root/<first 2 hex>/<sha256>. A blob is
/// written once and never changed. Thread-safe without a lock: every store goes
/// through its own temporary file and an atomic rename.
class BlobStore {
 public:
  explicit BlobStore(std::filesystem::path root) : root_(std::move(root)) {}

  /// Creates the root folder if missing.
  Status prepare() const;
  /// Deletes the temporary files a crash left in root (util's is_ferry_partial names;
  /// no other file is touched). Only while no store() runs: Catalog::open calls it,
  /// before the catalog exists, and one ferryd owns a state folder.
  Status remove_partials() const;
  /// Streams fd (64 KiB at a time) into a temporary file in root named by util's
  /// temp_name_template("blob"), hashing as it goes; fsync; renames it into place, or
  /// drops it when the blob already exists.
  Expected<Attachment> store(int fd, std::string_view name) const;
  std::filesystem::path path(std::string_view sha256) const;
  bool contains(std::string_view sha256) const;

 private:
  Expected<std::filesystem::path> move_into_place(const std::string& tmp, std::string_view sha256) const;

  std::filesystem::path root_;
};

}  // namespace ferry::catalog::detail
