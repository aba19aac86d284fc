// Shared by the bench programs: the object types of the generated catalog, flags,
// wall-clock timing and peak RSS. Not part of ferry; see docs/bench.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <sys/resource.h>

#include "types/types.h"

namespace ferry::bench {

/// datasource (global, secret /password), dataset, task, step, workflow: the types
/// gen_catalog creates and export_bench exports. Both must agree, so both use this.
types::TypeRegistry bench_types();

/// --key=value flags into a map; prints usage and exits on --help or a bare argument.
/// Every key must be one of `defaults` (which also gives the values when absent).
std::map<std::string, std::string> parse_flags(int argc, char** argv,
                                               const std::map<std::string, std::string>& defaults,
                                               std::string_view usage);
/// "64MiB", "1GiB", "500k", "1000" into a number.
uint64_t parse_size(const std::string& text);

/// Peak resident set size of this process so far (VmHWM), bytes.
uint64_t peak_rss();
/// Current resident set size (VmRSS), bytes.
uint64_t current_rss();
/// Resets VmHWM to the current RSS (writes "5" to /proc/self/clear_refs).
bool reset_peak_rss();

/// "12.3 MiB"
std::string human_bytes(uint64_t bytes);

/// User + system seconds of a getrusage() result.
double cpu_seconds(const struct rusage& u);
/// User + system seconds this process has used so far (all threads).
double self_cpu_seconds();

class Stopwatch {
 public:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// Dies with a message on an error: bench programs have no one to report to.
[[noreturn]] void die(const std::string& what);

}  // namespace ferry::bench
