#include "catalog/object_table.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "catalog/catalog.h"

namespace ferry::catalog {

namespace {

uint32_t narrow(size_t n) {
  // 4 GiB of GUIDs and names, or 4 billion refs: far beyond any catalog ferry serves.
  if (n > std::numeric_limits<uint32_t>::max()) throw std::length_error("object table over 4 GiB");
  return static_cast<uint32_t>(n);
}

}  // namespace

uint32_t ObjectTable::append_text(std::string_view s) {
  uint32_t offset = narrow(text_.size());
  text_.append(s);
  narrow(text_.size());
  return offset;
}

uint32_t ObjectTable::intern(const std::string& s) {
  auto [it, added] = string_ids_.try_emplace(s, narrow(strings_.size()));
  if (added) strings_.push_back(s);
  return it->second;
}

void ObjectTable::add(const Object& o) {
  Row row;
  row.guid = append_text(o.guid);
  if (o.guid.size() > std::numeric_limits<uint16_t>::max()) throw std::length_error("object table: GUID too long");
  row.guid_size = static_cast<uint16_t>(o.guid.size());
  row.name = append_text(o.name);
  row.name_size = narrow(o.name.size());
  uint32_t type = intern(o.type);
  if (type > std::numeric_limits<uint16_t>::max()) throw std::length_error("object table: over 65535 types");
  row.type = static_cast<uint16_t>(type);
  row.folder = intern(o.folder);
  row.revision = o.revision;
  row.refs = narrow(refs_.size());
  for (const auto& r : o.refs) {
    refs_.push_back({narrow(pending_refs_.size()), r.kind});
    pending_refs_.emplace_back(narrow(pending_.size()), narrow(r.to_guid.size()));
    pending_.append(r.to_guid);
  }
  row.attachments = narrow(attachments_.size());
  for (const auto& a : o.attachments) {
    uint32_t name = append_text(a.name);
    attachments_.push_back({name, narrow(a.name.size()), append_text(a.sha256), narrow(a.sha256.size()), a.size});
  }
  rows_.push_back(row);
}

void ObjectTable::seal() {
  by_guid_.resize(rows_.size());
  for (size_t i = 0; i < rows_.size(); ++i) by_guid_[i] = static_cast<uint32_t>(i);
  std::sort(by_guid_.begin(), by_guid_.end(), [this](uint32_t a, uint32_t b) { return guid(a) < guid(b); });
  for (auto& r : refs_) {
    auto [offset, size] = pending_refs_[r.target];
    std::string_view target = std::string_view(pending_).substr(offset, size);
    if (auto row = find(target)) {
      r.target = static_cast<uint32_t>(*row);
    } else {
      r.target = narrow(rows_.size() + missing_.size());
      missing_.emplace_back(append_text(target), size);
    }
  }
  string_ids_ = {};
  pending_ = {};
  pending_refs_ = {};
  rows_.shrink_to_fit();
  text_.shrink_to_fit();
  refs_.shrink_to_fit();
  attachments_.shrink_to_fit();
}

std::span<const ObjectTable::Ref> ObjectTable::refs(size_t row) const {
  size_t end = row + 1 < rows_.size() ? rows_[row + 1].refs : refs_.size();
  return std::span(refs_).subspan(rows_[row].refs, end - rows_[row].refs);
}

std::string_view ObjectTable::ref_guid(const Ref& ref) const {
  if (resolved(ref)) return guid(ref.target);
  auto [offset, size] = missing_[ref.target - rows_.size()];
  return text(offset, size);
}

std::span<const ObjectTable::Attachment> ObjectTable::attachments(size_t row) const {
  size_t end = row + 1 < rows_.size() ? rows_[row + 1].attachments : attachments_.size();
  return std::span(attachments_).subspan(rows_[row].attachments, end - rows_[row].attachments);
}

std::optional<size_t> ObjectTable::find(std::string_view g) const {
  auto it = std::lower_bound(by_guid_.begin(), by_guid_.end(), g,
                             [this](uint32_t row, std::string_view key) { return guid(row) < key; });
  if (it == by_guid_.end() || guid(*it) != g) return std::nullopt;
  return *it;
}

Object ObjectTable::object(size_t row) const {
  Object o;
  o.guid = guid(row);
  o.type = type(row);
  o.folder = folder(row);
  o.name = name(row);
  o.revision = revision(row);
  for (const auto& r : refs(row)) o.refs.push_back({std::string(ref_guid(r)), r.kind});
  for (const auto& a : attachments(row)) {
    o.attachments.push_back({std::string(attachment_name(a)), std::string(attachment_sha256(a)), a.size});
  }
  return o;
}

}  // namespace ferry::catalog
