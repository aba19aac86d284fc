// open_package(): every check of docs/package-format.md "Verification", in that
// order, cheapest and most dangerous first: nothing is decompressed before names and
// limits passed, and nothing but manifest.json is read before the signature is known
// to come from a trusted key.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "package/package.h"
#include "package/package_impl.h"
#include "util/fd.h"
#include "util/sha256.h"

namespace ferry::package {

namespace {

/// manifest.json larger than this is refused before it is read (about 250 000 objects).
constexpr uint64_t kMaxManifestBytes = uint64_t{128} << 20;
/// Entries at most this large are exempt from the ratio limit: they cannot expand to
/// anything harmful, and tiny JSON files legitimately compress very well.
constexpr uint64_t kRatioExemptBytes = uint64_t{1} << 20;
constexpr std::string_view kReexport = "ask the source to re-export the package";
/// open_package hashes on another thread per this many entries, on at most
/// kMaxHashThreads (and the cores there are).
constexpr size_t kEntriesPerHashThread = 2048;
constexpr size_t kMaxHashThreads = 4;

struct EntryInfo {
  std::string name;
  zip_uint64_t index = 0;
  uint64_t size = 0;
  uint64_t comp_size = 0;
  bool is_dir = false;
};

/// One verification run; every refusal goes through refuse() so it names the package.
class Verifier {
 public:
  Verifier(const std::filesystem::path& path, const ReadOptions& options) : path_(path), options_(options) {}

  std::unexpected<Error> refuse(Errc code, const std::string& what) const {
    return fail(code, "package " + path_.string() + ": " + what);
  }

  Status open_archive(int flags);
  Status check_entries();
  Status check_limits() const;
  Expected<std::string> read_small(std::string_view name, uint64_t max_bytes);
  Status check_signature(const std::string& manifest_text, const nlohmann::json& json);
  Status check_format(const nlohmann::json& json) const;
  Status check_engine(const Manifest& m) const;
  Status check_listed(const Manifest& m) const;
  Status hash_entries(const Manifest& m);

