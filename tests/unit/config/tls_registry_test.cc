#include "proxy/config/tls_registry.h"

#include <catch2/catch.hpp>

#include "tests/support/pki/test_pki.h"

using remora::config::TlsRegistry;
namespace pki = remora::testing::pki;
namespace res = remora::xds::resources;

namespace {

res::UpstreamTls meshUpstream(std::vector<std::string> sans) {
  res::UpstreamTls tls;
  tls.certificate.sds_name = "default";
  tls.validation = res::CertificateValidation{};
  tls.validation->sds_name = "ROOTCA";
  tls.validation->uri_san_exact = std::move(sans);
  return tls;
}

}  // namespace

TEST_CASE("equal TLS configs share one context slot, and settings differ only by their peer checks",
          "[config][tls]") {
  TlsRegistry registry;
  auto a = registry.forUpstream(meshUpstream({"spiffe://td/ns/x/sa/a"}));
  auto a2 = registry.forUpstream(meshUpstream({"spiffe://td/ns/x/sa/a"}));
  auto b = registry.forUpstream(meshUpstream({"spiffe://td/ns/x/sa/b"}));
  REQUIRE(a);
  REQUIRE(a2);
  REQUIRE(b);
  CHECK(a->get() == a2->get());
  CHECK((*a)->slot == (*b)->slot);
  CHECK((*a)->validation.exact != (*b)->validation.exact);
  // Nothing to build from yet: both secrets are missing and named.
  CHECK((*a)->slot->current() == nullptr);
  CHECK_THAT((*a)->waiting_for, Catch::Contains("'default'") && Catch::Contains("'ROOTCA'"));
  CHECK(registry.sdsNames() == std::set<std::string>{"ROOTCA"});
  CHECK(registry.needsWorkloadIdentity());
}

TEST_CASE("a secret change rebuilds the contexts that use it, and a bad one changes nothing", "[config][tls]") {
  TlsRegistry registry;
  const auto root = pki::makeRoot("mesh");
  auto settings = registry.forUpstream(meshUpstream({}));
  REQUIRE(settings);
  const auto first = pki::issue(root, "spiffe://td/ns/x/sa/me");
  REQUIRE(registry.setSecret("ROOTCA", {"", "", root.certificate_pem}));
  CHECK((*settings)->slot->current() == nullptr);  // still no certificate
  REQUIRE(registry.setSecret("default", {first.certificate_chain_pem, first.private_key_pem, ""}));
  auto before = (*settings)->slot->current();
  REQUIRE(before != nullptr);
  CHECK(registry.waitingFor().empty());

  const auto second = pki::issue(root, "spiffe://td/ns/x/sa/me");
  REQUIRE(registry.setSecret("default", {second.certificate_chain_pem, second.private_key_pem, ""}));
  auto after = (*settings)->slot->current();
  REQUIRE(after != nullptr);
  CHECK(after != before);  // new connections present the new certificate

  // A key that is not the certificate's: refused, naming the secret.
  auto s = registry.setSecret("default", {first.certificate_chain_pem, second.private_key_pem, ""});
  REQUIRE_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("secret 'default'"));
  CHECK((*settings)->slot->current() == after);
  CHECK(registry.expiries().count("default") == 1);
  CHECK(registry.expiries().count("ROOTCA") == 1);
}

TEST_CASE("a validation context trusts its own roots and the SDS bundle together", "[config][tls]") {
  TlsRegistry registry;
  const auto root = pki::makeRoot("bootstrap root");
  res::UpstreamTls tls;
  tls.validation = res::CertificateValidation{};
  tls.validation->trusted_ca = root.certificate_pem;
  tls.validation->sds_name = "ROOTCA";
  auto settings = registry.forUpstream(tls);
  REQUIRE(settings);
  // The configured roots are enough to start (the control plane itself is
  // verified before ROOTCA can arrive).
  CHECK((*settings)->slot->current() != nullptr);
  const auto next = pki::makeRoot("rotated root");
  REQUIRE(registry.setSecret("ROOTCA", {"", "", next.certificate_pem}));
  CHECK((*settings)->slot->current() != nullptr);
}

TEST_CASE("certificate files that cannot be read are named in the error", "[config][tls]") {
  TlsRegistry registry;
  res::DownstreamTls tls;
  tls.certificate.certificate_chain_file = "/nonexistent/cert.pem";
  tls.certificate.private_key_file = "/nonexistent/key.pem";
  auto s = registry.forDownstream(tls);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.error().message, Catch::Contains("/nonexistent/cert.pem"));
}
