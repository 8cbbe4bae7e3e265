#include "tests/support/pki/test_pki.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace remora::testing::pki {
namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "test_pki: %s failed\n", what);
  std::abort();
}

struct KeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CertFree {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string keyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) die("key PEM");
  return bioText(bio.get());
}

std::string certPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) die("certificate PEM");
  return bioText(bio.get());
}

KeyPtr readKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) die("reading the issuer key");
  return key;
}

CertPtr readCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  CertPtr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) die("reading the issuer certificate");
  return cert;
}

void addExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr) die(("extension " + value).c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

struct CertSpec {
  std::string common_name;
  std::string organization = "remora-test";
  bool is_ca = false;
  bool ca_key_usage = false;
  std::chrono::seconds not_before{};
  std::chrono::seconds not_after{};
  std::string san;  // X509V3 config form, "" for none
  std::string eku;  // "" for none
};

// Makes a certificate for `key` signed by issuer_key (self-signed when issuer is null).
CertPtr makeCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  BIGNUM* serial = BN_new();
  BN_rand(serial, 120, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(spec.not_before.count()));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(spec.not_after.count()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.organization.c_str()),
                             -1, -1, 0);
  if (!spec.common_name.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(cert.get(), key);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  addExtension(cert.get(), &ctx, NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  addExtension(cert.get(), &ctx, NID_key_usage,
               spec.ca_key_usage ? "critical,keyCertSign,cRLSign,digitalSignature" : "critical,digitalSignature");
  addExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  addExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (!spec.eku.empty()) addExtension(cert.get(), &ctx, NID_ext_key_usage, spec.eku);
  if (!spec.san.empty()) addExtension(cert.get(), &ctx, NID_subject_alt_name, spec.san);
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) <= 0) die("X509_sign");
  return cert;
}

KeyPtr newKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) die("EVP_EC_gen");
  return key;
}

}  // namespace

Authority makeRoot(std::string_view name) {
  KeyPtr key = newKey();
  CertSpec spec;
  spec.common_name = std::string(name);
  spec.is_ca = true;
  spec.ca_key_usage = true;
  spec.not_before = std::chrono::hours(-1);
  spec.not_after = std::chrono::hours(24 * 3650);
  CertPtr cert = makeCert(spec, key.get(), nullptr, nullptr);
  return Authority{std::string(name), certPem(cert.get()), keyPem(key.get()), ""};
}

Authority makeIntermediate(const Authority& parent, std::string_view name) {
  KeyPtr parent_key = readKey(parent.private_key_pem);
  CertPtr parent_cert = readCert(parent.certificate_pem);
  KeyPtr key = newKey();
  CertSpec spec;
  spec.common_name = std::string(name);
  spec.is_ca = true;
  spec.ca_key_usage = true;
  spec.not_before = std::chrono::hours(-1);
  spec.not_after = std::chrono::hours(24 * 365);
  CertPtr cert = makeCert(spec, key.get(), parent_cert.get(), parent_key.get());
  std::string pem = certPem(cert.get());
  return Authority{std::string(name), pem, keyPem(key.get()), pem + parent.chain_pem};
}

Leaf issue(const Authority& issuer, const LeafSpec& leaf) {
  KeyPtr issuer_key = readKey(issuer.private_key_pem);
  CertPtr issuer_cert = readCert(issuer.certificate_pem);
  KeyPtr key = newKey();
  CertSpec spec;
  spec.common_name = leaf.common_name;
  spec.is_ca = leaf.is_ca;
  spec.ca_key_usage = leaf.is_ca;
  spec.not_before = leaf.not_before;
  spec.not_after = leaf.not_after;
  auto append = [&](const char* type, const std::vector<std::string>& values) {
    for (const std::string& v : values) {
      if (!spec.san.empty()) spec.san += ",";
      spec.san += type + v;
    }
  };
  append("URI:", leaf.uri_sans);
  append("DNS:", leaf.dns_sans);
  append("IP:", leaf.ip_sans);
  if (leaf.server_auth) spec.eku = "serverAuth";
  if (leaf.client_auth) spec.eku += spec.eku.empty() ? "clientAuth" : ",clientAuth";
  CertPtr cert = makeCert(spec, key.get(), issuer_cert.get(), issuer_key.get());
  return Leaf{certPem(cert.get()) + issuer.chain_pem, keyPem(key.get())};
}

Leaf issue(const Authority& issuer, std::string_view spiffe_id) {
  LeafSpec spec;
  spec.uri_sans.emplace_back(spiffe_id);
  return issue(issuer, spec);
}

std::string writeFile(const std::string& dir, const std::string& name, std::string_view text) {
  std::string path = dir + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) die(("open " + path).c_str());
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) die(("write " + path).c_str());
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return path;
}

}  // namespace remora::testing::pki
