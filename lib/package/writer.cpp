// PackageWriter. libzip builds the archive in zip_close(); two custom libzip sources
// keep that within our rules:
//  - ArchiveSink is the archive itself: it writes straight into the caller's file
//    (created O_EXCL), so libzip never makes a temporary file with a name of its own;
//  - EntrySource feeds one entry, from memory or streamed from a file, and checks
//    cancellation, reports progress and re-hashes the bytes as libzip reads them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "package/package.h"
#include "package/package_impl.h"
#include "util/fd.h"
#include "util/guid.h"
#include "util/sha256.h"

namespace ferry::package {

namespace {

struct ArchiveSink {
  int fd = -1;
  zip_error_t error;
};

zip_int64_t sink_fail(ArchiveSink* s, int zip_code) {
  zip_error_set(&s->error, zip_code, errno);
  return -1;
}

zip_int64_t sink_seek(ArchiveSink* s, void* data, zip_uint64_t len) {
  auto* args = ZIP_SOURCE_GET_ARGS(zip_source_args_seek_t, data, len, &s->error);
  if (args == nullptr) return -1;
  if (::lseek(s->fd, args->offset, args->whence) < 0) return sink_fail(s, ZIP_ER_SEEK);
  return 0;
}

zip_int64_t sink_callback(void* user, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
  auto* s = static_cast<ArchiveSink*>(user);
  switch (cmd) {
    case ZIP_SOURCE_SUPPORTS:
      return ZIP_SOURCE_SUPPORTS_WRITABLE;
    case ZIP_SOURCE_STAT:  // "does not exist yet": libzip starts an empty archive
      zip_error_set(&s->error, ZIP_ER_READ, ENOENT);
      return -1;
    case ZIP_SOURCE_ERROR:
      return zip_error_to_data(&s->error, data, len);
    case ZIP_SOURCE_BEGIN_WRITE:
      if (::ftruncate(s->fd, 0) != 0 || ::lseek(s->fd, 0, SEEK_SET) != 0) return sink_fail(s, ZIP_ER_WRITE);
      return 0;
    case ZIP_SOURCE_WRITE:
      if (!write_all(s->fd, std::string_view(static_cast<const char*>(data), len), "package")) {
        return sink_fail(s, ZIP_ER_WRITE);
      }
      return static_cast<zip_int64_t>(len);
    case ZIP_SOURCE_SEEK_WRITE:
      return sink_seek(s, data, len);
    case ZIP_SOURCE_TELL_WRITE: {
      off_t pos = ::lseek(s->fd, 0, SEEK_CUR);
      return pos < 0 ? sink_fail(s, ZIP_ER_TELL) : pos;
    }
    case ZIP_SOURCE_COMMIT_WRITE:
      return ::fsync(s->fd) == 0 ? 0 : sink_fail(s, ZIP_ER_WRITE);
    default:  // OPEN/READ/CLOSE/SEEK/TELL of the (empty) old archive, ROLLBACK, REMOVE, FREE
      return 0;
  }
}

/// State every EntrySource of one writer reports into.
struct Shared {
  const WriterOptions* options = nullptr;
  uint64_t done = 0;
  uint64_t total = 0;
  std::string failure;  ///< the first failure an entry source saw, for finish()'s message
  Errc failure_code = Errc::io;
};

/// What one entry's bytes come from; owned by its libzip source. Content is, in this
/// order of precedence: a region of the writer's spill file (spill_fd >= 0), a file
/// (path), or memory (data).
struct EntrySource {
  std::string data;            ///< in-memory content, when path is empty and there is no spill
  std::filesystem::path path;  ///< streamed content
  int spill_fd = -1;           ///< not owned: the writer's spill file, open until zip_close
  uint64_t spill_offset = 0;   ///< where this entry's bytes start in the spill file
  std::string expected_sha256;
  uint64_t size = 0;
  time_t mtime = 0;
  Shared* shared = nullptr;
  UniqueFd fd;
  Sha256 hasher;
  uint64_t pos = 0;
  zip_error_t error;
};

zip_int64_t entry_fail(EntrySource* e, int zip_code, std::string why, Errc code = Errc::io) {
  if (e->shared->failure.empty()) {
    e->shared->failure = std::move(why);
    e->shared->failure_code = code;
  }
  zip_error_set(&e->error, zip_code, 0);
  return -1;
}

zip_int64_t entry_open(EntrySource* e) {
  e->pos = 0;
  e->hasher = Sha256();
  if (e->path.empty()) return 0;
  e->fd = UniqueFd(::open(e->path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!e->fd) return entry_fail(e, ZIP_ER_OPEN, e->path.string() + ": open: " + errno_text(errno));
  return 0;
}

// At the end of an entry: the bytes copied must be the ones the manifest names.
zip_int64_t entry_eof(EntrySource* e) {
  auto sha = e->hasher.finish_hex();
  e->hasher = Sha256();
  if (e->pos != e->size || sha != e->expected_sha256) {
    return entry_fail(e, ZIP_ER_INCONS,
                      e->path.string() + ": content changed while the package was written (expected SHA-256 " +
                          e->expected_sha256 + ", " + std::to_string(e->size) + " bytes; copied " + sha + ", " +
                          std::to_string(e->pos) + " bytes)",
                      Errc::corrupt);
  }
  return 0;
}

zip_int64_t entry_read(EntrySource* e, void* data, zip_uint64_t len) {
  if (e->shared->options->stop.stop_requested()) return entry_fail(e, ZIP_ER_CANCELLED, "cancelled", Errc::cancelled);
  ssize_t n = 0;
  if (e->spill_fd >= 0) {
    auto want = static_cast<size_t>(std::min<uint64_t>(len, e->size - std::min(e->pos, e->size)));
    do n = ::pread(e->spill_fd, data, want, static_cast<off_t>(e->spill_offset + e->pos));
    while (n < 0 && errno == EINTR);
    if (n < 0) return entry_fail(e, ZIP_ER_READ, "spill file: read: " + errno_text(errno));
  } else if (e->path.empty()) {
    n = static_cast<ssize_t>(std::min<uint64_t>(len, e->data.size() - std::min<uint64_t>(e->pos, e->data.size())));
    std::memcpy(data, e->data.data() + e->pos, static_cast<size_t>(n));
  } else {
    do n = ::read(e->fd.get(), data, len);
    while (n < 0 && errno == EINTR);
    if (n < 0) return entry_fail(e, ZIP_ER_READ, e->path.string() + ": read: " + errno_text(errno));
  }
  if (n == 0) return entry_eof(e) < 0 ? -1 : 0;
  e->hasher.update(std::string_view(static_cast<const char*>(data), static_cast<size_t>(n)));
  e->pos += static_cast<uint64_t>(n);
  e->shared->done += static_cast<uint64_t>(n);
  if (e->shared->options->progress) e->shared->options->progress(e->shared->done, e->shared->total);
  return n;
}

zip_int64_t entry_callback(void* user, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
  auto* e = static_cast<EntrySource*>(user);
  switch (cmd) {
    case ZIP_SOURCE_SUPPORTS:
      return ZIP_SOURCE_SUPPORTS_READABLE;
    case ZIP_SOURCE_OPEN:
      return entry_open(e);
    case ZIP_SOURCE_READ:
      return entry_read(e, data, len);
    case ZIP_SOURCE_CLOSE:
      e->fd = UniqueFd();
      return 0;
    case ZIP_SOURCE_STAT: {
      auto* st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &e->error);
      if (st == nullptr) return -1;
      zip_stat_init(st);
      st->valid = ZIP_STAT_SIZE | ZIP_STAT_MTIME;
      st->size = e->size;
      st->mtime = e->mtime;
      return sizeof(*st);
    }
    case ZIP_SOURCE_ERROR:
      return zip_error_to_data(&e->error, data, len);
    case ZIP_SOURCE_FREE:
      zip_error_fini(&e->error);
      delete e;
      return 0;
    default:
      zip_error_set(&e->error, ZIP_ER_OPNOTSUPP, 0);
      return -1;
  }
}

// Reads up to kProbeBytes at the start, middle and end of a file for choose_compression.
zip_int32_t probe_file(int fd, uint64_t size) {
  std::array<std::string, 3> samples;
  std::array<uint64_t, 3> offsets{0, size / 2, size > kProbeBytes ? size - kProbeBytes : 0};
  for (size_t i = 0; i < samples.size(); ++i) {
    samples[i].resize(std::min<uint64_t>(kProbeBytes, size));
    ssize_t n = ::pread(fd, samples[i].data(), samples[i].size(), static_cast<off_t>(offsets[i]));
    samples[i].resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  return choose_compression({samples[0], samples[1], samples[2]});
}

zip_int32_t probe_text(std::string_view text) {
  auto mid = text.size() / 2;
  return choose_compression({text.substr(0, kProbeBytes), text.substr(mid, kProbeBytes),
                             text.size() > kProbeBytes ? text.substr(text.size() - kProbeBytes) : std::string_view()});
}

}  // namespace

struct PackageWriter::Rep {
  std::filesystem::path path;
  WriterOptions options;
  ArchiveSink sink;
  UniqueFd fd;
  ZipPtr za;
  Shared shared;
  time_t mtime = ::time(nullptr);
  std::map<std::string, EntryDigest> entries;  ///< everything but manifest and signature
  std::set<std::string> objects;
  /// Object JSON waits here for zip_close instead of in memory: an unnamed O_TMPFILE
  /// beside the package (never a visible name, gone with the process). Opened on the
  /// first add_object; if the file system cannot make one, objects stay in memory.
  UniqueFd spill;
  uint64_t spill_size = 0;
  bool spill_tried = false;
  bool finished = false;

