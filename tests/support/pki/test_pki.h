// A small certificate factory for tests: roots, intermediates and leaf
// certificates (SPIFFE SVIDs, or deliberately broken ones: expired, not yet
// valid, CA:TRUE, several URI SANs), as PEM strings. Used by the TLS unit
// tests and the integration tests; never by product code.
//
// Keys are ECDSA P-256 (fast to make). Any thread; every call is independent.
// No OpenSSL types here: the header is plain std.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace remora::testing::pki {

struct Authority {
  std::string name;             // the CN
  std::string certificate_pem;  // this CA's own certificate
  std::string private_key_pem;
  // The intermediates a leaf issued by this CA sends after itself: this CA's
  // certificate and its parents' up to, not including, the root ("" for a root).
  std::string chain_pem;
};

struct LeafSpec {
  std::vector<std::string> uri_sans;  // SPIFFE IDs (or anything, for broken certificates)
  std::vector<std::string> dns_sans;
  std::vector<std::string> ip_sans;
  bool is_ca = false;  // true: basicConstraints CA:TRUE (a broken leaf)
  // Validity relative to now: the default is an SVID's (backdated a minute, 24 h).
  std::chrono::seconds not_before = std::chrono::seconds(-60);
  std::chrono::seconds not_after = std::chrono::hours(24);
  bool client_auth = true;  // extendedKeyUsage clientAuth
  bool server_auth = true;  // extendedKeyUsage serverAuth
  std::string common_name;  // optional subject CN
};

struct Leaf {
  std::string certificate_chain_pem;  // the leaf, then its issuer's chain_pem
  std::string private_key_pem;        // PKCS#8
};

// A self-signed root CA valid from an hour ago for ten years.
Authority makeRoot(std::string_view name);
// A CA signed by `parent`.
Authority makeIntermediate(const Authority& parent, std::string_view name = "remora test intermediate");
Leaf issue(const Authority& issuer, const LeafSpec& spec);
// A leaf with one URI SAN and the defaults.
Leaf issue(const Authority& issuer, std::string_view spiffe_id);

// Writes `text` to dir/name (mode 0600) and returns the path. Aborts the test
// binary on failure (test-only convenience).
std::string writeFile(const std::string& dir, const std::string& name, std::string_view text);

}  // namespace remora::testing::pki
