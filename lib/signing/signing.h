// Ed25519 signing keys (libsodium): key files, key ids, detached signatures and the
// store of trusted public keys a destination accepts packages from.
//
// Key files are one line of text (docs/package-format.md, "Key files"):
//   NAME.key  "ferry-ed25519-secret <base64 of the 32-byte seed>\n"     mode 0600
//   NAME.pub  "ferry-ed25519-public <base64 of the 32-byte public key>\n"
// base64 is the standard alphabet with padding (RFC 4648 section 4).
//
// A key id is "ed25519:" followed by the lower-case hex of the first 16 bytes of the
// SHA-256 of the 32 raw public-key bytes; the manifest names its signer by this id.
//
// Everything here is pure computation or small-file I/O; any thread may call it.
// PublicKey, SecretKey and TrustStore are immutable after construction and so safe
// to share between threads.
#pragma once

#include <array>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace ferry::signing {

inline constexpr std::string_view kSecretKeyTag = "ferry-ed25519-secret";
inline constexpr std::string_view kPublicKeyTag = "ferry-ed25519-public";
inline constexpr size_t kSignatureBytes = 64;

class PublicKey {
 public:
  static constexpr size_t kBytes = 32;
  explicit PublicKey(const std::array<unsigned char, kBytes>& bytes);

  const std::array<unsigned char, kBytes>& bytes() const { return bytes_; }
  /// "ed25519:<32 hex digits>", see the file comment.
  const std::string& key_id() const { return key_id_; }
  /// The text of a NAME.pub file for this key.
  std::string to_file_text() const;
  /// True when signature (64 raw bytes) is this key's signature of message.
  bool verify(std::string_view message, std::string_view signature) const;

 private:
  std::array<unsigned char, kBytes> bytes_;
  std::string key_id_;
};

/// A secret key; its bytes are wiped when it is destroyed. Move-only.
class SecretKey {
 public:
  static constexpr size_t kSeedBytes = 32;
  /// Derives the key pair from a 32-byte seed (the content of a NAME.key file).
  explicit SecretKey(const std::array<unsigned char, kSeedBytes>& seed);
  /// A fresh random key.
  static SecretKey generate();
  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  const PublicKey& public_key() const { return public_key_; }
  const std::string& key_id() const { return public_key_.key_id(); }
  /// The text of a NAME.key file for this key.
  std::string to_file_text() const;
  /// Detached Ed25519 signature of message: 64 raw bytes.
  std::string sign(std::string_view message) const;

  /// Feeds a message to `chunk` in order, piece by piece; returns what stopped it.
  using MessageSource = std::function<Status(const std::function<void(std::string_view)>& chunk)>;
  /// The same 64 bytes as sign(message) for a message too large to hold in memory
  /// (a manifest of 100k objects): Ed25519 hashes the message twice, so `message`
  /// is called twice and must yield the same bytes both times. Fails with the
  /// source's error, or internal if the two passes differ in length.
  Expected<std::string> sign_streamed(const MessageSource& message) const;

 private:
  std::array<unsigned char, 64> secret_;  ///< libsodium's form: seed followed by public key
  PublicKey public_key_;
};

/// Writes dir/NAME.key (mode 0600) and dir/NAME.pub for a new random key. Refuses
/// (conflict) when either file exists and never overwrites; a failure leaves neither
/// file behind, and a crash leaves at most a dot-named ".NAME.*.partial" file.
/// NAME must be a plain file name: not empty, no '/', not starting with '.'.
Status keygen(const std::filesystem::path& dir, std::string_view name);

/// Loads a NAME.key file. Errors name the file: not_found, a key file that is readable
/// by other users (fix with chmod 600), or a malformed line (corrupt).
Expected<SecretKey> load_secret_key(const std::filesystem::path& path);
/// Loads a NAME.pub file; a NAME.key given by mistake is refused with a hint.
Expected<PublicKey> load_public_key(const std::filesystem::path& path);

/// One entry of `signing.trusted` (mirrors config::TrustedKey without depending on it).
struct TrustedKeyFile {
  std::filesystem::path key;       ///< a NAME.pub file
  std::optional<std::string> env;  ///< accept the key only for packages from this environment
};

/// The public keys a destination accepts packages from, each optionally bound to one
/// source environment. Several keys may be trusted at once (key rotation).
class TrustStore {
 public:
  struct Entry {
    PublicKey key;
    std::optional<std::string> env;
    std::string origin;  ///< the .pub file it came from, for messages
  };

  TrustStore() = default;
  /// Loads every file; all unreadable files are reported in one error, not only the first.
  static Expected<TrustStore> load(const std::vector<TrustedKeyFile>& files);
  void add(PublicKey key, std::optional<std::string> env, std::string origin);

  /// The key with this id if it may sign packages from source_env. Errors:
  /// not_found when no trusted key has this id; permission_denied when the key is
  /// trusted but bound (env:) to other environments. Messages say what to change.
  Expected<const PublicKey*> find(std::string_view key_id, std::string_view source_env) const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

}  // namespace ferry::signing