  ~Rep() {
    if (!finished) abandon();
    zip_error_fini(&sink.error);
  }
  /// Drops everything added and removes the partial file.
  void abandon();
  Expected<WriteResult> finish(Manifest& manifest, const signing::SecretKey& key);
  std::unexpected<Error> failed(Errc code, const std::string& what) const {
    return fail(code, "package " + path.string() + ": " + what);
  }
  Status add_entry(EntrySource* src, const std::string& name, zip_int32_t method);
  Status add_memory(const std::string& name, std::string data, EntryDigest digest);
  Status add_spilled(const std::string& name, std::string_view data, EntryDigest digest);
  int spill_fd();
  Expected<WriteResult> close();
};

Status PackageWriter::Rep::add_entry(EntrySource* src, const std::string& name, zip_int32_t method) {
  src->shared = &shared;
  src->mtime = mtime;
  zip_error_init(&src->error);
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* zs = zip_source_function_create(entry_callback, src, &err);
  if (zs == nullptr) {
    delete src;
    auto text = zip_error_text(&err);
    zip_error_fini(&err);
    return failed(Errc::internal, name + ": " + text);
  }
  zip_int64_t idx = zip_file_add(za.get(), name.c_str(), zs, ZIP_FL_ENC_UTF_8);
  if (idx < 0) {
    zip_source_free(zs);
    return failed(Errc::internal, name + ": " + zip_strerror(za.get()));
  }
  if (zip_set_file_compression(za.get(), static_cast<zip_uint64_t>(idx), method, method == ZIP_CM_DEFLATE ? 6 : 0) !=
      0) {
    return failed(Errc::internal, name + ": " + zip_strerror(za.get()));
  }
  return {};
}

Status PackageWriter::Rep::add_memory(const std::string& name, std::string data, EntryDigest digest) {
  auto method = probe_text(data);
  auto* src = new EntrySource;
  src->data = std::move(data);
  src->size = digest.size;
  src->expected_sha256 = std::move(digest.sha256);
  shared.total += src->size;
  return add_entry(src, name, method);
}

int PackageWriter::Rep::spill_fd() {
  if (!spill_tried) {
    spill_tried = true;
    auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    spill = UniqueFd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  }
  return spill.get();
}

// The compression choice is made now, while the text is at hand; libzip reads the
// bytes back from the spill file during zip_close.
Status PackageWriter::Rep::add_spilled(const std::string& name, std::string_view data, EntryDigest digest) {
  auto method = probe_text(data);
  if (auto st = write_all(spill.get(), data, "spill file"); !st) return failed(st.error().code, st.error().message);
  auto* src = new EntrySource;
  src->spill_fd = spill.get();
  src->spill_offset = spill_size;
  spill_size += data.size();
  src->size = digest.size;
  src->expected_sha256 = std::move(digest.sha256);
  shared.total += src->size;
  return add_entry(src, name, method);
}

Expected<PackageWriter> PackageWriter::create(const std::filesystem::path& path, WriterOptions options) {
  auto rep = std::make_unique<Rep>();
  rep->path = path;
  rep->options = std::move(options);
  rep->shared.options = &rep->options;
  zip_error_init(&rep->sink.error);
  rep->fd = UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!rep->fd) return fail_errno("create package", path.string(), errno);
  rep->sink.fd = rep->fd.get();
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_function_create(sink_callback, &rep->sink, &err);
  zip_t* za = src ? zip_open_from_source(src, ZIP_CREATE | ZIP_TRUNCATE, &err) : nullptr;
  if (za == nullptr) {
    if (src) zip_source_free(src);
    auto text = zip_error_text(&err);
    zip_error_fini(&err);
    return rep->failed(Errc::internal, "cannot start the zip archive: " + text);
  }
  rep->za.reset(za);
  return PackageWriter(std::move(rep));
}

PackageWriter::PackageWriter(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
PackageWriter::PackageWriter(PackageWriter&&) noexcept = default;
PackageWriter& PackageWriter::operator=(PackageWriter&&) noexcept = default;
PackageWriter::~PackageWriter() = default;

Status PackageWriter::add_object(std::string_view guid, std::string json_text) {
  if (!rep_ || rep_->finished) return fail(Errc::internal, "PackageWriter used after finish()");
  if (parse_guid(guid) != guid) {
    return rep_->failed(Errc::invalid_argument, "object GUID \"" + std::string(guid) + "\" is not a lower-case GUID");
  }
  if (!rep_->objects.insert(std::string(guid)).second) {
    return rep_->failed(Errc::conflict, "object " + std::string(guid) + " added twice");
  }
  auto name = object_entry_name(guid);
  EntryDigest digest{sha256_hex(json_text), json_text.size()};
  rep_->entries[name] = digest;
  if (rep_->spill_fd() >= 0) return rep_->add_spilled(name, json_text, digest);
  return rep_->add_memory(name, std::move(json_text), digest);
}

Expected<EntryDigest> PackageWriter::add_attachment(const std::filesystem::path& file,
                                                    std::optional<std::string_view> expected_sha256) {
  if (!rep_ || rep_->finished) return fail(Errc::internal, "PackageWriter used after finish()");
  if (expected_sha256) {
    auto it = rep_->entries.find(attachment_entry_name(*expected_sha256));
    if (it != rep_->entries.end()) return it->second;
  }
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open attachment", file.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno("stat attachment", file.string(), errno);
  if (!S_ISREG(st.st_mode)) return fail(Errc::invalid_argument, file.string() + ": attachment is not a regular file");
  std::string sha = expected_sha256 ? std::string(*expected_sha256) : FERRY_TRY(sha256_fd(fd.get()));
  if (!is_sha256_hex(sha)) {
    return fail(Errc::invalid_argument, "attachment SHA-256 \"" + sha + "\" is not 64 hex digits");
  }
  EntryDigest digest{sha, static_cast<uint64_t>(st.st_size)};
  auto name = attachment_entry_name(sha);
  if (rep_->entries.contains(name)) return rep_->entries[name];
  auto* src = new EntrySource;
  src->path = file;
  src->size = digest.size;
  src->expected_sha256 = sha;
  rep_->shared.total += digest.size;
  FERRY_TRY(rep_->add_entry(src, name, probe_file(fd.get(), digest.size)));
  rep_->entries[name] = digest;
  return digest;
}

namespace {

// Object hashes, entries and key id come from what was actually added, never from the caller.
Status fill_manifest(const std::set<std::string>& added, const std::map<std::string, EntryDigest>& entries, Manifest& m,
                     const signing::SecretKey& key) {
  std::set<std::string> listed;
  for (auto& o : m.objects) {
    if (!added.contains(o.guid)) {
      return fail(Errc::internal, "object " + o.guid + " is in the manifest but was not added");
    }
    o.sha256 = entries.at(object_entry_name(o.guid)).sha256;
    listed.insert(o.guid);
  }
  for (const auto& g : added) {
    if (!listed.contains(g)) return fail(Errc::internal, "object " + g + " was added but is not in the manifest");
  }
  m.format = std::string(kFormat);
  m.entries = entries;
  m.key_id = key.key_id();
  return {};
}

// The manifest's exact bytes; checked with the reader's own parser so a package that
// would be refused on import fails here, at the source, instead.
Expected<std::string> manifest_bytes(const Manifest& m) {
  try {
    auto j = to_json(m);
    if (auto back = manifest_from_json(j); !back) return std::unexpected(back.error());
    return j.dump(2) + "\n";
  } catch (const nlohmann::json::exception& e) {
    return fail(Errc::invalid_argument, std::string("manifest: ") + e.what());
  }
}

}  // namespace

Expected<WriteResult> PackageWriter::Rep::close() {
  zip_t* z = za.release();
  auto count = static_cast<uint64_t>(zip_get_num_entries(z, 0));
  if (zip_close(z) != 0) {
    bool cancelled = options.stop.stop_requested();
    std::string why = shared.failure.empty() ? std::string(zip_strerror(z)) : shared.failure;
    Errc code = shared.failure.empty() ? Errc::io : shared.failure_code;
    zip_discard(z);
    abandon();
    if (cancelled) return failed(Errc::cancelled, "export cancelled; the partial package was removed");
    return failed(code, why);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno("stat", path.string(), errno);
  finished = true;
  fd = UniqueFd();
  spill = UniqueFd();
  return WriteResult{static_cast<uint64_t>(st.st_size), count};
}

Expected<WriteResult> PackageWriter::finish(Manifest manifest, const signing::SecretKey& key, Manifest* written) {
  if (!rep_ || rep_->finished) return fail(Errc::internal, "PackageWriter used after finish()");
  auto result = rep_->finish(manifest, key);
  if (!result) {
    rep_->abandon();
    return result;
  }
  if (written) *written = std::move(manifest);
  return result;
}

Expected<WriteResult> PackageWriter::Rep::finish(Manifest& manifest, const signing::SecretKey& key) {
  if (auto st = fill_manifest(objects, entries, manifest, key); !st) return failed(st.error().code, st.error().message);
  auto bytes = manifest_bytes(manifest);
  if (!bytes) return failed(Errc::internal, bytes.error().message);
  auto sig = key.sign(*bytes);
  auto bytes_digest = EntryDigest{sha256_hex(*bytes), bytes->size()};
  FERRY_TRY(add_memory(std::string(kManifestEntry), std::move(*bytes), bytes_digest));
  auto sig_digest = EntryDigest{sha256_hex(sig), sig.size()};
  FERRY_TRY(add_memory(std::string(kSignatureEntry), std::move(sig), sig_digest));
  return close();
}

void PackageWriter::Rep::abandon() {
  za.reset();
  spill = UniqueFd();
  if (fd) ::unlink(path.c_str());
  fd = UniqueFd();
}

}  // namespace ferry::package
