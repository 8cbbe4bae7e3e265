#include "proxy/tls/certificate_info.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "proxy/tls/openssl_util.h"

namespace remora::tls {

using base::Error;
using base::fail;

namespace {

std::string nameText(const X509_NAME* name) {
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string serialHex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return {};
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

}  // namespace

base::Result<CertificateInfo> inspectCertificate(std::string_view pem) {
  std::string error;
  std::vector<detail::X509Ptr> certs = detail::parseCertificates(pem, &error);
  if (certs.empty()) {
    return fail(Error::kInvalidArgument, error.empty() ? "no PEM certificate" : "malformed certificate: " + error);
  }
  X509* cert = certs.front().get();
  CertificateInfo info;
  detail::UriSans sans = detail::uriSans(cert);
  if (sans.uris.size() == 1 && detail::isSpiffeId(sans.uris.front())) info.spiffe_id = sans.uris.front();
  info.not_before = detail::toTimePoint(X509_get0_notBefore(cert));
  info.not_after = detail::toTimePoint(X509_get0_notAfter(cert));
  info.serial_hex = serialHex(cert);
  info.issuer = nameText(X509_get_issuer_name(cert));
  info.subject = nameText(X509_get_subject_name(cert));
  info.is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
  return info;
}

base::Result<std::vector<std::string>> splitPemCertificates(std::string_view pem) {
  std::string error;
  std::vector<detail::X509Ptr> certs = detail::parseCertificates(pem, &error);
  if (certs.empty()) {
    return fail(Error::kInvalidArgument, error.empty() ? "no PEM certificate" : "malformed certificate: " + error);
  }
  std::vector<std::string> out;
  for (auto& cert : certs) {
    detail::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) return fail(Error::kInternal, "PEM write failed");
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    out.emplace_back(data, static_cast<size_t>(size));
  }
  return out;
}

}  // namespace remora::tls
