#include "signing/signing.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/temp_dir.h"
#include "util/fd.h"

namespace ferry::signing {
namespace {

namespace fs = std::filesystem;

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(Signing, KeygenWritesSecretKey0600AndPublicKey) {
  test::TempDir dir;
  ASSERT_TRUE(keygen(dir.path(), "prod"));
  EXPECT_EQ(mode_of(dir.path() / "prod.key"), 0600u);
  EXPECT_EQ(mode_of(dir.path() / "prod.pub"), 0644u);
  EXPECT_EQ(files_in(dir.path()), 2u);  // no temporary file left behind
  auto text = read_file(dir.path() / "prod.pub").value();
  EXPECT_TRUE(text.starts_with("ferry-ed25519-public ")) << text;
  EXPECT_TRUE(read_file(dir.path() / "prod.key").value().starts_with("ferry-ed25519-secret "));
  auto secret = load_secret_key(dir.path() / "prod.key");
  auto pub = load_public_key(dir.path() / "prod.pub");
  ASSERT_TRUE(secret) << secret.error().message;
  ASSERT_TRUE(pub) << pub.error().message;
  EXPECT_EQ(secret->key_id(), pub->key_id());
}

TEST(Signing, KeygenNeverOverwrites) {
  test::TempDir dir;
  ASSERT_TRUE(keygen(dir.path(), "prod"));
  auto before = read_file(dir.path() / "prod.key").value();
  auto again = keygen(dir.path(), "prod");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::conflict);
  EXPECT_NE(again.error().message.find("prod.key: already exists"), std::string::npos) << again.error().message;
  EXPECT_EQ(read_file(dir.path() / "prod.key").value(), before);

  // A lone .pub also blocks keygen, and no .key is created beside it.
  test::write_text(dir.path() / "other.pub", "x\n");
  ASSERT_FALSE(keygen(dir.path(), "other"));
  EXPECT_FALSE(fs::exists(dir.path() / "other.key"));
  EXPECT_EQ(read_file(dir.path() / "other.pub").value(), "x\n");
}

TEST(Signing, KeygenRefusesNamesThatAreNotPlainFileNames) {
  test::TempDir dir;
  for (const char* name : {"", "a/b", ".hidden", "../up"}) {
    auto st = keygen(dir.path(), name);
    ASSERT_FALSE(st) << name;
    EXPECT_EQ(st.error().code, Errc::invalid_argument);
  }
  EXPECT_EQ(files_in(dir.path()), 0u);
}

TEST(Signing, KeyIdIsEd25519AndFirstHalfOfSha256) {
  auto key = SecretKey::generate();
  const auto& id = key.key_id();
  ASSERT_EQ(id.size(), 8u + 32u);
  EXPECT_TRUE(id.starts_with("ed25519:"));
  // Known vector: the all-zero public key.
  PublicKey zero(std::array<unsigned char, 32>{});
  EXPECT_EQ(zero.key_id(), "ed25519:66687aadf862bd776c8fc18b8e9f8e20");
}

TEST(Signing, SignaturesVerifyOnlyForTheSameMessageAndKey) {
  auto key = SecretKey::generate();
  auto other = SecretKey::generate();
  auto sig = key.sign("manifest bytes");
  EXPECT_EQ(sig.size(), kSignatureBytes);
  EXPECT_TRUE(key.public_key().verify("manifest bytes", sig));
  EXPECT_FALSE(key.public_key().verify("manifest bytes!", sig));
  EXPECT_FALSE(other.public_key().verify("manifest bytes", sig));
  EXPECT_FALSE(key.public_key().verify("manifest bytes", sig.substr(1)));
}

// sign_streamed rebuilds Ed25519 from libsodium's parts: it must give the very bytes
// of crypto_sign_detached, for any key, message length and chunking.
TEST(Signing, StreamedSignatureEqualsTheOneShotSignature) {
  for (size_t length : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{1000}, size_t{200000}}) {
    auto key = SecretKey::generate();
    std::string message(length, '\0');
    for (size_t i = 0; i < length; ++i) message[i] = static_cast<char>((i * 7919 + length) % 251);
    auto in_pieces = [&](const std::function<void(std::string_view)>& chunk) -> Status {
      for (size_t at = 0; at < message.size(); at += 777) chunk(std::string_view(message).substr(at, 777));
      return {};
    };
    auto streamed = key.sign_streamed(in_pieces);
    ASSERT_TRUE(streamed) << streamed.error().message;
    EXPECT_EQ(*streamed, key.sign(message)) << "length " << length;
    EXPECT_TRUE(key.public_key().verify(message, *streamed));
  }
}