  const std::filesystem::path& path_;
  const ReadOptions& options_;
  ZipPtr za_;
  std::vector<EntryInfo> entries_;
  std::map<std::string, size_t> by_name_;  ///< entry name -> position in entries_
  std::optional<std::string> signer_;
  uint64_t expanded_ = 0;  ///< bytes decompressed so far, against max_expanded_bytes
};

std::unexpected<Error> damaged(const std::string& what) {
  return fail(Errc::corrupt, what + "; " + std::string(kReexport));
}

// Streams one entry through sink, hashing it; refuses content that is longer than its
// declared size (a lying header), differs from expect (an empty sha256 is not
// compared), or pushes the package's expanded total over the limit.
Status stream_entry(zip_t* za, zip_uint64_t index, const EntryDigest& expect, const std::stop_token& stop,
                    uint64_t* expanded, uint64_t max_expanded, const std::function<Status(std::string_view)>& sink) {
  ZipFilePtr file(zip_fopen_index(za, index, 0));
  if (!file) return damaged(std::string("cannot read (") + zip_strerror(za) + ")");
  Sha256 hasher;
  uint64_t total = 0;
  std::array<char, 65536> buf;
  for (zip_int64_t n = 1; n != 0;) {
    if (stop.stop_requested()) return fail(Errc::cancelled, "verification cancelled");
    n = zip_fread(file.get(), buf.data(), buf.size());
    if (n < 0) return damaged(std::string("damaged data (") + zip_file_strerror(file.get()) + ")");
    total += static_cast<uint64_t>(n);
    *expanded += static_cast<uint64_t>(n);
    if (total > expect.size) {
      return damaged("expands beyond its declared size of " + std::to_string(expect.size) + " bytes: a forged header");
    }
    if (*expanded > max_expanded) {
      return fail(Errc::invalid_argument,
                  "the package expands beyond limits.max_expanded_bytes (" + std::to_string(max_expanded) + ")");
    }
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    hasher.update(chunk);
    if (n > 0) FERRY_TRY(sink(chunk));
  }
  auto sha = hasher.finish_hex();
  if (total != expect.size) {
    return damaged("size mismatch (manifest says " + std::to_string(expect.size) + " bytes, content is " +
                   std::to_string(total) + "): the file was changed after signing");
  }
  if (!expect.sha256.empty() && sha != expect.sha256) {
    return damaged("SHA-256 mismatch (manifest says " + expect.sha256 + ", content is " + sha +
                   "): the file was changed after signing");
  }
  return {};
}

Status Verifier::open_archive(int flags) {
  int code = 0;
  zip_t* za = zip_open(path_.c_str(), ZIP_RDONLY | flags, &code);
  if (za != nullptr) {
    za_.reset(za);
    return {};
  }
  if (code == ZIP_ER_NOENT) return refuse(Errc::not_found, "no such file");
  if (code == ZIP_ER_OPEN || code == ZIP_ER_READ) {
    return refuse(Errc::io, "cannot read the file (" + zip_error_text(code, errno) + ")");
  }
  if (code == ZIP_ER_EXISTS) return refuse(Errc::corrupt, "duplicate entry names; " + std::string(kReexport));
  return refuse(Errc::corrupt, "not a readable zip archive (" + zip_error_text(code) +
                                   "): the file is truncated or damaged; if it is still being copied wait for the "
                                   "copy to finish, else " +
                                   std::string(kReexport));
}

// A zip entry's type from its Unix mode, when the archive records one.
std::optional<std::string> special_file_reason(zip_t* za, zip_uint64_t i, bool is_dir) {
  zip_uint8_t opsys = 0;
  zip_uint32_t attr = 0;
  if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) != 0) return "unreadable file attributes";
  if (opsys != ZIP_OPSYS_UNIX) return std::nullopt;
  auto type = (attr >> 16) & S_IFMT;
  if (type == 0 || type == S_IFREG || (type == S_IFDIR && is_dir)) return std::nullopt;
  if (type == S_IFLNK) return "symbolic link";
  return "not a regular file (mode " + std::to_string(type >> 12) + ")";
}

Status Verifier::check_entries() {
  auto count = static_cast<uint64_t>(zip_get_num_entries(za_.get(), 0));
  if (count > options_.limits.max_entries) {
    return refuse(Errc::invalid_argument, std::to_string(count) + " entries, more than limits.max_entries (" +
                                              std::to_string(options_.limits.max_entries) + ")");
  }
  for (zip_uint64_t i = 0; i < count; ++i) {
    zip_stat_t st;
    if (zip_stat_index(za_.get(), i, ZIP_FL_ENC_RAW, &st) != 0 || st.name == nullptr) {
      return refuse(Errc::corrupt, "entry " + std::to_string(i) + " is unreadable (" + zip_strerror(za_.get()) + ")");
    }
    EntryInfo e{st.name, i, st.size, st.comp_size, false};
    e.is_dir = !e.name.empty() && e.name.back() == '/';
    auto bad = [&](const std::string& why) {
      return refuse(Errc::corrupt, "entry \"" + e.name + "\": " + why + "; the package is not safe to open");
    };
    if (auto why = unsafe_name_reason(e.name)) return bad(*why);
    if (auto why = special_file_reason(za_.get(), i, e.is_dir)) return bad(*why);
    if (e.is_dir && e.name != "objects/" && e.name != "attachments/") return bad("unexpected folder");
    if (st.encryption_method != ZIP_EM_NONE) return bad("encrypted");
    if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE) {
      return bad("compression method " + std::to_string(st.comp_method) +
                 " (only stored and deflated entries are read)");
    }
    if (!by_name_.emplace(e.name, entries_.size()).second) return bad("duplicate entry name");
    entries_.push_back(std::move(e));
  }
  return {};
}

