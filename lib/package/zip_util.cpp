#include "package/package_impl.h"

#include <zlib.h>

#include <vector>

#include "util/guid.h"
#include "util/sha256.h"

namespace ferry::package {

std::string zip_error_text(int zip_code, int sys_code) {
  zip_error_t err;
  zip_error_init_with_code(&err, zip_code);
  err.sys_err = sys_code;
  std::string text = zip_error_strerror(&err);
  zip_error_fini(&err);
  return text;
}

std::string zip_error_text(zip_error_t* error) { return zip_error_strerror(error); }

std::optional<std::string> unsafe_name_reason(std::string_view name) {
  if (name.empty()) return "empty entry name";
  if (name.front() == '/') return "absolute path";
  if (name.find('\\') != std::string_view::npos) return "backslash in the name";
  if (name.size() >= 2 && name[1] == ':') return "drive letter in the name";
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return "control character in the name";
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    auto part = name.substr(start, end - start);
    if (part == "..") return "\"..\" in the path";
    if (part == ".") return "\".\" in the path";
    // An empty part is "a//b"; a trailing '/' (directory entry) ends the loop here.
    if (part.empty() && end != name.size()) return "empty path component";
    start = end + 1;
  }
  return std::nullopt;
}

std::optional<std::string> entry_layout_error(std::string_view path) {
  if (path.starts_with("objects/") && path.ends_with(".json")) {
    auto guid = path.substr(8, path.size() - 8 - 5);
    if (parse_guid(guid) == guid) return std::nullopt;
    return "expected objects/<lower-case GUID>.json";
  }
  if (path.starts_with("attachments/")) {
    if (is_sha256_hex(path.substr(12))) return std::nullopt;
    return "expected attachments/<64 lower-case hex digits>";
  }
  return "not a package entry (expected objects/<guid>.json or attachments/<sha256>)";
}

namespace {

// Raw-deflate size of sample at the level the writer uses.
size_t deflated_size(std::string_view sample) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return sample.size();
  std::vector<unsigned char> out(deflateBound(&zs, sample.size()));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(sample.data()));
  zs.avail_in = static_cast<uInt>(sample.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t produced = zs.total_out;
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? produced : sample.size();
}

}  // namespace

bool store_instead(uint64_t size, uint64_t deflated_size) {
  uint64_t packed = std::max<uint64_t>(deflated_size, 1);
  return size / packed > kMaxWriterRatio || packed * 100 >= size * (100 - kMinSavingPercent);
}

zip_int32_t choose_compression(std::initializer_list<std::string_view> samples) {
  bool pays = false;
  for (auto sample : samples) {
    if (sample.empty()) continue;
    size_t packed = std::max<size_t>(deflated_size(sample), 1);
    if (sample.size() / packed > kMaxWriterRatio) return ZIP_CM_STORE;
    if (packed * 100 < sample.size() * (100 - kMinSavingPercent)) pays = true;
  }
  return pays ? ZIP_CM_DEFLATE : ZIP_CM_STORE;
}

}  // namespace ferry::package
