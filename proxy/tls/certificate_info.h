// Reading certificates without a TLS handshake: what the identity client,
// the admin page and the expiry metric need to know about a PEM certificate,
// and splitting a trust bundle into its certificates.
//
// Stateless; any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "xds/base/status.h"

namespace remora::tls {

struct CertificateInfo {
  std::string spiffe_id;  // the single URI SAN when it is a SPIFFE ID, else ""
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  std::string serial_hex;  // upper-case hex, no separators
  std::string issuer;      // one-line RFC 2253 form ("CN=remora root,O=cluster.local")
  std::string subject;     // same form; often empty for SVIDs
  bool is_ca = false;
};

// The first certificate in `pem`. kInvalidArgument when there is none or it is malformed.
base::Result<CertificateInfo> inspectCertificate(std::string_view pem);

// Each certificate of `pem` as its own PEM block, in order; every one must
// parse. kInvalidArgument when one does not, or when there is none.
base::Result<std::vector<std::string>> splitPemCertificates(std::string_view pem);

}  // namespace remora::tls
