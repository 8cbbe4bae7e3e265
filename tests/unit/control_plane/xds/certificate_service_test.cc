#include "control-plane/xds/certificate_service.h"

#include <catch2/catch.hpp>

#include "control-plane/store/sqlite/sqlite_store.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/unit/control_plane/ca/csr_factory.h"

namespace remora::cp::xds {
namespace {

using remora::ca::v1::CreateCertificateRequest;
using remora::ca::v1::CreateCertificateResponse;
using testing::CsrSpec;
using testing::makeCsr;

const std::string kWeb = "spiffe://cluster.local/ns/default/sa/web";
const std::string kDb = "spiffe://cluster.local/ns/default/sa/db";

struct Fixture {
  harness::TempDir dir{"cert-service-test"};
  std::unique_ptr<store::Store> store = store::openSqliteStore(dir.file("remora.db")).value();
  std::unique_ptr<ca::CertificateAuthority> authority =
      ca::CertificateAuthority::open(ca::CaOptions{.state_dir = dir.file("ca")}).value();
  ca::TokenStore tokens{*store};
  ca::IssuedCertificates issued{*store};
  CertificateService service{*authority, tokens, issued};

  grpc::Status ask(const CallerCredentials& caller, const std::string& csr_pem, CreateCertificateResponse& out) {
    CreateCertificateRequest request;
    request.set_csr_pem(csr_pem);
    return service.handle(caller, request, out);
  }
  std::string token(const std::string& account) { return tokens.create("default", account, std::chrono::hours(1))->token; }
};

TEST_CASE("a valid join token gets a certificate for its identity, recorded for remoractl identity", "[xds]") {
  Fixture f;
  CreateCertificateResponse out;
  grpc::Status status = f.ask({f.token("web"), {}}, makeCsr(CsrSpec{.uris = {kWeb}}).pem, out);
  REQUIRE(status.ok());
  CHECK(out.certificate_chain_size() == 1);
  CHECK(out.trust_bundle_size() == 1);
  CHECK(f.service.issuedCount() == 1);
  auto records = f.issued.list();
  REQUIRE(records);
  REQUIRE(records->size() == 1);
  CHECK((*records)[0].identity == kWeb);
}

TEST_CASE("a token for one identity cannot get another's certificate", "[xds]") {
  Fixture f;
  CreateCertificateResponse out;
  grpc::Status status = f.ask({f.token("web"), {}}, makeCsr(CsrSpec{.uris = {kDb}}).pem, out);
  CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(out.certificate_chain_size() == 0);
  CHECK(f.service.refusedCount("identity_mismatch") == 1);
  CHECK(f.service.issuedCount() == 0);
}

TEST_CASE("the client certificate's SPIFFE ID authorises a renewal for that identity only", "[xds]") {
  Fixture f;
  CreateCertificateResponse out;
  PeerCertificate peer{true, kWeb, "ipv4:127.0.0.1:1"};
  CHECK(f.ask({"", peer}, makeCsr(CsrSpec{.uris = {kWeb}}).pem, out).ok());
  CHECK(f.ask({"", peer}, makeCsr(CsrSpec{.uris = {kDb}}).pem, out).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  PeerCertificate foreign{true, "spiffe://other.org/ns/default/sa/web", ""};
  CHECK(f.ask({"", foreign}, makeCsr(CsrSpec{.uris = {kWeb}}).pem, out).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  CHECK(f.service.refusedCount("bad_client_certificate") == 1);
}

TEST_CASE("requests without credentials or with bad tokens are UNAUTHENTICATED, by reason", "[xds]") {
  Fixture f;
  CreateCertificateResponse out;
  const std::string csr = makeCsr(CsrSpec{.uris = {kWeb}}).pem;
  CHECK(f.ask({"", {}}, csr, out).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(f.ask({"not-a-token", {}}, csr, out).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(f.ask({"rmt_" + std::string(43, 'A'), {}}, csr, out).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(f.service.refusedCount("no_credentials") == 1);
  CHECK(f.service.refusedCount("malformed_token") == 1);
  CHECK(f.service.refusedCount("unknown_token") == 1);
  std::string text;
  f.service.appendMetrics(text);
  CHECK_THAT(text, Catch::Contains("remora_cp_certificate_requests_refused_total{reason=\"unknown_token\"} 1"));
}

TEST_CASE("a malformed CSR is INVALID_ARGUMENT even with a valid token", "[xds]") {
  Fixture f;
  CreateCertificateResponse out;
  CHECK(f.ask({f.token("web"), {}}, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", out).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(f.service.refusedCount("bad_csr") == 1);
}

}  // namespace
}  // namespace remora::cp::xds
