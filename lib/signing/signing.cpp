#include "signing/signing.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <utility>

#include "util/fd.h"
#include "util/sha256.h"

namespace ferry::signing {

namespace {

void ensure_sodium() {
  static const int ready = sodium_init();
  if (ready < 0) std::abort();  // libsodium cannot work without a random source
}

std::string to_base64(const unsigned char* data, size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // drop the terminating NUL
  return out;
}

std::string compute_key_id(const std::array<unsigned char, PublicKey::kBytes>& bytes) {
  auto digest = sha256_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  return "ed25519:" + digest.substr(0, 32);
}

// Parses "TAG <base64>\n" into exactly N bytes; the message says what was expected.
template <size_t N>
Expected<std::array<unsigned char, N>> parse_key_line(std::string_view text, std::string_view tag,
                                                      const std::filesystem::path& path) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::corrupt, path.string() + ": not a ferry key file: " + std::string(why) +
                                   " (expected one line \"" + std::string(tag) +
                                   " <base64>\", as written by `ferryctl keygen`)");
  };
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.find('\n') != std::string_view::npos) return bad("more than one line");
  if (!text.starts_with(tag) || text.size() <= tag.size() || text[tag.size()] != ' ') {
    return bad("it does not start with \"" + std::string(tag) + " \"");
  }
  auto b64 = text.substr(tag.size() + 1);
  std::array<unsigned char, N> out{};
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64.data() + b64.size() || len != N) {
    return bad("the key is not " + std::to_string(N) + " bytes of base64");
  }
  return out;
}

Expected<std::string> read_key_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd && errno == ENOENT) {
    return fail(Errc::not_found, path.string() + ": key file does not exist (create one with `ferryctl keygen NAME`)");
  }
  if (!fd) return fail_errno("open key file", path.string(), errno);
  return read_all(fd.get(), path.string(), 4096);
}

Status refuse_if_shared(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail_errno("stat", path.string(), errno);
  if ((st.st_mode & 0007) != 0) {
    return fail(Errc::permission_denied,
                path.string() + ": secret key is readable by every user; run `chmod 600 " + path.string() + "`");
  }
  return {};
}

// Creates path with content without ever replacing an existing file: the bytes go to
// a dot-named temporary first and are then hard-linked into place (link() fails on
// EEXIST), so the final name only ever holds a complete key.
Status create_exclusive(const std::filesystem::path& path, std::string_view content, mode_t mode) {
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::string tmpl = (dir / ("." + path.filename().string() + ".XXXXXX.partial")).string();
  UniqueFd fd(::mkostemps(tmpl.data(), 8, O_CLOEXEC));
  if (!fd) return fail_errno("create temporary file", tmpl, errno);
  Status st = [&]() -> Status {
    if (::fchmod(fd.get(), mode) != 0) return fail_errno("chmod", tmpl, errno);
    FERRY_TRY(write_all(fd.get(), content, tmpl));
    if (::fsync(fd.get()) != 0) return fail_errno("fsync", tmpl, errno);
    if (::link(tmpl.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) {
        return fail(Errc::conflict, path.string() + ": already exists; keygen never overwrites a key");
      }
      return fail_errno("create", path.string(), errno);
    }
    return {};
  }();
  ::unlink(tmpl.c_str());
  if (!st) return st;
  return fsync_dir(dir);
}

Status check_key_name(std::string_view name) {
  if (name.empty() || name.find('/') != std::string_view::npos || name.front() == '.' ||
      name.find('\0') != std::string_view::npos) {
    return fail(Errc::invalid_argument, "key name \"" + std::string(name) +
                                            "\": use a plain file name without '/' that does not start with '.'");
  }
  return {};
}

}  // namespace

PublicKey::PublicKey(const std::array<unsigned char, kBytes>& bytes) : bytes_(bytes), key_id_(compute_key_id(bytes)) {}

std::string PublicKey::to_file_text() const {
  return std::string(kPublicKeyTag) + " " + to_base64(bytes_.data(), bytes_.size()) + "\n";
}

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
  ensure_sodium();
  if (signature.size() != kSignatureBytes) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     bytes_.data()) == 0;
}

