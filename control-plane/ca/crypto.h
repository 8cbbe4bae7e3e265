// OpenSSL in small pieces for the CA: owning pointers, PEM in and out, P-256
// keys, random bytes, SHA-256, base64url and the X.509 fields the CA reads.
// Internal to control-plane/ca (only its .cc files include it), so OpenSSL's
// types do not leak into the rest of the control plane.
//
// Pure functions; any thread (OpenSSL 3 is thread-safe for these).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xds/base/status.h"

namespace remora::cp::ca::crypto {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct ReqFree {
  void operator()(X509_REQ* req) const { X509_REQ_free(req); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;
using ReqPtr = std::unique_ptr<X509_REQ, ReqFree>;

// A fresh P-256 key.
base::Result<KeyPtr> generateP256Key();

base::Result<KeyPtr> parsePrivateKey(std::string_view pem);
base::Result<std::string> privateKeyPem(EVP_PKEY* key);  // PKCS#8
// Every certificate in `pem`, in order; fails when there is none.
base::Result<std::vector<CertPtr>> parseCertificates(std::string_view pem);
std::string certificatePem(X509* cert);
base::Result<ReqPtr> parseRequest(std::string_view pem);
std::string requestPem(X509_REQ* req);

std::string randomBytes(size_t count);
std::string sha256(std::string_view data);  // 32 raw bytes
std::string hex(std::string_view bytes, char separator = 0);
std::string base64Url(std::string_view bytes);  // unpadded

// SHA-256 of the DER, "AB:CD:..." as openssl x509 -fingerprint prints it.
std::string fingerprint(X509* cert);
// "O=cluster.local, CN=..." (RFC 2253 order as OpenSSL prints it one-line).
std::string subjectText(X509* cert);
int64_t notAfterUnix(X509* cert);
int64_t notBeforeUnix(X509* cert);
std::string serialHex(X509* cert);
// The URI SANs of a certificate or of a request's extensions.
std::vector<std::string> certificateUris(X509* cert);
std::vector<std::string> requestUris(X509_REQ* req);
bool isCa(X509* cert);
bool selfSigned(X509* cert);

// OpenSSL's error queue as text (and cleared), for messages.
std::string lastError();

}  // namespace remora::cp::ca::crypto
