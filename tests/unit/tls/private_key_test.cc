#include "proxy/tls/private_key.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>

using namespace remora;
using namespace remora::tls;

TEST_CASE("a generated P-256 key round-trips through PKCS#8 PEM", "[tls][keys]") {
  auto key = PrivateKey::generateP256();
  REQUIRE(key);
  std::string pem = key->pem();
  CHECK(pem.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  auto again = PrivateKey::fromPem(pem);
  REQUIRE(again);
  CHECK(again->pem() == pem);
  auto other = PrivateKey::generateP256();
  REQUIRE(other);
  CHECK(other->pem() != pem);
  CHECK_FALSE(PrivateKey::fromPem("nope"));
  PrivateKey moved = std::move(*other);
  CHECK_FALSE(moved.pem().empty());
}

TEST_CASE("a CSR carries exactly one URI SAN and is signed by the key", "[tls][keys]") {
  auto key = PrivateKey::generateP256();
  REQUIRE(key);
  const std::string id = "spiffe://cluster.local/ns/shop/sa/cart";
  auto csr = makeCsr(*key, id);
  REQUIRE(csr);
  BIO* bio = BIO_new_mem_buf(csr->data(), static_cast<int>(csr->size()));
  X509_REQ* req = PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(req != nullptr);
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req);
  CHECK(X509_REQ_verify(req, pub) == 1);
  CHECK(EVP_PKEY_eq(pub, key->native()) == 1);
  CHECK(X509_NAME_entry_count(X509_REQ_get_subject_name(req)) == 0);
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  REQUIRE(exts != nullptr);
  std::vector<std::string> uris;
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      REQUIRE(name->type == GEN_URI);
      uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.uniformResourceIdentifier)));
    }
    GENERAL_NAMES_free(names);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
  CHECK(uris == std::vector<std::string>{id});
}

TEST_CASE("a CSR is refused for something that is not a SPIFFE ID", "[tls][keys]") {
  auto key = PrivateKey::generateP256();
  REQUIRE(key);
  for (const char* bad : {"", "https://x/y", "spiffe://", "spiffe://td", "spiffe://td/", "spiffe://TD/a",
                          "spiffe://td/a//b", "spiffe://td/a/../b", "spiffe://td/a?q=1", "spiffe://td:80/a"}) {
    INFO(bad);
    auto csr = makeCsr(*key, bad);
    REQUIRE_FALSE(csr);
    CHECK(csr.error().code == base::Error::kInvalidArgument);
  }
  CHECK(makeCsr(*key, "spiffe://cluster.local/ns/a-b/sa/c_d.e"));
}
