#include "cli/commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <iostream>
#include <map>

#include "cli/output.h"
#include "objectfile/objectfile.h"
#include "signing/signing.h"
#include "util/fd.h"

namespace ferry::cli {

int call(const Globals& g, std::string_view command, nlohmann::json args, nlohmann::json& result,
         std::span<const int> fds, const EventHandler& on_event) {
  auto client = control::Client::connect(g.socket);
  if (!client) return report(client.error());
  auto reply = client->call(command, std::move(args), fds, on_event);
  if (!reply) return report(reply.error());
  result = std::move(*reply);
  return 0;
}

bool print_json(const Globals& g, const nlohmann::json& result) {
  if (g.json) std::cout << result.dump(2) << '\n';
  return g.json;
}

int status(const Globals& g) {
  nlohmann::json r;
  if (int rc = call(g, "status", nlohmann::json::object(), r)) return rc;
  if (print_json(g, r)) return 0;
  print_fields(std::cout,
               {
                   {"environment", cell(r["environment"]["id"]) + " (engine " + cell(r["environment"]["engine"]) + ")"},
                   {"version", "ferryd " + cell(r["version"]) + ", protocol " + cell(r["protocol"])},
                   {"pid", cell(r["pid"])},
                   {"started", cell(r["started_at"]) + " (up " + cell(r["uptime_seconds"]) + "s)"},
                   {"config", cell(r["config"])},
                   {"state", cell(r["state_dir"])},
                   {"socket", cell(r["socket"])},
                   {"catalog", "revision " + cell(r["catalog"]["revision"])},
               });
  return 0;
}

int version(const Globals& g) {
  nlohmann::json mine = {{"version", FERRY_VERSION}, {"protocol", control::kProtocolVersion}};
  nlohmann::json out = {{"ferryctl", mine}};
  auto client = control::Client::connect(g.socket);
  auto daemon = client ? client->call("status", nlohmann::json::object()) : std::unexpected(client.error());
  if (daemon) out["ferryd"] = {{"version", (*daemon)["version"]}, {"protocol", (*daemon)["protocol"]}};
  if (print_json(g, out)) return 0;
  std::cout << "ferryctl " << FERRY_VERSION << " (protocol " << control::kProtocolVersion << ")\n";
  if (daemon) {
    std::cout << "ferryd " << cell((*daemon)["version"]) << " (protocol " << cell((*daemon)["protocol"]) << ")\n";
  } else {
    std::cout << "ferryd unknown: " << daemon.error().message << '\n';
  }
  return 0;
}

int keygen(const Globals& g, const std::string& name) {
  auto st = signing::keygen(std::filesystem::current_path(), name);
  if (!st) return report(st.error());
  if (!print_json(g, {{"key", name + ".key"}, {"public", name + ".pub"}})) {
    std::cout << "wrote " << name << ".key (keep it secret, mode 0600) and " << name << ".pub\n";
  }
  return 0;
}

namespace {

// Opens every distinct attachment file named in the object file with the
// caller's permissions; the daemon receives the descriptors, never the paths.
Expected<std::vector<std::pair<std::string, UniqueFd>>> open_attachments(
    const std::vector<objectfile::ParsedObject>& objects) {
  std::vector<std::pair<std::string, UniqueFd>> opened;
  std::map<std::string, bool> seen;
  for (const auto& o : objects) {
    for (const auto& a : o.attachments) {
      if (seen[a.file]) continue;
      seen[a.file] = true;
      UniqueFd fd(::open(a.resolved.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) {
        return fail(Errc::invalid_argument, a.where + ": attachment " + a.file + ": cannot open " +
                                                a.resolved.string() + ": " + errno_text(errno));
      }
      opened.emplace_back(a.file, std::move(fd));
    }
  }
  return opened;
}

void print_apply(const nlohmann::json& r) {
  Table table({"ACTION", "ADDRESS", "GUID", "REVISION"});
  std::map<std::string, int> counts;
  for (const auto& o : r["objects"]) {
    table.add({cell(o["action"]), cell(o["address"]), cell(o["guid"]), cell(o["revision"])});
    counts[o["action"].get<std::string>()]++;
  }
  table.print(std::cout);
  std::cout << "applied " << r["objects"].size() << " objects (" << counts["created"] << " created, "
            << counts["updated"] << " updated, " << counts["unchanged"] << " unchanged); catalog revision "
            << cell(r["revision"]) << '\n';
}

}  // namespace

int object_apply(const Globals& g, const std::string& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return report(fail_errno("open", file, errno).error());
  auto text = read_all(fd.get(), file);
  if (!text) return report(text.error());
  auto parsed = objectfile::parse_object_file(file, *text);
  if (!parsed) return report(parsed.error());
  auto attachments = open_attachments(*parsed);
  if (!attachments) return report(attachments.error());
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return report(fail_errno("seek", file, errno).error());
  std::vector<int> fds{fd.get()};
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& [key, afd] : *attachments) {
    keys.push_back(key);
    fds.push_back(afd.get());
  }
  nlohmann::json r;
  if (int rc = call(g, "object.apply", {{"file", file}, {"attachments", keys}}, r, fds)) return rc;
  if (!print_json(g, r)) print_apply(r);
  return 0;
}

int object_list(const Globals& g, const std::optional<std::string>& type, const std::optional<std::string>& folder) {
  nlohmann::json args = nlohmann::json::object();
  if (type) args["type"] = *type;
  if (folder) args["folder"] = *folder;
  nlohmann::json r;
  if (int rc = call(g, "object.list", args, r)) return rc;
  if (print_json(g, r)) return 0;
  Table table({"ADDRESS", "GUID", "REVISION", "OWNER", "UPDATED"});
  for (const auto& o : r["objects"]) {
    table.add({cell(o["address"]), cell(o["guid"]), cell(o["revision"]), cell(o["owner"]), cell(o["updated_at"])});
  }
  table.print(std::cout);
  return 0;
}

int object_get(const Globals& g, const std::string& address) {
  nlohmann::json r;
  if (int rc = call(g, "object.get", {{"address", address}}, r)) return rc;
  if (print_json(g, r)) return 0;
  print_fields(std::cout, {{"address", cell(r["address"])},
                           {"guid", cell(r["guid"])},
                           {"owner", cell(r["owner"])},
                           {"revision", cell(r["revision"])},
                           {"created", cell(r["created_at"])},
                           {"updated", cell(r["updated_at"])}});
  std::cout << "spec\n" << r["spec"].dump(2) << '\n';
  if (!r["secrets"].empty()) {
    Table secrets({"SECRET", "STATE"});
    for (auto it = r["secrets"].begin(); it != r["secrets"].end(); ++it) secrets.add({it.key(), cell(it.value())});
    secrets.print(std::cout);
  }
  if (!r["refs"].empty()) {
    Table refs({"KIND", "REFERENCE", "GUID"});
    for (const auto& ref : r["refs"]) refs.add({cell(ref["kind"]), cell(ref["address"]), cell(ref["guid"])});
    refs.print(std::cout);
  }
  if (!r["attachments"].empty()) {
    Table atts({"ATTACHMENT", "SIZE", "SHA256"});
    for (const auto& a : r["attachments"]) atts.add({cell(a["name"]), cell(a["size"]), cell(a["sha256"])});
    atts.print(std::cout);
  }
  return 0;
}

int object_delete(const Globals& g, const std::string& address) {
  nlohmann::json r;
  if (int rc = call(g, "object.delete", {{"address", address}}, r)) return rc;
  if (print_json(g, r)) return 0;
  for (const auto& t : r["deleted"]) {
    std::cout << "deleted " << cell(t["address"]) << " (" << cell(t["guid"]) << "), revision " << cell(t["revision"])
              << '\n';
  }
  return 0;
}

}  // namespace ferry::cli