TEST(Signing, StreamedSignatureFailsWhenTheSourceFailsOrChanges) {
  auto key = SecretKey::generate();
  auto broken = key.sign_streamed([](const auto&) -> Status { return fail(Errc::io, "disk gone"); });
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().message, "disk gone");
  int calls = 0;
  auto growing = key.sign_streamed([&](const std::function<void(std::string_view)>& chunk) -> Status {
    chunk(std::string(static_cast<size_t>(++calls), 'x'));
    return {};
  });
  ASSERT_FALSE(growing);
  EXPECT_EQ(growing.error().code, Errc::internal);
}

TEST(Signing, KeyFilesRoundTripThroughText) {
  test::TempDir dir;
  auto key = SecretKey::generate();
  auto key_path = test::write_text(dir.path() / "k.key", key.to_file_text());
  fs::permissions(key_path, fs::perms::owner_read | fs::perms::owner_write);
  auto pub_path = test::write_text(dir.path() / "k.pub", key.public_key().to_file_text());
  auto loaded = load_secret_key(key_path).value();
  EXPECT_EQ(loaded.key_id(), key.key_id());
  EXPECT_TRUE(load_public_key(pub_path).value().verify("m", loaded.sign("m")));
}

TEST(Signing, LoadErrorsNameTheFileAndSayWhatToDo) {
  test::TempDir dir;
  auto missing = load_public_key(dir.path() / "nope.pub");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("nope.pub"), std::string::npos);

  auto bad = load_public_key(test::write_text(dir.path() / "bad.pub", "ssh-ed25519 AAAA\n"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::corrupt);
  EXPECT_NE(bad.error().message.find("bad.pub: not a ferry key file"), std::string::npos) << bad.error().message;

  auto short_key = load_public_key(test::write_text(dir.path() / "short.pub", "ferry-ed25519-public AAAA\n"));
  ASSERT_FALSE(short_key);
  EXPECT_NE(short_key.error().message.find("not 32 bytes"), std::string::npos) << short_key.error().message;

  auto key = SecretKey::generate();
  auto secret_path = test::write_text(dir.path() / "s.key", key.to_file_text());
  fs::permissions(secret_path, fs::perms::owner_read | fs::perms::owner_write);
  auto swapped = load_public_key(secret_path);
  ASSERT_FALSE(swapped);
  EXPECT_NE(swapped.error().message.find("this is a secret key"), std::string::npos);

  fs::permissions(secret_path, fs::perms::others_read, fs::perm_options::add);
  auto shared = load_secret_key(secret_path);
  ASSERT_FALSE(shared);
  EXPECT_NE(shared.error().message.find("chmod 600"), std::string::npos) << shared.error().message;
}

TEST(Signing, TrustStoreTellsUnknownKeyFromKeyBoundToAnotherEnvironment) {
  auto prod = SecretKey::generate();
  auto stranger = SecretKey::generate();
  TrustStore trust;
  trust.add(prod.public_key(), "prod", "prod.pub");

  auto ok = trust.find(prod.key_id(), "prod");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*ok)->key_id(), prod.key_id());

  auto bound = trust.find(prod.key_id(), "test");
  ASSERT_FALSE(bound);
  EXPECT_EQ(bound.error().code, Errc::permission_denied);
  EXPECT_NE(bound.error().message.find("trusted only for environment prod"), std::string::npos)
      << bound.error().message;

  auto unknown = trust.find(stranger.key_id(), "prod");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  EXPECT_NE(unknown.error().message.find("is not trusted"), std::string::npos);
}

TEST(Signing, TrustStoreAcceptsSeveralKeysForRotation) {
  test::TempDir dir;
  ASSERT_TRUE(keygen(dir.path(), "old"));
  ASSERT_TRUE(keygen(dir.path(), "new"));
  auto trust =
      TrustStore::load({{dir.path() / "old.pub", std::nullopt}, {dir.path() / "new.pub", std::string("test")}});
  ASSERT_TRUE(trust) << trust.error().message;
  auto old_key = load_secret_key(dir.path() / "old.key").value();
  auto new_key = load_secret_key(dir.path() / "new.key").value();
  EXPECT_TRUE(trust->find(old_key.key_id(), "test"));
  EXPECT_TRUE(trust->find(new_key.key_id(), "test"));
  EXPECT_FALSE(trust->find(new_key.key_id(), "dev"));
}

TEST(Signing, TrustStoreLoadReportsEveryBadFile) {
  test::TempDir dir;
  auto trust = TrustStore::load({{dir.path() / "a.pub", std::nullopt}, {dir.path() / "b.pub", std::nullopt}});
  ASSERT_FALSE(trust);
  EXPECT_NE(trust.error().message.find("a.pub"), std::string::npos);
  EXPECT_NE(trust.error().message.find("b.pub"), std::string::npos);
}

}  // namespace
}  // namespace ferry::signing
