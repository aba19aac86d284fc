#include "package/zip_out.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace ferry::package {

namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;
constexpr size_t kScratchBufferBytes = size_t{128} << 10;
constexpr uint32_t kMax32 = 0xffffffffu;
/// A deflated entry at least this large (uncompressed) gets ZIP64 sizes up front:
/// its compressed size is not known when the local header is written, and deflate
/// can grow incompressible input by a little.
constexpr uint64_t kZip64Above = 0xf0000000u;

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50;
constexpr uint32_t kLocator64Sig = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
/// "Version made by": Unix (3), APPNOTE 4.5, so readers take the external
/// attributes as a Unix mode (a regular file, 0644).
constexpr uint16_t kMadeBy = (3 << 8) | 45;
constexpr uint32_t kRegularFile0644 = 0100644u << 16;

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v & 0xffff));
  put16(out, static_cast<uint16_t>(v >> 16));
}
void put64(std::string& out, uint64_t v) {
  put32(out, static_cast<uint32_t>(v & kMax32));
  put32(out, static_cast<uint32_t>(v >> 32));
}
uint32_t clamp32(uint64_t v) { return v >= kMax32 ? kMax32 : static_cast<uint32_t>(v); }

uint16_t version_needed(Method method, bool zip64) {
  if (zip64) return 45;
  return method == Method::deflate ? 20 : 10;
}

std::unexpected<Error> io_error(const char* what, int err) {
  return fail(Errc::io, std::string(what) + ": " + errno_text(err));
}

}  // namespace

// ---------------------------------------------------------------------------------

