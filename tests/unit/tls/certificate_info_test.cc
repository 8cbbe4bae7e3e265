#include "proxy/tls/certificate_info.h"

#include <catch2/catch.hpp>

#include "tests/support/pki/test_pki.h"

using namespace remora;
using namespace remora::tls;
namespace pki = remora::testing::pki;

TEST_CASE("inspectCertificate reads the SPIFFE ID, validity, serial and issuer", "[tls][certs]") {
  pki::Authority root = pki::makeRoot("inspect root");
  pki::LeafSpec spec;
  spec.uri_sans = {"spiffe://cluster.local/ns/a/sa/b"};
  spec.not_before = std::chrono::hours(-2);
  spec.not_after = std::chrono::hours(5);
  auto before = std::chrono::system_clock::now();
  pki::Leaf leaf = pki::issue(root, spec);
  auto info = inspectCertificate(leaf.certificate_chain_pem);
  REQUIRE(info);
  CHECK(info->spiffe_id == "spiffe://cluster.local/ns/a/sa/b");
  CHECK_FALSE(info->is_ca);
  CHECK(info->issuer.find("CN=inspect root") != std::string::npos);
  CHECK_FALSE(info->serial_hex.empty());
  auto hours = [](auto d) { return std::chrono::duration_cast<std::chrono::minutes>(d).count(); };
  CHECK(std::abs(hours(info->not_after - before) - 5 * 60) <= 1);
  CHECK(std::abs(hours(before - info->not_before) - 2 * 60) <= 1);

  auto ca = inspectCertificate(root.certificate_pem);
  REQUIRE(ca);
  CHECK(ca->is_ca);
  CHECK(ca->spiffe_id.empty());
  CHECK_FALSE(inspectCertificate("garbage"));
}

TEST_CASE("a trust bundle splits into its certificates and a bad one is refused", "[tls][certs]") {
  pki::Authority a = pki::makeRoot("a");
  pki::Authority b = pki::makeRoot("b");
  auto split = splitPemCertificates(a.certificate_pem + "\n" + b.certificate_pem);
  REQUIRE(split);
  REQUIRE(split->size() == 2);
  CHECK((*split)[0] == a.certificate_pem);
  CHECK((*split)[1] == b.certificate_pem);
  CHECK_FALSE(splitPemCertificates(""));
  // A certificate with a chunk of its body missing.
  std::string broken = b.certificate_pem.substr(0, 100) + b.certificate_pem.substr(180);
  CHECK_FALSE(splitPemCertificates(a.certificate_pem + broken));
}
