// ObjectTable: every object of a catalog snapshot packed for an export, so that an
// export's memory stays small and does not grow with specs (PRODUCT.md section 13:
// under 64 MiB while exporting, at 100k objects too).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "address/address.h"

namespace ferry::catalog {

struct Object;
enum class RefKind;

/// The objects as rows: GUID, type, folder, name, revision, refs (as rows) and
/// attachments, in about 90 bytes an object (GUID and name included) and 8 a ref,
/// against ~500 for a std::vector<Object> (each Object is 248 bytes before its
/// strings): 11 MB for gen_catalog's 100k objects. No owner, timestamps or spec: an
/// export reads each spec from its snapshot as it writes the object. Types and
/// folders are stored once each; GUIDs, names and hashes in one text buffer.
///
/// Built by add() in any order (rows keep that order), then seal(), which resolves
/// references to rows; nothing may be added after seal(), and the lookups below
/// (refs, find) need it. Not thread-safe while built; const methods may be called from
/// any thread once sealed.
class ObjectTable {
 public:
  /// A reference in the order the object gives it. `target` is the target's row, or,
  /// when the target is not in the table (>= size()), where its GUID is kept.
  struct Ref {
    uint32_t target = 0;
    RefKind kind{};
  };
  /// Attachment text is in the table's buffer; see attachment_name and attachment_sha256.
  struct Attachment {
    uint32_t name = 0;  ///< offset of the name
    uint32_t name_size = 0;
    uint32_t sha256 = 0;  ///< offset of the hex hash (sha256_size characters)
    uint32_t sha256_size = 0;
    uint64_t size = 0;
  };

  /// Copies what the table keeps of object (everything but owner, timestamps, spec).
  void add(const Object& object);
  /// Resolves every reference to its target's row and indexes the GUIDs.
  void seal();

  size_t size() const { return rows_.size(); }
  std::string_view guid(size_t row) const { return text(rows_[row].guid, rows_[row].guid_size); }
  const std::string& type(size_t row) const { return strings_[rows_[row].type]; }
  const std::string& folder(size_t row) const { return strings_[rows_[row].folder]; }
  std::string_view name(size_t row) const { return text(rows_[row].name, rows_[row].name_size); }
  int64_t revision(size_t row) const { return rows_[row].revision; }
  Address address(size_t row) const { return {type(row), folder(row), std::string(name(row))}; }

  std::span<const Ref> refs(size_t row) const;
  /// Whether the reference's target is a row of the table.
  bool resolved(const Ref& ref) const { return ref.target < rows_.size(); }
  /// The GUID the reference names, whether or not it is in the table.
  std::string_view ref_guid(const Ref& ref) const;

  /// Sorted by name, as the catalog keeps them.
  std::span<const Attachment> attachments(size_t row) const;
  std::string_view attachment_name(const Attachment& a) const { return text(a.name, a.name_size); }
  std::string_view attachment_sha256(const Attachment& a) const { return text(a.sha256, a.sha256_size); }

  /// The row of the object with this GUID (exactly as stored); nullopt when absent.
  std::optional<size_t> find(std::string_view guid) const;

  /// The row as an Object (owner, timestamps and spec left empty), for one object
  /// at a time: what an export writes.
  Object object(size_t row) const;

 private:
  struct Row {
    uint32_t guid = 0;  ///< offsets into text_
    uint32_t name = 0;
    uint32_t name_size = 0;
    uint16_t guid_size = 0;
    uint16_t type = 0;  ///< index into strings_
    uint32_t folder = 0;
    uint32_t refs = 0;  ///< first of the row's refs in refs_; they end where the next row's begin
    uint32_t attachments = 0;
    int64_t revision = 0;
  };

  std::string_view text(uint32_t offset, uint32_t size) const { return std::string_view(text_).substr(offset, size); }
  uint32_t append_text(std::string_view s);
  uint32_t intern(const std::string& s);

  std::vector<Row> rows_;
  std::string text_;
  std::vector<std::string> strings_;  ///< types and folders
  std::vector<Ref> refs_;             ///< before seal(), target is an offset into pending_
  std::vector<Attachment> attachments_;
  std::vector<uint32_t> by_guid_;                       ///< rows sorted by GUID (seal)
  std::vector<std::pair<uint32_t, uint32_t>> missing_;  ///< offset and size of GUIDs not in the table

  // Only while the table is built; seal() frees them.
  std::unordered_map<std::string, uint32_t> string_ids_;
  std::string pending_;                                      ///< reference GUIDs, until seal() resolves them
  std::vector<std::pair<uint32_t, uint32_t>> pending_refs_;  ///< offset and size in pending_
};

}  // namespace ferry::catalog