namespace {
std::array<unsigned char, PublicKey::kBytes> derive_public(const std::array<unsigned char, SecretKey::kSeedBytes>& seed,
                                                           std::array<unsigned char, 64>& secret) {
  ensure_sodium();
  std::array<unsigned char, PublicKey::kBytes> pk{};
  crypto_sign_seed_keypair(pk.data(), secret.data(), seed.data());
  return pk;
}
}  // namespace

SecretKey::SecretKey(const std::array<unsigned char, kSeedBytes>& seed)
    : secret_{}, public_key_(derive_public(seed, secret_)) {}

SecretKey SecretKey::generate() {
  ensure_sodium();
  std::array<unsigned char, kSeedBytes> seed{};
  randombytes_buf(seed.data(), seed.size());
  SecretKey key(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

SecretKey::SecretKey(SecretKey&& other) noexcept : secret_(other.secret_), public_key_(other.public_key_) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    public_key_ = other.public_key_;
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

SecretKey::~SecretKey() { sodium_memzero(secret_.data(), secret_.size()); }

std::string SecretKey::to_file_text() const {
  // libsodium's secret key starts with the seed; the file holds only the seed.
  return std::string(kSecretKeyTag) + " " + to_base64(secret_.data(), kSeedBytes) + "\n";
}

std::string SecretKey::sign(std::string_view message) const {
  std::string sig(kSignatureBytes, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(), secret_.data());
  return sig;
}

// Ed25519 (RFC 8032 5.1.6) from libsodium's parts, step for step as its
// crypto_sign_detached does it, so the result is byte-identical (tests compare):
//   r = SHA-512(prefix || M) mod L,  R = rB,  k = SHA-512(R || A || M) mod L,
//   S = (r + k * a) mod L,           a = the clamped first half of SHA-512(seed).
// Only the two SHA-512 passes see M, and they stream.
Expected<std::string> SecretKey::sign_streamed(const MessageSource& message) const {
  std::array<unsigned char, 64> az{};
  crypto_hash_sha512(az.data(), secret_.data(), kSeedBytes);
  uint64_t first_length = 0;
  auto hash_pass = [&](std::string_view prefix, uint64_t& length, std::array<unsigned char, 64>& out) -> Status {
    crypto_hash_sha512_state state;
    crypto_hash_sha512_init(&state);
    crypto_hash_sha512_update(&state, reinterpret_cast<const unsigned char*>(prefix.data()), prefix.size());
    auto status = message([&](std::string_view chunk) {
      crypto_hash_sha512_update(&state, reinterpret_cast<const unsigned char*>(chunk.data()), chunk.size());
      length += chunk.size();
    });
    crypto_hash_sha512_final(&state, out.data());
    sodium_memzero(&state, sizeof state);
    return status;
  };
  auto as_view = [](const unsigned char* p, size_t n) { return std::string_view(reinterpret_cast<const char*>(p), n); };
  std::array<unsigned char, 64> wide{};
  Status pass = hash_pass(as_view(az.data() + 32, 32), first_length, wide);
  std::array<unsigned char, 32> nonce{};
  crypto_core_ed25519_scalar_reduce(nonce.data(), wide.data());
  std::string sig(kSignatureBytes, '\0');
  auto* sig_bytes = reinterpret_cast<unsigned char*>(sig.data());
  if (pass && crypto_scalarmult_ed25519_base_noclamp(sig_bytes, nonce.data()) != 0) {
    pass = fail(Errc::internal, "signing: degenerate nonce");
  }
  std::copy(secret_.begin() + kSeedBytes, secret_.end(), sig_bytes + 32);
  uint64_t second_length = 0;
  if (pass) pass = hash_pass(as_view(sig_bytes, 64), second_length, wide);
  if (pass && second_length != first_length) pass = fail(Errc::internal, "signing: the message changed between passes");
  std::array<unsigned char, 32> hram{}, a{}, product{};
  crypto_core_ed25519_scalar_reduce(hram.data(), wide.data());
  std::copy(az.begin(), az.begin() + 32, a.begin());
  a[0] &= 248;
  a[31] &= 127;
  a[31] |= 64;
  crypto_core_ed25519_scalar_mul(product.data(), hram.data(), a.data());
  crypto_core_ed25519_scalar_add(sig_bytes + 32, product.data(), nonce.data());
  for (auto* secret : {az.data(), wide.data(), nonce.data(), a.data(), product.data()}) sodium_memzero(secret, 32);
  sodium_memzero(az.data() + 32, 32);
  sodium_memzero(wide.data() + 32, 32);
  if (!pass) return std::unexpected(pass.error());
  return sig;
}

Status keygen(const std::filesystem::path& dir, std::string_view name) {
  FERRY_TRY(check_key_name(name));
  auto key_path = dir / (std::string(name) + ".key");
  auto pub_path = dir / (std::string(name) + ".pub");
  for (const auto& p : {key_path, pub_path}) {
    if (::access(p.c_str(), F_OK) == 0) {
      return fail(Errc::conflict, p.string() + ": already exists; keygen never overwrites a key (choose another NAME)");
    }
  }
  auto key = SecretKey::generate();
  auto secret_text = key.to_file_text();
  auto st = create_exclusive(key_path, secret_text, 0600);
  sodium_memzero(secret_text.data(), secret_text.size());
  if (!st) return st;
  if (auto pub = create_exclusive(pub_path, key.public_key().to_file_text(), 0644); !pub) {
    ::unlink(key_path.c_str());  // a key without its .pub would only confuse the next keygen
    return pub;
  }
  return {};
}

Expected<SecretKey> load_secret_key(const std::filesystem::path& path) {
  auto text = FERRY_TRY(read_key_file(path));
  FERRY_TRY(refuse_if_shared(path));
  auto seed = parse_key_line<SecretKey::kSeedBytes>(text, kSecretKeyTag, path);
  sodium_memzero(text.data(), text.size());
  if (!seed) return std::unexpected(seed.error());
  SecretKey key(*seed);
  sodium_memzero(seed->data(), seed->size());
  return key;
}

Expected<PublicKey> load_public_key(const std::filesystem::path& path) {
  auto text = FERRY_TRY(read_key_file(path));
  if (std::string_view(text).starts_with(kSecretKeyTag)) {
    sodium_memzero(text.data(), text.size());
    return fail(Errc::invalid_argument,
                path.string() + ": this is a secret key; list the matching .pub file under signing.trusted");
  }
  auto bytes = FERRY_TRY(parse_key_line<PublicKey::kBytes>(text, kPublicKeyTag, path));
  return PublicKey(bytes);
}

Expected<TrustStore> TrustStore::load(const std::vector<TrustedKeyFile>& files) {
  TrustStore store;
  std::string errors;
  for (const auto& f : files) {
    auto key = load_public_key(f.key);
    if (!key) {
      errors += (errors.empty() ? "" : "\n") + key.error().message;
      continue;
    }
    store.add(*key, f.env, f.key.string());
  }
  if (!errors.empty()) return fail(Errc::invalid_argument, errors);
  return store;
}

void TrustStore::add(PublicKey key, std::optional<std::string> env, std::string origin) {
  entries_.push_back(Entry{std::move(key), std::move(env), std::move(origin)});
}

Expected<const PublicKey*> TrustStore::find(std::string_view key_id, std::string_view source_env) const {
  std::string bound_to;
  for (const auto& e : entries_) {
    if (e.key.key_id() != key_id) continue;
    if (!e.env || *e.env == source_env) return &e.key;
    bound_to += (bound_to.empty() ? "" : ", ") + *e.env;
  }
  if (!bound_to.empty()) {
    return fail(Errc::permission_denied, "signing key " + std::string(key_id) + " is trusted only for environment " +
                                             bound_to + ", but the package comes from environment \"" +
                                             std::string(source_env) +
                                             "\"; check the package's origin or the env: of "
                                             "that key under signing.trusted");
  }
  return fail(Errc::not_found, "signing key " + std::string(key_id) + " is not trusted; if the source environment \"" +
                                   std::string(source_env) + "\" is legitimate, add its .pub file to signing.trusted");
}

}  // namespace ferry::signing
