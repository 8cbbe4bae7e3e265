// The X.509 the CA makes: self-signed mesh roots, X.509-SVIDs for workloads
// (the profile in docs/security.md: CA:FALSE critical, keyUsage
// digitalSignature (+keyEncipherment for RSA) critical, EKU serverAuth +
// clientAuth, one URI SAN, random 128-bit serial, notBefore backdated 60 s),
// and the checks a CSR must pass first. Internal to control-plane/ca
// (OpenSSL types); CertificateAuthority calls it under its lock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control-plane/ca/crypto.h"
#include "control-plane/ca/spiffe_id.h"

namespace remora::cp::ca {

// The request's signature verifies, it carries exactly one URI SAN that is
// a SPIFFE ID of `trust_domain`, and its key is P-256 or RSA >= 2048 bits.
// kInvalidArgument naming the first problem.
base::Result<SpiffeId> checkCsr(X509_REQ* request, std::string_view trust_domain);

// A self-signed CA root: CA:TRUE pathlen:1 and keyCertSign|cRLSign, both
// critical; subject O=<trust_domain>, CN=Remora mesh root <serial prefix>.
base::Result<crypto::CertPtr> makeRoot(EVP_PKEY* key, std::string_view trust_domain, int64_t now_unix,
                                       int64_t lifetime_seconds);

struct LeafSpec {
  std::vector<std::string> uris;  // exactly one for an SVID
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::string organization;  // subject O=, may be empty
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;
};

// A leaf for `public_key` signed by `issuer_key` as `issuer`.
base::Result<crypto::CertPtr> issueLeaf(EVP_PKEY* public_key, X509* issuer, EVP_PKEY* issuer_key,
                                        const LeafSpec& spec);

}  // namespace remora::cp::ca
