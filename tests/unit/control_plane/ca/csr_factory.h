// Test-only: CSRs and certificate inspection with OpenSSL, for the CA tests
// (unit and integration). Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace remora::testing {

struct CsrSpec {
  std::vector<std::string> uris = {"spiffe://cluster.local/ns/default/sa/web"};
  std::string key_type = "P-256";  // "P-256", "P-384", "RSA-1024", "RSA-2048"
  bool corrupt_signature = false;
};

struct Csr {
  std::string pem;
  std::string key_pem;
};

Csr makeCsr(const CsrSpec& spec = {});

// An intermediate CA (CA:TRUE, P-256) signed by the given root.
struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};
KeyPair makeIntermediate(const std::string& root_cert_pem, const std::string& root_key_pem);

// What a test asserts about an issued leaf.
struct CertFacts {
  bool ca = true;
  bool basic_constraints_critical = false;
  bool key_usage_critical = false;
  bool digital_signature = false;
  bool key_cert_sign = false;
  bool server_auth = false;
  bool client_auth = false;
  std::vector<std::string> uris;
  std::vector<std::string> dns;
  int serial_bytes = 0;
  int64_t not_before = 0, not_after = 0;
  std::string subject;
  bool verifies_with_roots = false;  // against the roots passed
};

CertFacts inspect(const std::string& leaf_pem, const std::string& roots_pem = "");

}  // namespace remora::testing