Status Verifier::check_limits() const {
  uint64_t total = 0;
  const auto& lim = options_.limits;
  for (const auto& e : entries_) {
    if (e.size > lim.max_expanded_bytes - std::min(total, lim.max_expanded_bytes)) {
      return refuse(Errc::invalid_argument, "expands to more than limits.max_expanded_bytes (" +
                                                std::to_string(lim.max_expanded_bytes) + " bytes)");
    }
    total += e.size;
    if (e.size > kRatioExemptBytes && e.size / std::max<uint64_t>(e.comp_size, 1) > lim.max_ratio) {
      return refuse(Errc::invalid_argument, "entry \"" + e.name + "\" expands " +
                                                std::to_string(e.size / std::max<uint64_t>(e.comp_size, 1)) +
                                                " times, more than limits.max_ratio (" + std::to_string(lim.max_ratio) +
                                                "): a possible zip bomb");
    }
  }
  return {};
}

// Reads a small entry whole, refusing it before reading when the central directory
// says it is larger than max_bytes.
Expected<std::string> Verifier::read_small(std::string_view name, uint64_t max_bytes) {
  const auto& e = entries_[by_name_.at(std::string(name))];
  if (e.size > max_bytes) {
    return refuse(Errc::invalid_argument, std::string(name) + " is " + std::to_string(e.size) + " bytes, more than " +
                                              std::to_string(max_bytes));
  }
  std::string out;
  EntryDigest any{"", e.size};  // no digest to compare yet: the signature covers this entry
  auto st = stream_entry(za_.get(), e.index, any, options_.stop, &expanded_, options_.limits.max_expanded_bytes,
                         [&](std::string_view chunk) -> Status {
                           out.append(chunk);
                           return {};
                         });
  if (!st) return refuse(st.error().code, std::string(name) + ": " + st.error().message);
  return out;
}

// A lenient look at one string field of the not-yet-verified manifest.
std::string peek(const nlohmann::json& j, const char* key, const char* sub = nullptr) {
  const nlohmann::json* v = j.is_object() && j.contains(key) ? &j[key] : nullptr;
  if (v && sub) v = v->is_object() && v->contains(sub) ? &(*v)[sub] : nullptr;
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

}  // namespace

Status Verifier::check_signature(const std::string& manifest_text, const nlohmann::json& json) {
  if (!by_name_.contains(std::string(kSignatureEntry))) {
    if (options_.unsigned_packages == UnsignedPolicy::allow) return {};
    return refuse(Errc::permission_denied, "unsigned (no " + std::string(kSignatureEntry) +
                                               "); have the source export with signing.key set, or allow unsigned "
                                               "packages for this watch rule if that is intended");
  }
  auto signature = FERRY_TRY(read_small(kSignatureEntry, signing::kSignatureBytes));
  auto key_id = peek(json, "key_id");
  auto env = peek(json, "source", "environment");
  if (options_.trust == nullptr) {
    return refuse(Errc::permission_denied,
                  "signed by key " + key_id + ", but no key is trusted; add its .pub file to signing.trusted");
  }
  auto key = options_.trust->find(key_id, env);
  if (!key) return refuse(Errc::permission_denied, key.error().message);
  if (!(*key)->verify(manifest_text, signature)) {
    return refuse(Errc::corrupt, "the signature does not match manifest.json: the package was changed after signing; " +
                                     std::string(kReexport));
  }
  signer_ = key_id;
  return {};
}

Status Verifier::check_format(const nlohmann::json& json) const {
  auto format = peek(json, "format");
  constexpr std::string_view prefix = "ferry-package/";
  int version = 0;
  if (format.starts_with(prefix)) {
    auto digits = std::string_view(format).substr(prefix.size());
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
    if (ec != std::errc() || end != digits.data() + digits.size()) version = 0;
  }
  if (version < 1) return refuse(Errc::corrupt, "format \"" + format + "\" is not a ferry package format");
  if (version > kFormatVersion) {
    return refuse(Errc::invalid_argument, "format " + format + " is newer than this ferry reads (" +
                                              std::string(kFormat) +
                                              "); upgrade ferry here, or export with the older ferry version");
  }
  return {};
}

