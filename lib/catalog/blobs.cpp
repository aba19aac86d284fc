#include "catalog/blobs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

#include "util/fd.h"
#include "util/sha256.h"

namespace ferry::catalog::detail {
namespace {

constexpr size_t kChunk = 64 * 1024;

struct Copied {
  std::string sha256;
  uint64_t size = 0;
};

/// Copies fd to out while hashing; never holds more than one chunk in memory.
Expected<Copied> copy_hashing(int fd, int out, std::string_view name, const std::string& tmp) {
  Sha256 hash;
  Copied result;
  std::array<char, kChunk> buf;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("read", name, errno);
    if (n == 0) break;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    hash.update(chunk);
    FERRY_TRY(write_all(out, chunk, tmp));
    result.size += chunk.size();
  }
  result.sha256 = hash.finish_hex();
  return result;
}

}  // namespace

Status BlobStore::prepare() const {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) return fail(Errc::io, root_.string() + ": cannot create the blob folder: " + ec.message());
  return {};
}

std::filesystem::path BlobStore::path(std::string_view sha256) const {
  return root_ / std::string(sha256.substr(0, 2)) / std::string(sha256);
}

bool BlobStore::contains(std::string_view sha256) const {
  std::error_code ec;
  return is_sha256_hex(sha256) && std::filesystem::is_regular_file(path(sha256), ec);
}

Status BlobStore::remove_partials() const {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    if (!is_ferry_partial(it->path().filename().string())) continue;
    if (::unlink(it->path().c_str()) != 0 && errno != ENOENT) {
      return fail_errno("remove the leftover temporary blob", it->path().string(), errno);
    }
  }
  if (ec) return fail(Errc::io, root_.string() + ": cannot list the blob folder: " + ec.message());
  return {};
}

Expected<Attachment> BlobStore::store(int fd, std::string_view name) const {
  // The final name is the hash, known only at the end: every blob starts as ".blob.ferry-XXXXXX.partial".
  std::string tmp = (root_ / temp_name_template("blob")).string();
  UniqueFd out(::mkostemps(tmp.data(), kTempNameSuffixLength, O_CLOEXEC));
  if (!out) return fail_errno("create temporary blob", tmp, errno);
  auto drop = [&](Error e) {
    ::unlink(tmp.c_str());
    return std::unexpected(std::move(e));
  };
  ::fchmod(out.get(), 0644);  // mkostemp makes 0600; blobs are read by the exporter
  auto copied = copy_hashing(fd, out.get(), name, tmp);
  if (!copied) return drop(copied.error());
  if (::fsync(out.get()) != 0) return drop(fail_errno("fsync", tmp, errno).error());
  out = UniqueFd();
  auto placed = move_into_place(tmp, copied->sha256);
  if (!placed) return drop(placed.error());
  return Attachment{std::string(name), copied->sha256, copied->size};
}

Expected<std::filesystem::path> BlobStore::move_into_place(const std::string& tmp, std::string_view sha256) const {
  auto final_path = path(sha256);
  if (contains(sha256)) {  // same bytes already stored: keep the one copy
    ::unlink(tmp.c_str());
    return final_path;
  }
  std::error_code ec;
  bool created = std::filesystem::create_directories(final_path.parent_path(), ec);
  if (ec) return fail(Errc::io, final_path.parent_path().string() + ": cannot create folder: " + ec.message());
  if (created) FERRY_TRY(fsync_dir(root_));  // make the new fan-out folder durable
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) return fail_errno("rename", final_path.string(), errno);
  FERRY_TRY(fsync_dir(final_path.parent_path()));
  return final_path;
}

}  // namespace ferry::catalog::detail
