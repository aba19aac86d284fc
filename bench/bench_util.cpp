#include "bench_util.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

namespace ferry::bench {

types::TypeRegistry bench_types() {
  std::vector<types::TypeDef> defs(5);
  defs[0].name = "datasource";
  defs[0].global = true;
  defs[0].unique_name = types::NameScope::type;
  defs[0].secret_fields = {"/password"};
  defs[1].name = "dataset";
  defs[2].name = "task";
  defs[3].name = "step";
  defs[4].name = "workflow";
  return types::TypeRegistry(std::move(defs));
}

std::map<std::string, std::string> parse_flags(int argc, char** argv,
                                               const std::map<std::string, std::string>& defaults,
                                               std::string_view usage) {
  auto values = defaults;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto eq = arg.find('=');
    std::string key(arg.substr(0, eq));
    if (arg == "--help" || !arg.starts_with("--") || eq == std::string_view::npos ||
        !defaults.contains(key.substr(2))) {
      std::cerr << usage << "\nflags (default):\n";
      for (const auto& [k, v] : defaults) std::cerr << "  --" << k << "=" << v << "\n";
      std::exit(arg == "--help" ? 0 : 2);
    }
    values[key.substr(2)] = std::string(arg.substr(eq + 1));
  }
  return values;
}

uint64_t parse_size(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    die("not a size: " + text);
  }
  std::string unit = text.substr(used);
  double mult = 1;
  if (unit == "k" || unit == "K")
    mult = 1e3;
  else if (unit == "M")
    mult = 1e6;
  else if (unit == "KiB")
    mult = 1024.0;
  else if (unit == "MiB")
    mult = 1024.0 * 1024;
  else if (unit == "GiB")
    mult = 1024.0 * 1024 * 1024;
  else if (!unit.empty())
    die("unknown unit in " + text + " (use k, M, KiB, MiB, GiB)");
  return static_cast<uint64_t>(value * mult);
}

namespace {
uint64_t status_kib(std::string_view key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(key)) return std::stoull(line.substr(key.size())) * 1024;
  }
  return 0;
}
}  // namespace

uint64_t peak_rss() { return status_kib("VmHWM:"); }
uint64_t current_rss() { return status_kib("VmRSS:"); }

bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

void die(const std::string& what) {
  std::cerr << "error: " << what << "\n";
  std::exit(1);
}

double cpu_seconds(const struct rusage& u) {
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

double self_cpu_seconds() {
  struct rusage u {};
  ::getrusage(RUSAGE_SELF, &u);
  return cpu_seconds(u);
}

}  // namespace ferry::bench
