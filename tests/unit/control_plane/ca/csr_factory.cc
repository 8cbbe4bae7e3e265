#include "tests/unit/control_plane/ca/csr_factory.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace remora::testing {

namespace {

std::string bioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

int64_t unixOf(const ASN1_TIME* time) {
  struct tm parts {};
  ASN1_TIME_to_tm(time, &parts);
  return static_cast<int64_t>(timegm(&parts));
}

}  // namespace

Csr makeCsr(const CsrSpec& spec) {
  EVP_PKEY* key = nullptr;
  if (spec.key_type == "P-256") key = EVP_EC_gen("P-256");
  if (spec.key_type == "P-384") key = EVP_EC_gen("P-384");
  if (spec.key_type == "RSA-1024") key = EVP_RSA_gen(1024);
  if (spec.key_type == "RSA-2048") key = EVP_RSA_gen(2048);
  X509_REQ* req = X509_REQ_new();
  X509_REQ_set_version(req, 0);
  X509_REQ_set_pubkey(req, key);
  if (!spec.uris.empty()) {
    std::string san;
    for (const std::string& uri : spec.uris) san += (san.empty() ? "URI:" : ",URI:") + uri;
    STACK_OF(X509_EXTENSION)* extensions = sk_X509_EXTENSION_new_null();
    sk_X509_EXTENSION_push(extensions, X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str()));
    X509_REQ_add_extensions(req, extensions);
    sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  }
  X509_REQ_sign(req, key, EVP_sha256());
  if (spec.corrupt_signature) {
    const ASN1_BIT_STRING* signature = nullptr;
    X509_REQ_get0_signature(req, &signature, nullptr);
    auto* bytes = const_cast<unsigned char*>(ASN1_STRING_get0_data(signature));
    bytes[ASN1_STRING_length(signature) - 5] ^= 0x5A;  // the signature is written from here
  }
  BIO* pem = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(pem, req);
  Csr csr;
  csr.pem = bioText(pem);
  BIO_free(pem);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  csr.key_pem = bioText(key_bio);
  BIO_free(key_bio);
  X509_REQ_free(req);
  EVP_PKEY_free(key);
  return csr;
}

KeyPair makeIntermediate(const std::string& root_cert_pem, const std::string& root_key_pem) {
  BIO* cert_bio = BIO_new_mem_buf(root_cert_pem.data(), static_cast<int>(root_cert_pem.size()));
  X509* root = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(root_key_pem.data(), static_cast<int>(root_key_pem.size()));
  EVP_PKEY* root_key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 86400);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("test intermediate"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(root));
  X509_set_pubkey(cert, key);
  X509V3_CTX context;
  X509V3_set_ctx(&context, root, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"}}) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
  }
  X509_sign(cert, root_key, EVP_sha256());
  KeyPair out;
  BIO* pem = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(pem, cert);
  out.cert_pem = bioText(pem);
  BIO_free(pem);
  pem = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(pem, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = bioText(pem);
  BIO_free(pem);
  X509_free(cert);
  X509_free(root);
  EVP_PKEY_free(key);
  EVP_PKEY_free(root_key);
  return out;
}

CertFacts inspect(const std::string& leaf_pem, const std::string& roots_pem) {
  CertFacts facts;
  BIO* bio = BIO_new_mem_buf(leaf_pem.data(), static_cast<int>(leaf_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return facts;
  facts.ca = X509_check_ca(cert) >= 1;
  const int bc = X509_get_ext_by_NID(cert, NID_basic_constraints, -1);
  facts.basic_constraints_critical = bc >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, bc));
  const int ku = X509_get_ext_by_NID(cert, NID_key_usage, -1);
  facts.key_usage_critical = ku >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, ku));
  const uint32_t usage = X509_get_key_usage(cert);
  facts.digital_signature = (usage & KU_DIGITAL_SIGNATURE) != 0;
  facts.key_cert_sign = (usage & KU_KEY_CERT_SIGN) != 0;
  const uint32_t extended = X509_get_extended_key_usage(cert);
  facts.server_auth = (extended & XKU_SSL_SERVER) != 0;
  facts.client_auth = (extended & XKU_SSL_CLIENT) != 0;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_URI) {
      facts.uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.uniformResourceIdentifier)));
    } else if (name->type == GEN_DNS) {
      facts.dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)));
    }
  }
  GENERAL_NAMES_free(names);
  facts.serial_bytes = ASN1_STRING_length(X509_get0_serialNumber(cert));
  facts.not_before = unixOf(X509_get0_notBefore(cert));
  facts.not_after = unixOf(X509_get0_notAfter(cert));
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  facts.subject = subject;
  if (!roots_pem.empty()) {
    X509_STORE* store = X509_STORE_new();
    BIO* roots = BIO_new_mem_buf(roots_pem.data(), static_cast<int>(roots_pem.size()));
    while (X509* root = PEM_read_bio_X509(roots, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, root);
      X509_free(root);
    }
    BIO_free(roots);
    X509_STORE_CTX* context = X509_STORE_CTX_new();
    X509_STORE_CTX_init(context, store, cert, nullptr);
    facts.verifies_with_roots = X509_verify_cert(context) == 1;
    X509_STORE_CTX_free(context);
    X509_STORE_free(store);
  }
  ERR_clear_error();
  X509_free(cert);
  return facts;
}

}  // namespace remora::testing
