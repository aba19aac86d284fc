// Private to the package module: zip helpers shared by the writer and the reader.
#pragma once

#include <zip.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace ferry::package {

struct ZipDiscard {
  void operator()(zip_t* za) const { zip_discard(za); }
};
/// An open archive; discarding never writes anything.
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;

struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileClose>;

/// libzip's text for an error code (with errno text for system errors).
std::string zip_error_text(int zip_code, int sys_code = 0);
std::string zip_error_text(zip_error_t* error);

/// Why a zip entry name is unsafe to use as a path ("..", absolute, backslash,
/// drive letter, control characters, empty components), or nullopt when it is safe.
std::optional<std::string> unsafe_name_reason(std::string_view name);

/// Why a path may not be listed under manifest "entries" (it must be
/// "objects/<guid>.json" or "attachments/<sha256>"), or nullopt.
std::optional<std::string> entry_layout_error(std::string_view path);

/// Deflate is used unless these probes say it does not pay: see
/// docs/package-format.md "Compression". Samples are up to kProbeBytes each.
inline constexpr size_t kProbeBytes = 64 * 1024;
/// Entries are stored when deflate saves less than this share (percent) on every sample.
inline constexpr unsigned kMinSavingPercent = 10;
/// Entries are stored when any sample compresses better than this, so a package ferry
/// writes never comes near the reader's default ratio limit (200).
inline constexpr unsigned kMaxWriterRatio = 50;

/// ZIP_CM_STORE or ZIP_CM_DEFLATE for content of which these are samples.
zip_int32_t choose_compression(std::initializer_list<std::string_view> samples);
/// The same rule for content deflated whole: whether storing it is better.
bool store_instead(uint64_t size, uint64_t deflated_size);

// Pieces of manifest.json for the streaming writer: the JSON values to_json() makes,
// compact. Errors (invalid_argument) are strings that are not valid UTF-8.
struct ObjectEntry;
struct Tombstone;
struct RequiredSecret;
struct EntryDigest;
struct Manifest;
/// `{"created_at":...,` every field but the lists and key_id, ending in a comma.
Expected<std::string> manifest_head_text(const Manifest& m);
Expected<std::string> object_text(const ObjectEntry& o);
Expected<std::string> tombstone_text(const Tombstone& t);
Expected<std::string> secret_text(const RequiredSecret& s);
/// `"<name>":{"sha256":"...","size":N}` (names are ASCII: checked by the writer).
std::string entry_text(std::string_view name, const EntryDigest& d);
/// manifest.json text parsed without building its objects as one JSON tree (for 100k
/// objects that tree was many times the text): each is read into its ObjectEntry as
/// the parser reaches it. The constructor throws what
/// nlohmann::json::parse throws for text that is not JSON.
class ManifestParse {
 public:
  explicit ManifestParse(const std::string& text);
  ~ManifestParse();
  /// The document without the elements of "objects",
  /// for looks at the header before the manifest is read (signature, format).
  const nlohmann::json& rest() const;
  /// What manifest_from_json(the whole document) gives, once.
  Expected<Manifest> manifest();

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

/// What manifest_from_json would refuse in one object's fields, or nullopt.
std::optional<std::string> object_entry_error(const ObjectEntry& o);

}  // namespace ferry::package
