// object.apply, object.list, object.get, object.delete.
#include <spdlog/spdlog.h>
#include <map>

#include "objectfile/objectfile.h"
#include "server/commands.h"
#include "server/object_view.h"
#include "util/fd.h"

namespace ferry::server {

namespace {

// Attachment files arrive as descriptors in the order of args.attachments, after
// the object file itself (fds[0]). Each distinct file is stored once.
class AttachmentFds {
 public:
  AttachmentFds(std::vector<std::string> keys, std::vector<UniqueFd>& fds) : keys_(std::move(keys)), fds_(fds) {}

  Expected<catalog::Attachment> store(catalog::Catalog& catalog, const objectfile::AttachmentSource& src) {
    if (auto it = stored_.find(src.file); it != stored_.end()) return named(it->second, src.name);
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i] != src.file || i + 1 >= fds_.size()) continue;
      auto blob = FERRY_TRY(catalog.store_blob(fds_[i + 1].get(), src.name));
      stored_[src.file] = blob;
      return named(blob, src.name);
    }
    return fail(Errc::invalid_argument, src.where + ": attachment file " + src.file +
                                            " was not sent with the request; use ferryctl object apply");
  }

 private:
  static catalog::Attachment named(catalog::Attachment a, const std::string& name) {
    a.name = name;
    return a;
  }
  std::vector<std::string> keys_;
  std::vector<UniqueFd>& fds_;
  std::map<std::string, catalog::Attachment> stored_;
};

nlohmann::json apply_result_json(const catalog::ApplyResult& result) {
  auto items = nlohmann::json::array();
  for (const auto& item : result.items) {
    items.push_back({{"guid", item.guid},
                     {"address", item.address},
                     {"action", catalog::to_string(item.action)},
                     {"revision", item.revision}});
  }
  return {{"revision", result.revision}, {"objects", std::move(items)}};
}

// Worker thread: reads and parses the file, stores attachments, applies in one transaction.
Expected<nlohmann::json> apply_file(Context& ctx, control::Request& request) {
  auto file_name = FERRY_TRY(string_arg(request.args, "file"));
  std::vector<std::string> keys = request.args.value("attachments", std::vector<std::string>{});
  if (request.fds.empty()) return fail(Errc::invalid_argument, "object apply: no file was sent");
  auto text = FERRY_TRY(read_all(request.fds[0].get(), file_name));
  auto parsed = FERRY_TRY(objectfile::parse_object_file(file_name, text));
  AttachmentFds attachments(std::move(keys), request.fds);
  std::vector<catalog::ObjectDraft> drafts;
  for (auto& p : parsed) {
    for (const auto& src : p.attachments) p.draft.attachments.push_back(FERRY_TRY(attachments.store(ctx.catalog, src)));
    drafts.push_back(std::move(p.draft));
  }
  auto result = FERRY_TRY(ctx.catalog.apply(drafts, user_of(request.peer)));
  return apply_result_json(result);
}

}  // namespace

CommandResult object_apply(Context& ctx, control::Request& request, Responder&) {
  auto job = [&ctx, &request] { return apply_file(ctx, request); };
  auto result = co_await ctx.workers.run(std::move(job));
  if (result) {
    spdlog::info("object apply by {}: {} objects, catalog revision {}", user_of(request.peer),
                 (*result)["objects"].size(), (*result)["revision"].get<int64_t>());
  }
  co_return result;
}

CommandResult object_list(Context& ctx, control::Request& request, Responder&) {
  auto type = optional_string_arg(request.args, "type");
  auto folder = optional_string_arg(request.args, "folder");
  if (!type || !folder) co_return std::unexpected(!type ? type.error() : folder.error());
  catalog::ListFilter filter{*type, *folder};
  auto job = [&ctx, filter]() -> Expected<nlohmann::json> {
    auto objects = FERRY_TRY(ctx.catalog.list(filter));
    auto rows = nlohmann::json::array();
    for (const auto& o : objects) rows.push_back(object_summary(o));
    return nlohmann::json{{"objects", std::move(rows)}};
  };
  auto result = co_await ctx.workers.run(std::move(job));
  co_return result;
}

CommandResult object_get(Context& ctx, control::Request& request, Responder&) {
  auto address = string_arg(request.args, "address");
  if (!address) co_return std::unexpected(address.error());
  auto job = [&ctx, address = *address]() -> Expected<nlohmann::json> {
    auto object = FERRY_TRY(ctx.catalog.get(address));
    auto address_of = [&ctx](const std::string& guid) {
      auto target = ctx.catalog.get(guid);
      return target ? target->address().to_string() : std::string();
    };
    return object_view(object, ctx.types, address_of);
  };
  auto result = co_await ctx.workers.run(std::move(job));
  co_return result;
}

CommandResult object_delete(Context& ctx, control::Request& request, Responder&) {
  auto address = string_arg(request.args, "address");
  if (!address) co_return std::unexpected(address.error());
  auto user = user_of(request.peer);
  auto job = [&ctx, address = *address, user]() -> Expected<nlohmann::json> {
    auto removed = FERRY_TRY(ctx.catalog.remove(address));
    auto rows = nlohmann::json::array();
    for (const auto& t : removed) {
      rows.push_back({{"guid", t.guid}, {"address", t.address().to_string()}, {"revision", t.revision}});
      spdlog::info("object delete by {}: {} ({})", user, t.address().to_string(), t.guid);
    }
    return nlohmann::json{{"deleted", std::move(rows)}};
  };
  auto result = co_await ctx.workers.run(std::move(job));
  co_return result;
}

}  // namespace ferry::server
