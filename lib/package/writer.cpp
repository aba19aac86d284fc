// PackageWriter: entries go into the zip (ZipOut) as they are added. Deflating and
// hashing run on an OrderedPool; the calling thread reads files, SHA-256es
// attachments (the hash must run in order), and writes finished tasks into the zip
// in the order they were submitted. Attachments and the manifest are cut into
// 512 KiB blocks deflated independently, each primed with the previous block's last 32 KiB
// (as pigz does), so one large file keeps every worker busy and the output is one
// ordinary deflate stream.
//
// manifest.json is written last, from scratch files that collected its lists as
// entries went in; it is signed streaming (signing::SecretKey::sign_streamed) and
// deflated like an attachment.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "package/package.h"
#include "package/package_impl.h"
#include "package/zip_out.h"
#include "util/fd.h"
#include "util/guid.h"
#include "util/ordered_pool.h"
#include "util/sha256.h"

namespace ferry::package {

namespace {

constexpr size_t kBlockBytes = size_t{512} << 10;
constexpr size_t kWindowBytes = 32 * 1024;  ///< deflate's window: the dictionary a block carries over
/// Bounds the bytes waiting in the pool (inputs of blocks and objects not yet written).
constexpr uint64_t kMaxInFlightBytes = uint64_t{6} << 20;
constexpr size_t kMaxInFlightTasks = 512;

/// One raw-deflate stream per thread at level 6 (what `zip -6` uses), reset per use.
class Deflater {
 public:
  Deflater() { ok_ = deflateInit2(&zs_, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK; }
  ~Deflater() {
    if (ok_) deflateEnd(&zs_);
  }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  /// Deflates in, after dict (the bytes before it in the same entry). Z_FINISH ends
  /// the stream; Z_SYNC_FLUSH ends on a byte boundary so the next block can follow.
  bool run(std::string_view dict, std::string_view in, int flush, std::string& out) {
    if (!ok_ || deflateReset(&zs_) != Z_OK) return false;
    if (!dict.empty() && deflateSetDictionary(&zs_, reinterpret_cast<const Bytef*>(dict.data()),
                                              static_cast<uInt>(dict.size())) != Z_OK) {
      return false;
    }
    out.resize(deflateBound(&zs_, in.size()) + 64);
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    size_t produced = 0;
    for (;;) {
      zs_.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      zs_.avail_out = static_cast<uInt>(out.size() - produced);
      int rc = deflate(&zs_, flush);
      produced = out.size() - zs_.avail_out;
      if (rc == Z_STREAM_END || (rc == Z_OK && zs_.avail_out > 0 && flush != Z_FINISH)) break;
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
      out.resize(out.size() * 2);
    }
    out.resize(produced);
    return true;
  }

 private:
  z_stream zs_{};
  bool ok_ = false;
};

Deflater& thread_deflater() {
  thread_local Deflater deflater;
  return deflater;
}

uint32_t crc_of(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32_z(crc32_z(0, nullptr, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

/// 16 bytes of a canonical GUID, for the set of objects added (100k strings would be ~10 MB).
struct GuidKey {
  uint64_t hi = 0;
  uint64_t lo = 0;
  friend bool operator==(const GuidKey&, const GuidKey&) = default;
};
struct GuidKeyHash {
  size_t operator()(const GuidKey& k) const { return std::hash<uint64_t>()(k.hi ^ (k.lo * 0x9e3779b97f4a7c15ull)); }
};
GuidKey guid_key(std::string_view guid) {
  GuidKey k;
  int nibbles = 0;
  for (char c : guid) {
    if (c == '-') continue;
    uint64_t v = static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    uint64_t& half = nibbles++ < 16 ? k.hi : k.lo;
    half = (half << 4) | v;
  }
  return k;
}

}  // namespace

struct WriterCore;

namespace {

/// A unit of work for the pool and what the writer does with it afterwards, in order.
struct WriterTask : OrderedPool::Task {
  virtual Status commit(WriterCore& rep) = 0;
};

}  // namespace

/// The writer's state; PackageWriter::Rep is this (tasks need it, and Rep is private).
struct WriterCore {
  std::filesystem::path path;
  WriterOptions options;
  UniqueFd fd;
  std::optional<ZipOut> zip;
  // manifest.json's long lists, collected while entries go in
  std::optional<ScratchFile> objects_part;
  std::optional<ScratchFile> order_part;
  std::optional<ScratchFile> entries_part;
  enum class Records { none, streamed, with_finish };
  Records records = Records::none;  ///< how the objects' manifest records come, fixed by the first object
  uint64_t streamed = 0;            ///< objects whose manifest record has been written
  uint64_t entries_listed = 0;
  std::unordered_set<GuidKey, GuidKeyHash> added;
  std::map<std::string, EntryDigest> unstreamed;   ///< guid -> digest, objects whose record comes with finish()
  std::map<std::string, EntryDigest> attachments;  ///< entry name -> digest: few (distinct contents)
  uint64_t done = 0;
  uint64_t total = 0;
  uint32_t open_crc = 0;        ///< of the streamed entry being written
  std::optional<Error> broken;  ///< the first failure: every later call fails with it
  bool finished = false;
  OrderedPool pool{default_worker_count()};

  ~WriterCore() {
    if (!finished) abandon();
  }
  void abandon();
  std::unexpected<Error> failed(Errc code, const std::string& what) const {
    return fail(code, "package " + path.string() + ": " + what);
  }
  Status check_usable();
  Status remember(Status st);
  Status submit(std::unique_ptr<WriterTask> task);
  Status commit_one();
  Status drain();
  void advance(uint64_t bytes);
  Status list_entry(const std::string& name, const EntryDigest& digest);
  Status stream_fd(int source, const std::string& name, Method method, uint64_t size, Sha256* hasher);
  Status add_small_file(int source, const std::string& name, uint64_t size, Sha256& hasher);
  Expected<ScratchFile> compose_manifest(const Manifest& m, const std::string& key_id);
  Expected<WriteResult> finish(Manifest& manifest, const signing::SecretKey& key);
};

struct PackageWriter::Rep : WriterCore {};

namespace {

// ---- tasks -------------------------------------------------------------------------

/// An entry small enough to deflate whole: CRC'ed and deflated, and stored instead
/// when deflate does not pay (the probe's rule, applied to the result).
struct WholeTask : WriterTask {
  std::string text;
  EntryDigest digest;  ///< size always; sha256 here when hash_here
  bool hash_here = false;
  uint32_t crc = 0;
  Method method = Method::deflate;
  std::string out;

  void run() override {
    digest.size = text.size();
    if (hash_here) digest.sha256 = sha256_hex(text);
    crc = crc_of(text);
    bool ok = thread_deflater().run({}, text, Z_FINISH, out);
    if (!ok || store_instead(text.size(), out.size())) {
      method = Method::store;
      out = std::move(text);
    }
    text = std::string();
  }
};

/// objects/<guid>.json: hashed here too (object JSON is small).
struct ObjectTask final : WholeTask {
  std::string guid;
  std::optional<ObjectEntry> entry;  ///< streamed: the manifest record to write
  Status commit(WriterCore& rep) override;
};

/// attachments/<sha256> of at most one block: no probe, the deflated whole decides.
struct SmallFileTask final : WholeTask {
  std::string name;
  Status commit(WriterCore& rep) override {
    FERRY_TRY(rep.zip->add(name, method, crc, digest.size, out));
    rep.advance(digest.size);
    return {};
  }
};

/// One block of a streamed entry: CRC'ed, and deflated when the entry is.
struct BlockTask final : WriterTask {
  std::string dict;
  std::string in;
  bool last = false;
  Method method = Method::deflate;
  uint32_t crc = 0;
  std::string out;
  bool ok = true;

  void run() override {
    crc = crc_of(in);
    if (method == Method::deflate) ok = thread_deflater().run(dict, in, last ? Z_FINISH : Z_SYNC_FLUSH, out);
  }
  Status commit(WriterCore& rep) override {
    if (!ok) return fail(Errc::internal, "deflate failed");
    rep.open_crc = static_cast<uint32_t>(crc32_combine(rep.open_crc, crc, static_cast<z_off_t>(in.size())));
    FERRY_TRY(rep.zip->data(method == Method::deflate ? std::string_view(out) : std::string_view(in)));
    rep.advance(in.size());
    return {};
  }
};

/// Start and end of a streamed entry: nothing to run, only their place in the order.
struct BeginTask final : WriterTask {
  std::string name;
  Method method = Method::deflate;
  uint64_t size = 0;
  void run() override {}
  Status commit(WriterCore& rep) override {
    rep.open_crc = static_cast<uint32_t>(crc32_z(0, nullptr, 0));
    return rep.zip->begin(name, method, size);
  }
};

struct EndTask final : WriterTask {
  void run() override {}
  Status commit(WriterCore& rep) override { return rep.zip->end(rep.open_crc); }
};

Status ObjectTask::commit(WriterCore& rep) {
  auto name = object_entry_name(guid);
  FERRY_TRY(rep.zip->add(name, method, crc, digest.size, out));
  FERRY_TRY(rep.list_entry(name, digest));
  rep.advance(digest.size);
  if (!entry) {
    rep.unstreamed[guid] = digest;
    return {};
  }
  entry->sha256 = digest.sha256;
  auto record = FERRY_TRY(object_text(*entry));
  FERRY_TRY(rep.objects_part->append((rep.streamed == 0 ? "\n" : ",\n") + record));
  FERRY_TRY(rep.order_part->append((rep.streamed == 0 ? "\n\"" : ",\n\"") + guid + "\""));
  ++rep.streamed;
  return {};
}

// Reads up to kProbeBytes at the start, middle and end of a file for choose_compression.
Method probe_file(int fd, uint64_t size) {
  std::array<std::string, 3> samples;
  std::array<uint64_t, 3> offsets{0, size / 2, size > kProbeBytes ? size - kProbeBytes : 0};
  for (size_t i = 0; i < samples.size(); ++i) {
    samples[i].resize(std::min<uint64_t>(kProbeBytes, size));
    ssize_t n = ::pread(fd, samples[i].data(), samples[i].size(), static_cast<off_t>(offsets[i]));
    samples[i].resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  return choose_compression({samples[0], samples[1], samples[2]}) == ZIP_CM_DEFLATE ? Method::deflate : Method::store;
}

// Reads exactly want bytes at offset (a block, sized to what is left so small files
// do not hold a whole block's buffer); fewer means the file shrank.
Expected<std::string> read_block(int fd, uint64_t offset, size_t want) {
  std::string block(want, '\0');
  size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd, block.data() + got, want - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(Errc::io, "read: " + errno_text(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  block.resize(got);
  return block;
}

bool grew_beyond(int fd, uint64_t size) {
  char byte = 0;
  return ::pread(fd, &byte, 1, static_cast<off_t>(size)) > 0;
}

}  // namespace

// ---- Rep ---------------------------------------------------------------------------

Status WriterCore::check_usable() {
  if (finished) return fail(Errc::internal, "PackageWriter used after finish()");
  if (broken) return std::unexpected(*broken);
  if (options.stop.stop_requested()) {
    return remember(failed(Errc::cancelled, "export cancelled; the partial package was removed"));
  }
  return {};
}

// A writer that failed once stays failed: the zip may hold half an entry.
Status WriterCore::remember(Status st) {
  if (!st && !broken) {
    broken = st.error();
    if (!broken->message.starts_with("package ")) broken->message = "package " + path.string() + ": " + broken->message;
  }
  return broken ? std::unexpected(*broken) : st;
}

void WriterCore::advance(uint64_t bytes) {
  done += bytes;
  if (options.progress) options.progress(done, total);
}

Status WriterCore::list_entry(const std::string& name, const EntryDigest& digest) {
  auto text = entry_text(name, digest);
  FERRY_TRY(entries_part->append((entries_listed++ == 0 ? "\n" : ",\n") + text));
  return {};
}

Status WriterCore::commit_one() {
  auto task = pool.take();
  if (!task) return {};
  return remember(static_cast<WriterTask&>(*task).commit(*this));
}

// Keeps the pool's memory bounded: the oldest tasks are written before more go in.
Status WriterCore::submit(std::unique_ptr<WriterTask> task) {
  while (pool.in_flight() >= kMaxInFlightTasks || pool.weight_in_flight() >= kMaxInFlightBytes) FERRY_TRY(commit_one());
  pool.submit(std::move(task));
  return {};
}

Status WriterCore::drain() {
  while (pool.in_flight() > 0) FERRY_TRY(commit_one());
  return {};
}

// Streams size bytes of fd into the zip as entry name, block by block; with hasher,
// the bytes read are hashed into it (in order, on this thread).
Status WriterCore::stream_fd(int source, const std::string& name, Method method, uint64_t size, Sha256* hasher) {
  auto begin = std::make_unique<BeginTask>();
  begin->name = name;
  begin->method = method;
  begin->size = size;
  FERRY_TRY(submit(std::move(begin)));
  total += size;
  std::string tail;  // the last 32 KiB before the next block
  uint64_t offset = 0;
  do {  // at least once: an empty entry is one empty last block
    FERRY_TRY(check_usable());
    auto want = static_cast<size_t>(std::min<uint64_t>(kBlockBytes, size - offset));
    auto block = FERRY_TRY(read_block(source, offset, want));
    if (block.size() != want) {
      return fail(Errc::corrupt, name + ": content changed while the package was written (expected " +
                                     std::to_string(size) + " bytes, read " + std::to_string(offset + block.size()) +
                                     ")");
    }
    offset += want;
    auto task = std::make_unique<BlockTask>();
    task->method = method;
    task->last = offset == size;
    if (hasher) hasher->update(block);
    if (method == Method::deflate) {
      task->dict = std::move(tail);
      tail = block.substr(block.size() - std::min(block.size(), kWindowBytes));
    }
    task->weight = block.size() * 2 + task->dict.size();
    task->in = std::move(block);
    FERRY_TRY(submit(std::move(task)));
  } while (offset < size);
  if (grew_beyond(source, size)) {
    return fail(Errc::corrupt, name + ": content changed while the package was written (longer than " +
                                   std::to_string(size) + " bytes)");
  }
  return submit(std::make_unique<EndTask>());
}

// A file of at most one block goes whole to a worker: deflating it costs less than
// probing three 64 KiB samples of it and then deflating it anyway.
Status WriterCore::add_small_file(int source, const std::string& name, uint64_t size, Sha256& hasher) {
  FERRY_TRY(check_usable());
  auto bytes = FERRY_TRY(read_block(source, 0, static_cast<size_t>(size)));
  if (bytes.size() != size || grew_beyond(source, size)) {
    return fail(Errc::corrupt,
                name + ": content changed while the package was written (expected " + std::to_string(size) + " bytes)");
  }
  hasher.update(bytes);
  auto task = std::make_unique<SmallFileTask>();
  task->name = name;
  task->weight = bytes.size() * 2;
  task->text = std::move(bytes);
  total += size;
  return submit(std::move(task));
}

// ---- PackageWriter -----------------------------------------------------------------

Expected<PackageWriter> PackageWriter::create(const std::filesystem::path& path, WriterOptions options) {
  auto rep = std::make_unique<Rep>();
  rep->path = path;
  rep->options = std::move(options);
  rep->fd = UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!rep->fd) return fail_errno("create package", path.string(), errno);
  auto dir = path.parent_path();
  auto central = ScratchFile::create(dir);
  auto objects = ScratchFile::create(dir);
  auto order = ScratchFile::create(dir);
  auto entries = ScratchFile::create(dir);
  for (auto* scratch : {&central, &objects, &order, &entries}) {
    if (!*scratch) return rep->failed(scratch->error().code, scratch->error().message);
  }
  rep->zip.emplace(rep->fd.get(), std::move(*central), ::time(nullptr));
  rep->objects_part.emplace(std::move(*objects));
  rep->order_part.emplace(std::move(*order));
  rep->entries_part.emplace(std::move(*entries));
  return PackageWriter(std::move(rep));
}

PackageWriter::PackageWriter(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
PackageWriter::PackageWriter(PackageWriter&&) noexcept = default;
PackageWriter& PackageWriter::operator=(PackageWriter&&) noexcept = default;
PackageWriter::~PackageWriter() = default;

namespace {

Status add_object_task(WriterCore& rep, std::string_view guid, std::string json_text,
                       std::optional<ObjectEntry> entry) {
  FERRY_TRY(rep.check_usable());
  if (parse_guid(guid) != guid) {
    return rep.failed(Errc::invalid_argument, "object GUID \"" + std::string(guid) + "\" is not a lower-case GUID");
  }
  if (entry) {
    if (auto why = object_entry_error(*entry)) return rep.failed(Errc::invalid_argument, *why);
  }
  auto records = entry ? WriterCore::Records::streamed : WriterCore::Records::with_finish;
  if (rep.records != WriterCore::Records::none && rep.records != records) {
    return rep.failed(Errc::internal, "objects added both with and without their manifest record");
  }
  rep.records = records;
  if (!rep.added.insert(guid_key(guid)).second) {
    return rep.failed(Errc::conflict, "object " + std::string(guid) + " added twice");
  }
  auto task = std::make_unique<ObjectTask>();
  task->hash_here = true;
  task->guid = std::string(guid);
  task->weight = json_text.size() * 2;
  task->text = std::move(json_text);
  task->entry = std::move(entry);
  rep.total += task->text.size();
  return rep.submit(std::move(task));
}

}  // namespace

Status PackageWriter::add_object(ObjectEntry entry, std::string json_text) {
  if (!rep_) return fail(Errc::internal, "PackageWriter used after move");
  auto guid = entry.guid;
  return add_object_task(*rep_, guid, std::move(json_text), std::move(entry));
}

Status PackageWriter::add_object(std::string_view guid, std::string json_text) {
  if (!rep_) return fail(Errc::internal, "PackageWriter used after move");
  return add_object_task(*rep_, guid, std::move(json_text), std::nullopt);
}

Expected<EntryDigest> PackageWriter::add_attachment(const std::filesystem::path& file,
                                                    std::optional<std::string_view> expected_sha256) {
  if (!rep_) return fail(Errc::internal, "PackageWriter used after move");
  FERRY_TRY(rep_->check_usable());
  if (expected_sha256) {
    auto it = rep_->attachments.find(attachment_entry_name(*expected_sha256));
    if (it != rep_->attachments.end()) return it->second;
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
  if (auto it = rep_->attachments.find(name); it != rep_->attachments.end()) return it->second;
  Sha256 hasher;
  Status copied = digest.size <= kBlockBytes
                      ? rep_->add_small_file(fd.get(), name, digest.size, hasher)
                      : rep_->stream_fd(fd.get(), name, probe_file(fd.get(), digest.size), digest.size, &hasher);
  auto copied_sha = hasher.finish_hex();
  if (copied && copied_sha != sha) {
    copied = fail(Errc::corrupt, "content changed while the package was written (expected SHA-256 " + sha +
                                     ", copied " + copied_sha + ")");
  }
  if (copied) copied = rep_->list_entry(name, digest);
  if (!copied) {
    return std::unexpected(
        rep_->remember(fail(copied.error().code, file.string() + ": " + copied.error().message)).error());
  }
  rep_->attachments[name] = digest;
  return digest;
}

// ---- finish ------------------------------------------------------------------------

namespace {

// Object hashes and entries come from what was actually added, never from the caller.
Status fill_unstreamed(const std::map<std::string, EntryDigest>& added, Manifest& m) {
  std::set<std::string> listed;
  for (auto& o : m.objects) {
    auto it = added.find(o.guid);
    if (it == added.end()) return fail(Errc::internal, "object " + o.guid + " is in the manifest but was not added");
    if (auto why = object_entry_error(o)) return fail(Errc::invalid_argument, *why);
    o.sha256 = it->second.sha256;
    listed.insert(o.guid);
  }
  for (const auto& [g, digest] : added) {
    if (!listed.contains(g)) return fail(Errc::internal, "object " + g + " was added but is not in the manifest");
  }
  return {};
}

// The rules manifest_from_json checks across fields, for what the caller gave.
Status check_lists(const Manifest& m, size_t streamed) {
  if (streamed > 0 && (!m.objects.empty() || !m.order.empty())) {
    return fail(Errc::internal, "objects were streamed: the manifest given to finish() must not list objects or order");
  }
  std::map<std::string, int> known;  // 1 object, 2 tombstone
  for (const auto& o : m.objects) known.emplace(o.guid, 1);
  for (const auto& t : m.deleted) {
    if (parse_guid(t.guid) != t.guid)
      return fail(Errc::invalid_argument, "deleted GUID \"" + t.guid + "\" is not a lower-case GUID");
    known.emplace(t.guid, 2);
  }
  for (const auto& s : m.required_secrets) {
    if (parse_guid(s.guid) != s.guid) {
      return fail(Errc::invalid_argument, "required secret GUID \"" + s.guid + "\" is not a lower-case GUID");
    }
  }
  std::set<std::string> ordered;
  for (const auto& g : m.order) {
    if (!known.contains(g)) return fail(Errc::invalid_argument, "order: " + g + " is neither an object nor deleted");
    if (!ordered.insert(g).second) return fail(Errc::invalid_argument, "order: " + g + " appears twice");
  }
  for (const auto& o : m.objects) {
    if (!ordered.contains(o.guid)) return fail(Errc::invalid_argument, "order: object " + o.guid + " is missing");
  }
  return {};
}

// Appends `"key":[` items `\n]` to the manifest, one item per line.
template <typename T, typename F>
Status append_list(ScratchFile& out, const char* key, const std::vector<T>& items, F&& to_text) {
  FERRY_TRY(out.append("\n\"" + std::string(key) + "\":["));
  for (size_t i = 0; i < items.size(); ++i) {
    auto text = FERRY_TRY(to_text(items[i]));
    FERRY_TRY(out.append((i == 0 ? "\n" : ",\n") + text));
  }
  return out.append("\n],");
}

Status append_part(ScratchFile& out, const char* open, ScratchFile& part, const char* close) {
  FERRY_TRY(out.append(open));
  FERRY_TRY(part.read_all([&out](std::string_view chunk) { return out.append(chunk); }));
  return out.append(close);
}

}  // namespace

// The layout (docs/package-format.md): the header fields on the first line, then
// one element of each list per line, key_id last.
Expected<ScratchFile> WriterCore::compose_manifest(const Manifest& m, const std::string& key_id) {
  auto out = FERRY_TRY(ScratchFile::create(path.parent_path()));
  auto head = FERRY_TRY(manifest_head_text(m));
  FERRY_TRY(out.append(head));
  if (streamed > 0) {
    FERRY_TRY(append_part(out, "\n\"objects\":[", *objects_part, "\n],"));
  } else {
    FERRY_TRY(append_list(out, "objects", m.objects, object_text));
  }
  FERRY_TRY(append_list(out, "deleted", m.deleted, tombstone_text));
  FERRY_TRY(append_list(out, "required_secrets", m.required_secrets, secret_text));
  if (streamed > 0) {
    FERRY_TRY(append_part(out, "\n\"order\":[", *order_part, "\n],"));
  } else {
    auto quoted = [](const std::string& g) -> Expected<std::string> { return "\"" + g + "\""; };
    FERRY_TRY(append_list(out, "order", m.order, quoted));
  }
  FERRY_TRY(append_part(out, "\n\"entries\":{", *entries_part, "\n},"));
  FERRY_TRY(out.append("\n\"key_id\":\"" + key_id + "\"}\n"));
  FERRY_TRY(out.flush());
  return out;
}

Expected<WriteResult> WriterCore::finish(Manifest& manifest, const signing::SecretKey& key) {
  FERRY_TRY(drain());
  FERRY_TRY(check_usable());
  if (streamed == 0) FERRY_TRY(fill_unstreamed(unstreamed, manifest));
  FERRY_TRY(check_lists(manifest, streamed));
  manifest.format = std::string(kFormat);
  manifest.key_id = key.key_id();
  auto text = FERRY_TRY(compose_manifest(manifest, manifest.key_id));
  auto sig = FERRY_TRY(key.sign_streamed([&text](const std::function<void(std::string_view)>& chunk) {
    return text.read_all([&chunk](std::string_view bytes) -> Status {
      chunk(bytes);
      return {};
    });
  }));
  FERRY_TRY(stream_fd(text.fd(), std::string(kManifestEntry), Method::deflate, text.size(), nullptr));
  FERRY_TRY(drain());
  FERRY_TRY(zip->add(kSignatureEntry, Method::store, crc_of(sig), sig.size(), sig));
  total += sig.size();
  advance(sig.size());
  auto bytes = FERRY_TRY(zip->close());
  WriteResult result{bytes, zip->entries(), zip->sha256_hex()};
  if (!unstreamed.empty()) {
    manifest.entries = attachments;
    for (const auto& [guid, digest] : unstreamed) manifest.entries[object_entry_name(guid)] = digest;
  }
  finished = true;
  fd = UniqueFd();
  return result;
}

Expected<WriteResult> PackageWriter::finish(Manifest manifest, const signing::SecretKey& key, Manifest* written) {
  if (!rep_ || rep_->finished) return fail(Errc::internal, "PackageWriter used after finish()");
  auto result = rep_->finish(manifest, key);
  if (!result) {
    auto error = rep_->remember(std::unexpected(result.error())).error();
    rep_->abandon();
    return std::unexpected(error);
  }
  if (written) *written = std::move(manifest);
  return result;
}

void WriterCore::abandon() {
  if (fd) ::unlink(path.c_str());
  fd = UniqueFd();
}

}  // namespace ferry::package
