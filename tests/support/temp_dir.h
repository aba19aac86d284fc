// A real temporary folder, removed with everything in it when the test ends.
#pragma once

#include <filesystem>

namespace ferry::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Writes a small file (creating parent folders) and returns its path.
std::filesystem::path write_text(const std::filesystem::path& path, const std::string& text);

}  // namespace ferry::test
