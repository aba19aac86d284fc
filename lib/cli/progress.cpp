#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>

#include "cli/output.h"

namespace ferry::cli {
namespace {

constexpr int kBarWidth = 20;

uint64_t count(const nlohmann::json& event, std::string_view key) {
  const auto& v = member(event, key);
  return v.is_number_integer() && v.get<int64_t>() >= 0 ? v.get<uint64_t>() : 0;
}

}  // namespace

std::string progress_line(const nlohmann::json& event) {
  uint64_t objects_done = count(event, "objects_done"), objects_total = count(event, "objects_total");
  uint64_t bytes_done = count(event, "bytes_done"), bytes_total = count(event, "bytes_total");
  uint64_t done = bytes_total > 0 ? bytes_done : objects_done;
  uint64_t total = bytes_total > 0 ? bytes_total : objects_total;
  double fraction = total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 0.0;
  int filled = static_cast<int>(fraction * kBarWidth);
  std::string line = "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "] ";
  std::string percent = std::to_string(static_cast<int>(fraction * 100)) + "%";
  line += std::string(4 - std::min<size_t>(4, percent.size()), ' ') + percent;
  line += "  " + std::to_string(objects_done) + "/" + std::to_string(objects_total) + " objects";
  if (bytes_total > 0) line += "  " + human_size(bytes_done) + "/" + human_size(bytes_total);
  return line;
}

ProgressBar::ProgressBar(std::FILE* out) : out_(out), enabled_(::isatty(::fileno(out)) == 1) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::on_event(const nlohmann::json& event) {
  if (!enabled_ || cell(event, "event") != "progress") return;
  auto line = progress_line(event);
  // Pad over the previous line's tail so a shorter line leaves no leftovers.
  size_t pad = drawn_ > line.size() ? drawn_ - line.size() : 0;
  std::fprintf(out_, "\r%s%s", line.c_str(), std::string(pad, ' ').c_str());
  std::fflush(out_);
  drawn_ = line.size() + pad;
}

void ProgressBar::finish() {
  if (drawn_ == 0) return;
  std::fprintf(out_, "\r%s\r", std::string(drawn_, ' ').c_str());
  std::fflush(out_);
  drawn_ = 0;
}

}  // namespace ferry::cli
