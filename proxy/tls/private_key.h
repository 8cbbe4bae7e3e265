// PrivateKey and makeCsr: the proxy's workload key, made in memory, and the
// certificate signing request the identity client sends to the CA. The key
// never touches disk and never leaves the process; its PEM is handed only to
// TlsContext::create as ContextMaterial::private_key.
//
// Any thread; a PrivateKey is move-only and used by one owner at a time.
#pragma once

#include <string>
#include <string_view>

#include "xds/base/status.h"

struct evp_pkey_st;

namespace remora::tls {

class PrivateKey {
 public:
  // A fresh ECDSA P-256 key. kInternal if OpenSSL fails (no entropy).
  static base::Result<PrivateKey> generateP256();
  // Reads a PEM private key (PKCS#8 or traditional). kInvalidArgument when unparsable.
  static base::Result<PrivateKey> fromPem(std::string_view pem);

  PrivateKey(PrivateKey&& other) noexcept : key_(other.key_) { other.key_ = nullptr; }
  PrivateKey& operator=(PrivateKey&& other) noexcept;
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  ~PrivateKey();

  // Unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), for ContextMaterial.
  std::string pem() const;

  evp_pkey_st* native() const { return key_; }  // for this folder

 private:
  explicit PrivateKey(evp_pkey_st* key) : key_(key) {}
  evp_pkey_st* key_ = nullptr;
};

// A PEM PKCS#10 request signed by `key`, with an empty subject and exactly one
// URI SAN, `spiffe_id` (which must be a SPIFFE ID: kInvalidArgument otherwise).
base::Result<std::string> makeCsr(const PrivateKey& key, std::string_view spiffe_id);

}  // namespace remora::tls
