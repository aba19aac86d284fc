// The file given to `ferryctl object apply -f FILE` (YAML or JSON): an `objects:`
// list turned into catalog drafts plus the local files to attach.
//
// Does no I/O: ferryctl reads the file and opens each attachment with the caller's
// permissions; this module only parses text, so either side may call it from any
// thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "util/error.h"

namespace ferry::objectfile {

/// One attachment as named in the file; its bytes are not read here.
struct AttachmentSource {
  std::string name;                ///< attachment name; defaults to the file's base name
  std::string file;                ///< as written in the file: the key the caller uses to hand over its descriptor
  std::filesystem::path resolved;  ///< `file` relative to the object file's folder
  std::string where;               ///< "file:line:col" of the attachment item
};

/// One object of the file. draft.attachments stays empty: the caller stores each
/// AttachmentSource's bytes (Catalog::store_blob) and fills it in.
struct ParsedObject {
  catalog::ObjectDraft draft;
  std::vector<AttachmentSource> attachments;
};

/// Parses an object file. JSON is read as YAML, so a JSON file with the same content
/// parses the same. GUIDs come back canonical (lower case), folders normalised, ref
/// targets as canonical GUIDs or normalised addresses. Every error in the file is
/// reported, one per line, as "file:line:col: key.path: message" (invalid_argument).
Expected<std::vector<ParsedObject>> parse_object_file(const std::string& file_name, std::string_view text);

}  // namespace ferry::objectfile
