#include "control-plane/ca/svid_issuer.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace remora::cp::ca {

namespace {

using base::Error;
using base::fail;

// A random positive 128-bit serial (RFC 5280 allows up to 20 octets).
bool setRandomSerial(X509* cert) {
  std::string bytes = crypto::randomBytes(16);
  bytes[0] = static_cast<char>(static_cast<unsigned char>(bytes[0]) & 0x7F);
  if (bytes[0] == 0) bytes[0] = 1;  // keep all 16 octets meaningful
  BIGNUM* number = BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), 16, nullptr);
  if (number == nullptr) return false;
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(number, nullptr);
  BN_free(number);
  if (serial == nullptr) return false;
  const bool ok = X509_set_serialNumber(cert, serial) == 1;
  ASN1_INTEGER_free(serial);
  return ok;
}

bool addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) return false;
  const bool ok = X509_add_ext(cert, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return ok;
}

bool setTimes(X509* cert, int64_t not_before, int64_t not_after) {
  return ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(not_before)) != nullptr &&
         ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(not_after)) != nullptr;
}

bool setName(X509_NAME* name, const char* field, const std::string& value) {
  return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                    -1, -1, 0) == 1;
}

}  // namespace

base::Result<SpiffeId> checkCsr(X509_REQ* request, std::string_view trust_domain) {
  EVP_PKEY* key = X509_REQ_get0_pubkey(request);
  if (key == nullptr) return fail(Error::kInvalidArgument, "CSR has no readable public key");
  if (X509_REQ_verify(request, key) != 1) {
    ERR_clear_error();
    return fail(Error::kInvalidArgument, "CSR signature does not verify");
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {0};
    size_t length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &length) != 1 ||
        (std::string_view(group) != "prime256v1" && std::string_view(group) != "P-256")) {
      return fail(Error::kInvalidArgument, "CSR key: EC keys must be P-256");
    }
  } else if (EVP_PKEY_is_a(key, "RSA")) {
    if (EVP_PKEY_get_bits(key) < 2048) return fail(Error::kInvalidArgument, "CSR key: RSA keys need >= 2048 bits");
  } else {
    return fail(Error::kInvalidArgument, "CSR key: must be P-256 or RSA >= 2048");
  }
  const std::vector<std::string> uris = crypto::requestUris(request);
  if (uris.size() != 1) {
    return fail(Error::kInvalidArgument,
                "CSR must carry exactly one URI SAN (the SPIFFE ID); it has " + std::to_string(uris.size()));
  }
  auto id = parseSpiffeId(uris[0]);
  if (!id) return fail(Error::kInvalidArgument, "CSR URI SAN: " + id.error().message);
  if (id->trust_domain != trust_domain) {
    return fail(Error::kInvalidArgument, "CSR URI SAN " + uris[0] + " is not in trust domain " +
                                             std::string(trust_domain));
  }
  return id;
}

base::Result<crypto::CertPtr> makeRoot(EVP_PKEY* key, std::string_view trust_domain, int64_t now_unix,
                                       int64_t lifetime_seconds) {
  crypto::CertPtr cert(X509_new());
  bool ok = X509_set_version(cert.get(), 2) == 1 && setRandomSerial(cert.get()) &&
            setTimes(cert.get(), now_unix - 60, now_unix + lifetime_seconds);
  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string serial = crypto::serialHex(cert.get()).substr(0, 8);
  ok = ok && setName(name, "O", std::string(trust_domain)) && setName(name, "CN", "Remora mesh root " + serial) &&
       X509_set_issuer_name(cert.get(), name) == 1 && X509_set_pubkey(cert.get(), key) == 1 &&
       addExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:1") &&
       addExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") &&
       addExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash") &&
       X509_sign(cert.get(), key, EVP_sha256()) > 0;
  if (!ok) return fail(Error::kInternal, "cannot make the root certificate: " + crypto::lastError());
  return cert;
}

base::Result<crypto::CertPtr> issueLeaf(EVP_PKEY* public_key, X509* issuer, EVP_PKEY* issuer_key,
                                        const LeafSpec& spec) {
  crypto::CertPtr cert(X509_new());
  bool ok = X509_set_version(cert.get(), 2) == 1 && setRandomSerial(cert.get()) &&
            setTimes(cert.get(), spec.not_before_unix, spec.not_after_unix) &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) == 1 &&
            X509_set_pubkey(cert.get(), public_key) == 1;
  if (ok && !spec.organization.empty()) ok = setName(X509_get_subject_name(cert.get()), "O", spec.organization);
  std::string san;
  for (const std::string& uri : spec.uris) san += (san.empty() ? "URI:" : ",URI:") + uri;
  for (const std::string& dns : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
  for (const std::string& ip : spec.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  // A subject that is empty makes the SAN the only name, so it must be critical (RFC 5280 4.2.1.6).
  const bool empty_subject = spec.organization.empty();
  const std::string usage = EVP_PKEY_is_a(public_key, "RSA") ? "critical,digitalSignature,keyEncipherment"
                                                              : "critical,digitalSignature";
  ok = ok && addExtension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE") &&
       addExtension(cert.get(), issuer, NID_key_usage, usage) &&
       addExtension(cert.get(), issuer, NID_ext_key_usage, "serverAuth,clientAuth") &&
       addExtension(cert.get(), issuer, NID_subject_alt_name, (empty_subject ? "critical," : "") + san) &&
       // An operator CA without a subject key id gets leaves without an AKID.
       (X509_get0_subject_key_id(issuer) == nullptr ||
        addExtension(cert.get(), issuer, NID_authority_key_identifier, "keyid")) &&
       X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0;
  if (!ok) return fail(Error::kInternal, "cannot issue the certificate: " + crypto::lastError());
  return cert;
}

}  // namespace remora::cp::ca
