// Selections: checking, normalising and matching the `select:` values. Pure.
#include <fnmatch.h>

#include <algorithm>

#include "export/export_impl.h"
#include "util/guid.h"

namespace ferry::exporter {

bool Selection::empty() const {
  return guids.empty() && addresses.empty() && types.empty() && folders.empty() && names.empty();
}

std::string_view to_string(Mode mode) {
  switch (mode) {
    case Mode::full:
      return "full";
    case Mode::incremental:
      return "incremental";
    case Mode::selected:
      return "selected";
  }
  return "full";
}

Expected<Mode> parse_mode(std::string_view text) {
  for (Mode m : {Mode::full, Mode::incremental, Mode::selected}) {
    if (text == to_string(m)) return m;
  }
  return fail(Errc::invalid_argument,
              "export mode \"" + std::string(text) + "\": expected full, incremental or selected");
}

nlohmann::json settings_json(const Request& request) {
  const auto& s = request.select;
  nlohmann::json select = nlohmann::json::object();
  auto put = [&](const char* key, const std::vector<std::string>& values) {
    if (!values.empty()) select[key] = values;
  };
  put("guids", s.guids);
  put("addresses", s.addresses);
  put("types", s.types);
  put("folders", s.folders);
  put("names", s.names);
  nlohmann::json j = {{"mode", to_string(request.mode)},
                      {"select", select},
                      {"include_upstream", request.include_upstream},
                      {"include_data", request.include_data}};
  if (request.since_revision) j["since_revision"] = *request.since_revision;
  return j;
}

namespace detail {

Error Problems::error() const {
  std::string text;
  std::set<std::string_view> seen;  // one object can be reached along several paths
  for (const auto* list : {&input_, &conflict_}) {
    for (const auto& line : *list) {
      if (seen.insert(line).second) text += (text.empty() ? "" : "\n") + line;
    }
  }
  return Error{input_.empty() ? Errc::conflict : Errc::invalid_argument, text};
}

std::string describe(const catalog::Object& object) { return object.address().to_string() + " (" + object.guid + ")"; }

std::string describe(const catalog::ObjectTable& table, size_t row) {
  return table.address(row).to_string() + " (" + std::string(table.guid(row)) + ")";
}

std::optional<size_t> Index::by_address(const std::string& address) const {
  if (!addresses_) {
    addresses_.emplace();
    addresses_->reserve(objects.size());
    for (size_t i = 0; i < objects.size(); ++i) addresses_->emplace(objects.address(i).to_string(), i);
  }
  auto it = addresses_->find(address);
  if (it != addresses_->end()) return it->second;
  return by_guid(address);  // a GUID is accepted wherever an address is
}

Matcher::Matcher(const Selection& selection, Problems& problems) : raw_(selection) {
  for (const auto& g : selection.guids) {
    if (auto canonical = parse_guid(g))
      guids_.insert(*canonical);
    else
      problems.bad_input("selection: guid \"" + g +
                         "\" is not a GUID (expected e.g. 6f9619ff-8b86-d011-b42d-00cf4fc964ff)");
  }
  for (const auto& a : selection.addresses) {
    if (auto canonical = parse_guid(a))
      addresses_.insert(*canonical);
    else if (auto parsed = parse_address(a))
      addresses_.insert(parsed->to_string());
    else
      problems.bad_input("selection: address \"" + a + "\": " + parsed.error().message);
  }
  types_.insert(selection.types.begin(), selection.types.end());
  for (const auto& f : selection.folders) {
    bool subtree = f.ends_with("/**");
    auto base = normalize_folder(subtree ? std::string_view(f).substr(0, f.size() - 3) : std::string_view(f));
    if (subtree && f == "/**")
      folders_.push_back("/**");
    else if (base)
      folders_.push_back(*base + (subtree ? (*base == "/" ? "**" : "/**") : ""));
    else
      problems.bad_input("selection: folder \"" + f + "\": " + base.error().message);
  }
}

bool Matcher::match_identity(std::string_view guid, const std::string& address) const {
  if (!raw_.guids.empty() && !guids_.contains(std::string(guid))) return false;
  if (raw_.addresses.empty()) return true;
  return addresses_.contains(address) || addresses_.contains(std::string(guid));
}

bool Matcher::matches(std::string_view guid, const Address& address) const {
  if (!match_identity(guid, address.to_string())) return false;
  if (!raw_.types.empty() && !types_.contains(address.type)) return false;
  auto folder_ok = [&](const std::string& p) { return folder_matches(address.folder, p); };
  if (!raw_.folders.empty() && std::none_of(folders_.begin(), folders_.end(), folder_ok)) return false;
  auto name_ok = [&](const std::string& glob) { return ::fnmatch(glob.c_str(), address.name.c_str(), 0) == 0; };
  return raw_.names.empty() || std::any_of(raw_.names.begin(), raw_.names.end(), name_ok);
}

std::optional<std::string> Matcher::named_by(std::string_view guid, const Address& address, bool by_type) const {
  std::string g(guid);
  if (guids_.contains(g)) return "guid " + g;
  if (addresses_.contains(g)) return "address " + g;
  if (auto a = address.to_string(); addresses_.contains(a)) return "address " + a;
  if (by_type && types_.contains(address.type)) return "type " + address.type;
  return std::nullopt;
}

}  // namespace detail
}  // namespace ferry::exporter
