// The one-line progress display of `--wait` commands: a bar on stderr, redrawn in
// place with '\r', only when stderr is a terminal (scripts and logs see nothing).
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace ferry::cli {

/// The text of one progress line for a {"event":"progress", objects_done,
/// objects_total, bytes_done, bytes_total} event, e.g.
/// "[#######.............]  35%  120/340 objects  12.0 MiB/34.2 MiB". The bar follows
/// bytes when bytes_total is known, else objects; missing members count as 0.
std::string progress_line(const nlohmann::json& event);

/// Draws progress events on a terminal. Not thread-safe; lives on the calling thread.
class ProgressBar {
 public:
  /// Draws on out (normally stderr) only if it is a terminal.
  explicit ProgressBar(std::FILE* out = stderr);
  /// Erases the line if anything was drawn.
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Redraws the line for a progress event; ignores other events.
  void on_event(const nlohmann::json& event);
  /// Erases the line (before the result is printed). Idempotent.
  void finish();

 private:
  std::FILE* out_;
  bool enabled_;
  size_t drawn_ = 0;  ///< width of the line on screen; 0 when none
};

}  // namespace ferry::cli