Status Verifier::check_engine(const Manifest& m) const {
  if (options_.expected_engine.empty() || m.source.engine == options_.expected_engine) return {};
  return refuse(Errc::invalid_argument, "comes from engine \"" + m.source.engine + "\" (environment " +
                                            m.source.environment + ") but this environment's engine is \"" +
                                            options_.expected_engine + "\"; packages import only into an equal engine");
}

Status Verifier::check_listed(const Manifest& m) const {
  for (const auto& [name, digest] : m.entries) {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) {
      return refuse(Errc::corrupt,
                    "entry " + name + " is listed in the manifest but missing; " + std::string(kReexport));
    }
    const auto& e = entries_[it->second];
    if (e.size != digest.size) {
      return refuse(Errc::corrupt, "entry " + name + ": size mismatch (manifest says " + std::to_string(digest.size) +
                                       " bytes, zip says " + std::to_string(e.size) +
                                       "): the file was changed after signing; " + std::string(kReexport));
    }
  }
  for (const auto& e : entries_) {
    if (e.is_dir || e.name == kManifestEntry || e.name == kSignatureEntry || m.entries.contains(e.name)) continue;
    return refuse(Errc::corrupt, "entry " + e.name + " is not listed in the manifest: it was added after signing; " +
                                     std::string(kReexport));
  }
  return {};
}

