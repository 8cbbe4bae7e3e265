// OpenSSL helpers private to proxy/tls: owning pointers for OpenSSL objects,
// the error queue in words, PEM parsing from memory, and reading a
// certificate's SPIFFE ID. Nothing outside this folder includes it.
//
// Stateless; usable on any thread (OpenSSL's error queue is thread-local).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace remora::tls::detail {

struct SslCtxFree { void operator()(SSL_CTX* p) const { SSL_CTX_free(p); } };
struct SslFree { void operator()(SSL* p) const { SSL_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct EvpPkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

// Drains the thread's OpenSSL error queue into one line ("" when empty).
std::string takeErrors();

// Every certificate in `pem`, in order. Empty on a parse error (with
// `error` set) or when there is none.
std::vector<X509Ptr> parseCertificates(std::string_view pem, std::string* error);
EvpPkeyPtr parsePrivateKey(std::string_view pem);

// What a certificate's subjectAltName holds that SPIFFE cares about.
struct UriSans {
  std::vector<std::string> uris;
};
UriSans uriSans(X509* cert);

// True for spiffe://<trust-domain>/<path>: a lower-case trust domain of
// [a-z0-9.-_], a non-empty path of non-empty segments of [A-Za-z0-9.-_] that
// are not "." or "..", no query, fragment, port or user info.
bool isSpiffeId(std::string_view uri);

std::chrono::system_clock::time_point toTimePoint(const ASN1_TIME* time);

}  // namespace remora::tls::detail