Expected<ScratchFile> ScratchFile::create(const std::filesystem::path& dir) {
  ScratchFile f;
  auto where = dir.empty() ? std::filesystem::path(".") : dir;
  f.fd_ = UniqueFd(::open(where.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!f.fd_) f.fd_ = UniqueFd(::memfd_create("ferry-scratch", MFD_CLOEXEC));
  if (!f.fd_) return io_error("temporary file", errno);
  return f;
}

Status ScratchFile::append(std::string_view bytes) {
  buffer_.append(bytes);
  size_ += bytes.size();
  return buffer_.size() >= kScratchBufferBytes ? flush() : Status{};
}

Status ScratchFile::flush() {
  if (buffer_.empty()) return {};
  auto st = write_all(fd_.get(), buffer_, "temporary file");
  buffer_.clear();
  return st;
}

Status ScratchFile::read_all(const std::function<Status(std::string_view)>& chunk) {
  FERRY_TRY(flush());
  std::string buf(kScratchBufferBytes, '\0');
  for (uint64_t at = 0; at < size_;) {
    ssize_t n = ::pread(fd_.get(), buf.data(), std::min<uint64_t>(buf.size(), size_ - at), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("temporary file: read", errno);
    if (n == 0) return fail(Errc::io, "temporary file: shorter than written");
    FERRY_TRY(chunk(std::string_view(buf.data(), static_cast<size_t>(n))));
    at += static_cast<uint64_t>(n);
  }
  return {};
}

// ---------------------------------------------------------------------------------

ZipOut::ZipOut(int fd, ScratchFile central, time_t mtime) : fd_(fd), central_(std::move(central)) {
  struct tm tm {};
  ::localtime_r(&mtime, &tm);
  int year = std::clamp(tm.tm_year + 1900, 1980, 2107);
  dos_time_ = static_cast<uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
  dos_date_ = static_cast<uint16_t>(((year - 1980) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  buffer_.reserve(kBufferBytes);
}

Status ZipOut::emit(std::string_view bytes) {
  if (!streaming_) hasher_.update(bytes);
  if (buffer_.size() + bytes.size() > kBufferBytes) FERRY_TRY(flush());
  if (bytes.size() >= kBufferBytes) {
    FERRY_TRY(write_all(fd_, bytes, "package"));
    pos_ += bytes.size();
    return {};
  }
  buffer_.append(bytes);
  return {};
}

Status ZipOut::flush() {
  if (buffer_.empty()) return {};
  FERRY_TRY(write_all(fd_, buffer_, "package"));
  pos_ += buffer_.size();
  buffer_.clear();
  return {};
}

namespace {

std::string local_header(std::string_view name, Method method, bool zip64, uint32_t crc, uint64_t comp, uint64_t size,
                         uint16_t dos_time, uint16_t dos_date) {
  std::string h;
  h.reserve(30 + name.size() + 20);
  put32(h, kLocalSig);
  put16(h, version_needed(method, zip64));
  put16(h, 0);  // flags: sizes are in this header, no data descriptor
  put16(h, static_cast<uint16_t>(method));
  put16(h, dos_time);
  put16(h, dos_date);
  put32(h, crc);
  put32(h, zip64 ? kMax32 : static_cast<uint32_t>(comp));
  put32(h, zip64 ? kMax32 : static_cast<uint32_t>(size));
  put16(h, static_cast<uint16_t>(name.size()));
  put16(h, zip64 ? 20 : 0);
  h.append(name);
  if (zip64) {
    put16(h, kZip64ExtraId);
    put16(h, 16);
    put64(h, size);
    put64(h, comp);
  }
  return h;
}

}  // namespace

Status ZipOut::add(std::string_view name, Method method, uint32_t crc, uint64_t size, std::string_view data) {
  if (name.size() > 0xffff) return fail(Errc::invalid_argument, "entry name too long");
  Open e{std::string(name), method, pos_ + buffer_.size(), size, data.size(), size >= kMax32 || data.size() >= kMax32};
  FERRY_TRY(emit(local_header(name, method, e.zip64, crc, data.size(), size, dos_time_, dos_date_)));
  FERRY_TRY(emit(data));
  return record_central(e, crc, data.size());
}

Status ZipOut::begin(std::string_view name, Method method, uint64_t size) {
  if (name.size() > 0xffff) return fail(Errc::invalid_argument, "entry name too long");
  FERRY_TRY(flush());
  open_ =
      Open{std::string(name), method, pos_, size, 0, method == Method::deflate ? size >= kZip64Above : size >= kMax32};
  streaming_ = true;
  return emit(local_header(name, method, open_.zip64, 0, 0, 0, dos_time_, dos_date_));
}

Status ZipOut::data(std::string_view bytes) {
  open_.written += bytes.size();
  return emit(bytes);
}

// The local header is rewritten in place with the real sizes, then the entry is
// hashed from the file (still in the page cache): the hash must see the final header.
Status ZipOut::end(uint32_t crc) {
  FERRY_TRY(flush());
  streaming_ = false;
  uint64_t comp = open_.written;
  if (!open_.zip64 && comp >= kMax32) return fail(Errc::internal, open_.name + ": compressed size needs ZIP64");
  auto header = local_header(open_.name, open_.method, open_.zip64, crc, comp, open_.size, dos_time_, dos_date_);
  ssize_t n = ::pwrite(fd_, header.data(), header.size(), static_cast<off_t>(open_.offset));
  if (n != static_cast<ssize_t>(header.size())) return io_error("package: rewrite a local header", errno);
  FERRY_TRY(hash_range(open_.offset, pos_));
  return record_central(open_, crc, comp);
}

Status ZipOut::hash_range(uint64_t from, uint64_t to) {
  std::string buf(std::min<uint64_t>(kScratchBufferBytes, to - from), '\0');
  while (from < to) {
    ssize_t n = ::pread(fd_, buf.data(), std::min<uint64_t>(buf.size(), to - from), static_cast<off_t>(from));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error("package: read back", n < 0 ? errno : EIO);
    hasher_.update(std::string_view(buf.data(), static_cast<size_t>(n)));
    from += static_cast<uint64_t>(n);
  }
  return {};
}

// Central records wait in a scratch file: nothing per entry stays in memory.
Status ZipOut::record_central(const Open& e, uint32_t crc, uint64_t comp) {
  bool offset64 = e.offset >= kMax32;
  std::string extra;
  if (e.zip64) {
    put64(extra, e.size);
    put64(extra, comp);
  }
  if (offset64) put64(extra, e.offset);
  std::string c;
  c.reserve(46 + e.name.size() + 4 + extra.size());
  put32(c, kCentralSig);
  put16(c, kMadeBy);
  put16(c, version_needed(e.method, e.zip64 || offset64));
  put16(c, 0);
  put16(c, static_cast<uint16_t>(e.method));
  put16(c, dos_time_);
  put16(c, dos_date_);
  put32(c, crc);
  put32(c, e.zip64 ? kMax32 : static_cast<uint32_t>(comp));
  put32(c, e.zip64 ? kMax32 : static_cast<uint32_t>(e.size));
  put16(c, static_cast<uint16_t>(e.name.size()));
  put16(c, static_cast<uint16_t>(extra.empty() ? 0 : extra.size() + 4));
  put16(c, 0);  // comment
  put16(c, 0);  // disk
  put16(c, 0);  // internal attributes
  put32(c, kRegularFile0644);
  put32(c, clamp32(e.offset));
  c.append(e.name);
  if (!extra.empty()) {
    put16(c, kZip64ExtraId);
    put16(c, static_cast<uint16_t>(extra.size()));
    c.append(extra);
  }
  ++entries_;
  return central_.append(c);
}

Expected<uint64_t> ZipOut::close() {
  FERRY_TRY(flush());
  uint64_t cd_offset = pos_;
  uint64_t cd_size = central_.size();
  FERRY_TRY(central_.read_all([this](std::string_view chunk) { return emit(chunk); }));
  FERRY_TRY(flush());
  std::string end;
  if (entries_ >= 0xffff || cd_offset >= kMax32 || cd_size >= kMax32) {
    uint64_t end64_offset = pos_;
    put32(end, kEnd64Sig);
    put64(end, 44);  // size of the rest of this record
    put16(end, kMadeBy);
    put16(end, 45);
    put32(end, 0);
    put32(end, 0);
    put64(end, entries_);
    put64(end, entries_);
    put64(end, cd_size);
    put64(end, cd_offset);
    put32(end, kLocator64Sig);
    put32(end, 0);
    put64(end, end64_offset);
    put32(end, 1);
  }
  put32(end, kEndSig);
  put16(end, 0);
  put16(end, 0);
  put16(end, static_cast<uint16_t>(std::min<uint64_t>(entries_, 0xffff)));
  put16(end, static_cast<uint16_t>(std::min<uint64_t>(entries_, 0xffff)));
  put32(end, clamp32(cd_size));
  put32(end, clamp32(cd_offset));
  put16(end, 0);  // comment
  FERRY_TRY(emit(end));
  FERRY_TRY(flush());
  if (::fsync(fd_) != 0) return io_error("package: fsync", errno);
  return pos_;
}

}  // namespace ferry::package