// Inflating and hashing every entry is half of opening a large package: a package of
// many entries is split, in name order, into contiguous runs hashed on a few threads,
// each with its own zip handle (a libzip archive is not for concurrent reads).
Status Verifier::hash_entries(const Manifest& m) {
  std::vector<const std::pair<const std::string, EntryDigest>*> todo;  // name order
  todo.reserve(m.entries.size());
  for (const auto& entry : m.entries) todo.push_back(&entry);
  const size_t cores = std::max(1U, std::thread::hardware_concurrency());
  const size_t threads = options_.hash_threads != 0 ? std::clamp<size_t>(todo.size(), 1, options_.hash_threads)
                                                    : std::clamp<size_t>(todo.size() / kEntriesPerHashThread, 1,
                                                                         std::min(kMaxHashThreads, cores));
  // Each run's first failure, by position: the one reported is the first in name order.
  std::vector<std::optional<std::pair<size_t, Error>>> failed(threads);
  auto hash_run = [&](size_t run, zip_t* za) {
    auto discard = [](std::string_view) -> Status { return {}; };
    // Every entry was held to its declared size and the declared sizes to the limit
    // (check_limits): each run counts from what was read before, against the limit.
    uint64_t expanded = expanded_;
    for (size_t i = todo.size() * run / threads; i < todo.size() * (run + 1) / threads; ++i) {
      const auto& [name, digest] = *todo[i];
      auto st = stream_entry(za, entries_[by_name_.at(name)].index, digest, options_.stop, &expanded,
                             options_.limits.max_expanded_bytes, discard);
      if (!st) {
        failed[run].emplace(i, refuse(st.error().code, "entry " + name + ": " + st.error().message).error());
        return;
      }
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (size_t run = 1; run < threads; ++run) {
      helpers.emplace_back([&, run] {
        int code = 0;
        ZipPtr za(zip_open(path_.c_str(), ZIP_RDONLY, &code));  // checked already: no ZIP_CHECKCONS
        if (za) return hash_run(run, za.get());
        failed[run].emplace(todo.size() * run / threads,
                            refuse(Errc::io, "cannot open it again (" + zip_error_text(code, errno) + ")").error());
      });
    }
    hash_run(0, za_.get());
  }  // joined
  for (auto& f : failed)
    if (f) return std::unexpected(std::move(f->second));
  return {};
}

struct VerifiedPackage::Rep {
  std::filesystem::path path;
  ZipPtr za;
  Manifest manifest;
  std::string manifest_bytes;
  std::optional<std::string> signer;
  std::map<std::string, zip_uint64_t> index;  ///< entry name -> zip index
};

namespace {

Expected<std::unique_ptr<ManifestParse>> parse_manifest_text(const Verifier& v, const std::string& text) {
  try {
    return std::make_unique<ManifestParse>(text);
  } catch (const nlohmann::json::exception& e) {
    return v.refuse(Errc::corrupt,
                    std::string("manifest.json is not valid JSON (") + e.what() + "); " + std::string(kReexport));
  }
}

enum class SignatureCheck { verify, skip };

Expected<Manifest> verify_manifest(Verifier& v, std::string& text, SignatureCheck signature) {
  if (!v.by_name_.contains(std::string(kManifestEntry))) {
    return v.refuse(Errc::corrupt,
                    "no manifest.json: this is not a ferry package, or it was damaged; " + std::string(kReexport));
  }
  text = FERRY_TRY(v.read_small(kManifestEntry, kMaxManifestBytes));
  auto parsed = FERRY_TRY(parse_manifest_text(v, text));
  if (signature == SignatureCheck::verify) FERRY_TRY(v.check_signature(text, parsed->rest()));
  FERRY_TRY(v.check_format(parsed->rest()));
  auto manifest = parsed->manifest();
  if (!manifest) return v.refuse(Errc::corrupt, manifest.error().message + "; " + std::string(kReexport));
  return manifest;
}

}  // namespace

Expected<VerifiedPackage> open_package(const std::filesystem::path& path, const ReadOptions& options) {
  Verifier v(path, options);
  FERRY_TRY(v.open_archive(0));
  FERRY_TRY(v.check_entries());
  FERRY_TRY(v.check_limits());
  // Re-open with libzip's consistency checks (local headers against the central
  // directory) now that names are known to be unique and safe.
  FERRY_TRY(v.open_archive(ZIP_CHECKCONS));
  std::string text;
  auto manifest = FERRY_TRY(verify_manifest(v, text, SignatureCheck::verify));
  FERRY_TRY(v.check_engine(manifest));
  FERRY_TRY(v.check_listed(manifest));
  FERRY_TRY(v.hash_entries(manifest));
  auto rep = std::make_unique<VerifiedPackage::Rep>();
  rep->path = path;
  rep->za = std::move(v.za_);
  rep->manifest = std::move(manifest);
  rep->manifest_bytes = std::move(text);
  rep->signer = v.signer_;
  for (const auto& e : v.entries_) rep->index[e.name] = e.index;
  return VerifiedPackage(std::move(rep));
}

// The cheap structural checks of open_package() (central directory only: names,
// file types, methods, limits), then the manifest alone. No signature, no entry
// hashing, no ZIP_CHECKCONS pass over every local header: see package.h.
Expected<Manifest> read_manifest(const std::filesystem::path& package) {
  ReadOptions options;  // default limits; no trust store, as nothing is verified
  Verifier v(package, options);
  FERRY_TRY(v.open_archive(0));
  FERRY_TRY(v.check_entries());
  FERRY_TRY(v.check_limits());
  std::string text;
  return verify_manifest(v, text, SignatureCheck::skip);
}

VerifiedPackage::VerifiedPackage(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
VerifiedPackage::VerifiedPackage(VerifiedPackage&&) noexcept = default;
VerifiedPackage& VerifiedPackage::operator=(VerifiedPackage&&) noexcept = default;
VerifiedPackage::~VerifiedPackage() = default;

const std::filesystem::path& VerifiedPackage::path() const { return rep_->path; }
const Manifest& VerifiedPackage::manifest() const { return rep_->manifest; }
const std::string& VerifiedPackage::manifest_bytes() const { return rep_->manifest_bytes; }
const std::optional<std::string>& VerifiedPackage::signer() const { return rep_->signer; }

bool VerifiedPackage::has_attachment(std::string_view sha256) const {
  return rep_->manifest.entries.contains(attachment_entry_name(sha256));
}

namespace {

// Streams a verified entry again, re-checking its digest as it goes.
Status copy_entry(const std::filesystem::path& path, zip_t* za, const std::map<std::string, zip_uint64_t>& index,
                  const Manifest& manifest, const std::string& name,
                  const std::function<Status(std::string_view)>& sink) {
  auto it = manifest.entries.find(name);
  if (it == manifest.entries.end()) return fail(Errc::not_found, "package " + path.string() + ": has no entry " + name);
  uint64_t expanded = 0;
  auto st = stream_entry(za, index.at(name), it->second, std::stop_token(), &expanded, it->second.size, sink);
  if (!st) return std::unexpected(st.error().with_context("package " + path.string() + ": entry " + name));
  return {};
}

}  // namespace

Expected<std::string> VerifiedPackage::object_json(std::string_view guid) const {
  std::string out;
  FERRY_TRY(copy_entry(rep_->path, rep_->za.get(), rep_->index, rep_->manifest, object_entry_name(guid),
                       [&](std::string_view chunk) -> Status {
                         out.append(chunk);
                         return {};
                       }));
  return out;
}

struct ObjectReader::Rep {
  const VerifiedPackage::Rep* package = nullptr;
  ZipPtr za;
};

ObjectReader::ObjectReader(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
ObjectReader::ObjectReader(ObjectReader&&) noexcept = default;
ObjectReader& ObjectReader::operator=(ObjectReader&&) noexcept = default;
ObjectReader::~ObjectReader() = default;

Expected<ObjectReader> VerifiedPackage::object_reader() const {
  int code = 0;
  // No ZIP_CHECKCONS: open_package() checked the archive, and every read re-hashes.
  zip_t* za = zip_open(rep_->path.c_str(), ZIP_RDONLY, &code);
  if (za == nullptr) {
    return fail(code == ZIP_ER_NOENT ? Errc::not_found : Errc::io,
                "package " + rep_->path.string() + ": cannot open it again (" + zip_error_text(code, errno) + ")");
  }
  auto rep = std::make_unique<ObjectReader::Rep>();
  rep->package = rep_.get();
  rep->za.reset(za);
  return ObjectReader(std::move(rep));
}

Expected<std::string> ObjectReader::object_json(std::string_view guid) const {
  const VerifiedPackage::Rep& p = *rep_->package;
  std::string out;
  FERRY_TRY(copy_entry(p.path, rep_->za.get(), p.index, p.manifest, object_entry_name(guid),
                       [&](std::string_view chunk) -> Status {
                         out.append(chunk);
                         return {};
                       }));
  return out;
}

namespace {
Status copy_attachment_entry(const std::filesystem::path& path, zip_t* za,
                             const std::map<std::string, zip_uint64_t>& index, const Manifest& m,
                             std::string_view sha256, int fd) {
  auto name = attachment_entry_name(sha256);
  return copy_entry(path, za, index, m, name, [&](std::string_view chunk) { return write_all(fd, chunk, name); });
}
}  // namespace

Status VerifiedPackage::copy_attachment(std::string_view sha256, int fd) const {
  return copy_attachment_entry(rep_->path, rep_->za.get(), rep_->index, rep_->manifest, sha256, fd);
}

Status ObjectReader::copy_attachment(std::string_view sha256, int fd) const {
  const VerifiedPackage::Rep& p = *rep_->package;
  return copy_attachment_entry(p.path, rep_->za.get(), p.index, p.manifest, sha256, fd);
}

Status VerifiedPackage::copy_attachment(std::string_view sha256, const std::filesystem::path& dest) const {
  UniqueFd fd(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return fail_errno("create", dest.string(), errno);
  auto st = copy_attachment(sha256, fd.get());
  if (st && ::fsync(fd.get()) != 0) st = fail_errno("fsync", dest.string(), errno);
  if (!st) ::unlink(dest.c_str());
  return st;
}

}  // namespace ferry::package
