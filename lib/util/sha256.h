// Streaming SHA-256 (libsodium), hex-encoded as it appears in manifests and paths.
#pragma once

#include <sodium.h>

#include <span>
#include <string>
#include <string_view>

#include "util/error.h"

namespace ferry {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::byte> data);
  void update(std::string_view data);
  /// Lower-case hex digest; the object must not be used afterwards.
  std::string finish_hex();

 private:
  crypto_hash_sha256_state state_;
};

std::string sha256_hex(std::string_view data);

/// Hashes what remains readable from fd, streaming (64 KiB at a time).
Expected<std::string> sha256_fd(int fd);

bool is_sha256_hex(std::string_view s);

}  // namespace ferry
