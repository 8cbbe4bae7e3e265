#include "control-plane/ca/crypto.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace remora::cp::ca::crypto {

namespace {

using base::Error;
using base::fail;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr readBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

int64_t asn1Unix(const ASN1_TIME* time) {
  struct tm parts {};
  if (ASN1_TIME_to_tm(time, &parts) != 1) return 0;
  return static_cast<int64_t>(timegm(&parts));
}

std::vector<std::string> urisOf(const GENERAL_NAMES* names) {
  std::vector<std::string> out;
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  return out;
}

}  // namespace

std::string lastError() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!out.empty()) out += "; ";
    out += buffer;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

base::Result<KeyPtr> generateP256Key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return fail(Error::kInternal, "cannot generate a P-256 key: " + lastError());
  return key;
}

base::Result<KeyPtr> parsePrivateKey(std::string_view pem) {
  BioPtr bio = readBio(pem);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return fail(Error::kInvalidArgument, "not a PEM private key: " + lastError());
  return key;
}

base::Result<std::string> privateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return fail(Error::kInternal, "cannot write a private key: " + lastError());
  }
  return bioText(bio.get());
}

base::Result<std::vector<CertPtr>> parseCertificates(std::string_view pem) {
  BioPtr bio = readBio(pem);
  std::vector<CertPtr> out;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(cert);
  ERR_clear_error();  // the read that ended the loop reports "no start line"
  if (out.empty()) return fail(Error::kInvalidArgument, "no PEM certificate found");
  return out;
}

std::string certificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bioText(bio.get());
}

base::Result<ReqPtr> parseRequest(std::string_view pem) {
  BioPtr bio = readBio(pem);
  ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    ERR_clear_error();
    return fail(Error::kInvalidArgument, "csr_pem is not a PEM certificate request");
  }
  return req;
}

std::string requestPem(X509_REQ* req) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req);
  return bioText(bio.get());
}

std::string randomBytes(size_t count) {
  std::string out(count, '\0');
  // RAND_bytes only fails when the system has no entropy at all; the CA
  // cannot run then, and an all-zero serial would be worse than a crash.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) std::abort();
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string hex(std::string_view bytes, char separator) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (separator != 0 && i > 0) out += separator;
    const auto byte = static_cast<unsigned char>(bytes[i]);
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xF];
  }
  return out;
}

std::string base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3F];
  return out;
}

std::string fingerprint(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  X509_digest(cert, EVP_sha256(), digest, &size);
  return hex(std::string_view(reinterpret_cast<const char*>(digest), size), ':');
}

std::string subjectText(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  return bioText(bio.get());
}

int64_t notAfterUnix(X509* cert) { return asn1Unix(X509_get0_notAfter(cert)); }
int64_t notBeforeUnix(X509* cert) { return asn1Unix(X509_get0_notBefore(cert)); }

std::string serialHex(X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  return hex(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)),
                              static_cast<size_t>(ASN1_STRING_length(serial))));
}

std::vector<std::string> certificateUris(X509* cert) {
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::vector<std::string> out = urisOf(names);
  GENERAL_NAMES_free(names);
  return out;
}

std::vector<std::string> requestUris(X509_REQ* req) {
  STACK_OF(X509_EXTENSION)* extensions = X509_REQ_get_extensions(req);
  std::vector<std::string> out;
  if (extensions == nullptr) return out;
  for (int i = 0; i < sk_X509_EXTENSION_num(extensions); ++i) {
    X509_EXTENSION* extension = sk_X509_EXTENSION_value(extensions, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(extension)) != NID_subject_alt_name) continue;
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(extension));
    for (std::string& uri : urisOf(names)) out.push_back(std::move(uri));
    GENERAL_NAMES_free(names);
  }
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  return out;
}

bool isCa(X509* cert) { return X509_check_ca(cert) >= 1; }

bool selfSigned(X509* cert) { return X509_check_issued(cert, cert) == X509_V_OK; }

}  // namespace remora::cp::ca::crypto
