// Readable, sortable, valid GUIDs for tests: guid(7) is "00000000-0000-4000-8000-000000000007".
#pragma once

#include <cstdio>
#include <string>

namespace ferry::test {

inline std::string guid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
  return buf;
}

}  // namespace ferry::test
