// Private to the package module: the writer's output side.
//
//   ScratchFile  an unnamed temporary file (O_TMPFILE beside the package, else
//                memfd) with a small append buffer: manifest parts and central
//                directory records wait there instead of in memory.
//   ZipOut       writes a ZIP archive (APPNOTE 6.3, ZIP64 where needed) front to back
//                into one file and hashes the file as it goes, so the package's
//                SHA-256 needs no second read of the package.
//
// libzip builds an archive only in zip_close() and keeps a few hundred bytes per
// entry until then (about 40 MB for 100k objects); ZipOut writes each entry as it
// comes and keeps nothing per entry but its central record, on disk.
// One thread at a time, like the PackageWriter that owns them.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "util/error.h"
#include "util/fd.h"
#include "util/sha256.h"

namespace ferry::package {

class ScratchFile {
 public:
  /// An unnamed file in dir (O_TMPFILE: never visible, gone with the process); where
  /// the file system cannot make one, an anonymous memfd.
  static Expected<ScratchFile> create(const std::filesystem::path& dir);

  Status append(std::string_view bytes);
  Status flush();
  /// Bytes appended so far (flushed or not).
  uint64_t size() const { return size_; }
  /// For reading what was flushed (pread); the file stays owned here.
  int fd() const { return fd_.get(); }
  /// Flushes, then calls chunk with the whole content in order.
  Status read_all(const std::function<Status(std::string_view)>& chunk);

 private:
  UniqueFd fd_;
  std::string buffer_;
  uint64_t size_ = 0;
};

enum class Method : uint16_t { store = 0, deflate = 8 };

class ZipOut {
 public:
  /// fd: the package file, empty and positioned at 0. Entries get mtime as their time.
  ZipOut(int fd, ScratchFile central, time_t mtime);

  /// A whole entry whose (deflated or stored) data is at hand.
  Status add(std::string_view name, Method method, uint32_t crc, uint64_t size, std::string_view data);

  /// A streamed entry: begin(), data() any number of times, end(). size is the
  /// uncompressed size (decides ZIP64 up front); end() gets the CRC-32.
  Status begin(std::string_view name, Method method, uint64_t size);
  Status data(std::string_view bytes);
  Status end(uint32_t crc);

  /// Central directory and end records, fsync. Returns the archive's size.
  Expected<uint64_t> close();
  /// Lower-case hex SHA-256 of the archive; after close() only.
  std::string sha256_hex() { return hasher_.finish_hex(); }
  uint64_t entries() const { return entries_; }

 private:
  struct Open {
    std::string name;
    Method method = Method::store;
    uint64_t offset = 0;
    uint64_t size = 0;
    uint64_t written = 0;
    bool zip64 = false;
  };
  Status emit(std::string_view bytes);
  Status flush();
  Status hash_range(uint64_t from, uint64_t to);
  Status record_central(const Open& e, uint32_t crc, uint64_t comp_size);

  int fd_;
  ScratchFile central_;
  uint16_t dos_time_ = 0;
  uint16_t dos_date_ = 0;
  std::string buffer_;
  uint64_t pos_ = 0;        ///< file offset of buffer_'s first byte
  bool streaming_ = false;  ///< inside begin()..end(): hashed in end(), after the header is final
  Open open_;
  uint64_t entries_ = 0;
  Sha256 hasher_;
};

}  // namespace ferry::package
