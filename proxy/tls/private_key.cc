#include "proxy/tls/private_key.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "proxy/tls/openssl_util.h"

namespace remora::tls {

using base::Error;
using base::fail;

base::Result<PrivateKey> PrivateKey::generateP256() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return fail(Error::kInternal, "generating a P-256 key failed: " + detail::takeErrors());
  return PrivateKey(key);
}

base::Result<PrivateKey> PrivateKey::fromPem(std::string_view pem) {
  detail::EvpPkeyPtr key = detail::parsePrivateKey(pem);
  if (!key) return fail(Error::kInvalidArgument, "not a PEM private key: " + detail::takeErrors());
  return PrivateKey(key.release());
}

PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = other.key_;
    other.key_ = nullptr;
  }
  return *this;
}

PrivateKey::~PrivateKey() { EVP_PKEY_free(key_); }

std::string PrivateKey::pem() const {
  if (key_ == nullptr) return {};
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), key_, nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  std::string out(data, static_cast<size_t>(size));
  // The PEM now lives in `out` only; wipe the BIO's copy of the secret.
  OPENSSL_cleanse(data, static_cast<size_t>(size));
  return out;
}

namespace {
struct X509ReqFree {
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
};
}  // namespace

base::Result<std::string> makeCsr(const PrivateKey& key, std::string_view spiffe_id) {
  if (key.native() == nullptr) return fail(Error::kInvalidArgument, "makeCsr: empty key");
  if (!detail::isSpiffeId(spiffe_id)) {
    return fail(Error::kInvalidArgument, "makeCsr: '" + std::string(spiffe_id) + "' is not a SPIFFE ID");
  }
  std::unique_ptr<X509_REQ, X509ReqFree> req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1) return fail(Error::kInternal, "X509_REQ_new failed");
  if (X509_REQ_set_pubkey(req.get(), key.native()) != 1) {
    return fail(Error::kInternal, "makeCsr: " + detail::takeErrors());
  }
  GENERAL_NAMES* names = GENERAL_NAMES_new();
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_IA5STRING* uri = ASN1_IA5STRING_new();
  ASN1_STRING_set(uri, spiffe_id.data(), static_cast<int>(spiffe_id.size()));
  GENERAL_NAME_set0_value(name, GEN_URI, uri);
  sk_GENERAL_NAME_push(names, name);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  X509_EXTENSION* san = X509V3_EXT_i2d(NID_subject_alt_name, 0, names);
  GENERAL_NAMES_free(names);
  bool ok = san != nullptr && sk_X509_EXTENSION_push(exts, san) > 0 && X509_REQ_add_extensions(req.get(), exts) == 1;
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  if (!ok) return fail(Error::kInternal, "makeCsr: adding the SAN failed: " + detail::takeErrors());
  if (X509_REQ_sign(req.get(), key.native(), EVP_sha256()) <= 0) {
    return fail(Error::kInternal, "makeCsr: signing failed: " + detail::takeErrors());
  }
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) return fail(Error::kInternal, "makeCsr: PEM failed");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace remora::tls
