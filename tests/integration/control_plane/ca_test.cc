// The mesh CA end to end: the real remora-cp in secure mode (TLS on the gRPC
// port), a gRPC C++ client asking for certificates with join tokens and with
// its certificate, ADS refused without a certificate or with another
// identity's, and CA rotation seen in /api/v1/ca and the bundle file.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "remora/ca/v1/ca.grpc.pb.h"
#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/unit/control_plane/ca/csr_factory.h"

namespace remora {
namespace {

using harness::ControlPlaneProcess;
using Json = nlohmann::json;
using remora::ca::v1::CertificateService;
using remora::ca::v1::CreateCertificateRequest;
using remora::ca::v1::CreateCertificateResponse;
using testing::CsrSpec;
using testing::makeCsr;

const std::string kWeb = "spiffe://cluster.local/ns/default/sa/web";
const std::string kDb = "spiffe://cluster.local/ns/default/sa/db";

std::unique_ptr<ControlPlaneProcess> startSecure() {
  harness::ControlPlaneOptions options;
  options.insecure = false;
  auto cp = ControlPlaneProcess::start(options);
  if (!cp) FAIL("remora-cp did not start: " << cp.error().message);
  return std::move(*cp);
}

Json api(ControlPlaneProcess& cp, const std::string& method, const std::string& path, const std::string& body = "",
         int expected = 200) {
  auto response = cp.api(method, path, body);
  if (!response) FAIL(method << " " << path << ": " << response.error().message);
  INFO(method << " " << path << " -> " << response->body);
  REQUIRE(response->status == expected);
  return Json::parse(response->body, nullptr, false);
}

std::string createToken(ControlPlaneProcess& cp, const std::string& account, const std::string& ttl = "1h") {
  Json created = api(cp, "POST", "/api/v1/tokens",
                     R"({"namespace":"default","serviceAccount":")" + account + R"(","ttl":")" + ttl + "\"}", 201);
  return created["token"].get<std::string>();
}

std::string readFile(const std::string& path) {
  auto text = harness::readFile(path);
  REQUIRE(text);
  return *text;
}

// A TLS channel that verifies remora-cp against the bundle, optionally with a client certificate.
std::shared_ptr<grpc::Channel> channel(ControlPlaneProcess& cp, const std::string& key_pem = "",
                                       const std::string& chain_pem = "") {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = readFile(cp.trustBundlePath());
  tls.pem_private_key = key_pem;
  tls.pem_cert_chain = chain_pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  args.SetInt("grpc.use_local_subchannel_pool", 1);  // no connection shared between channels
  return grpc::CreateCustomChannel(cp.xdsAddress(), grpc::SslCredentials(tls), args);
}

grpc::Status requestCertificate(const std::shared_ptr<grpc::Channel>& ch, const std::string& token,
                                const std::string& csr_pem, CreateCertificateResponse& response,
                                int64_t validity = 0) {
  auto stub = CertificateService::NewStub(ch);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  CreateCertificateRequest request;
  request.set_csr_pem(csr_pem);
  request.set_validity_seconds(validity);
  return stub->CreateCertificate(&context, request, &response);
}

std::string metrics(ControlPlaneProcess& cp) {
  auto response = cp.api("GET", "/metrics");
  REQUIRE(response);
  return response->body;
}

// Opens an ADS stream as `namespace_`/`account` and returns how it ended:
// OK once the first response arrived, else the stream's status.
grpc::Status adsStream(const std::shared_ptr<grpc::Channel>& ch, const std::string& namespace_,
                       const std::string& account) {
  auto stub = envoy::service::discovery::v3::AggregatedDiscoveryService::NewStub(ch);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub->StreamAggregatedResources(&context);
  envoy::service::discovery::v3::DiscoveryRequest request;
  request.mutable_node()->set_id("node-" + account);
  auto& fields = *request.mutable_node()->mutable_metadata()->mutable_fields();
  fields["REMORA_NAMESPACE"].set_string_value(namespace_);
  fields["REMORA_SERVICE_ACCOUNT"].set_string_value(account);
  request.set_type_url("type.googleapis.com/envoy.config.cluster.v3.Cluster");
  stream->Write(request);
  envoy::service::discovery::v3::DiscoveryResponse response;
  if (stream->Read(&response)) {
    context.TryCancel();
    return grpc::Status::OK;
  }
  return stream->Finish();
}

TEST_CASE("join tokens get certificates only for their own identity, and only while valid", "[ca][integration]") {
  auto cp = startSecure();
  const std::string web_token = createToken(*cp, "web");
  auto ch = channel(*cp);
  CreateCertificateResponse response;

  SECTION("a token for web gets web an SVID with exactly the SPIFFE profile") {
    auto csr = makeCsr(CsrSpec{.uris = {kWeb}});
    grpc::Status status = requestCertificate(ch, web_token, csr.pem, response, 600);
    INFO(status.error_message() << "\n" << cp->logs());
    REQUIRE(status.ok());
    REQUIRE(response.certificate_chain_size() == 1);
    REQUIRE(response.trust_bundle_size() == 1);
    CHECK(response.trust_bundle(0) == readFile(cp->trustBundlePath()));
    auto leaf = testing::inspect(response.certificate_chain(0), response.trust_bundle(0));
    CHECK(leaf.verifies_with_roots);
    CHECK_FALSE(leaf.ca);
    CHECK(leaf.basic_constraints_critical);
    CHECK(leaf.key_usage_critical);
    CHECK(leaf.digital_signature);
    CHECK(leaf.server_auth);
    CHECK(leaf.client_auth);
    CHECK(leaf.uris == std::vector<std::string>{kWeb});
    CHECK(leaf.serial_bytes == 16);
    CHECK(leaf.not_after - leaf.not_before == 660);
    CHECK_THAT(metrics(*cp), Catch::Contains("remora_cp_certificates_issued_total 1"));
    Json identities = api(*cp, "GET", "/api/v1/identities");
    REQUIRE(identities["items"].size() == 1);
    CHECK(identities["items"][0]["identity"] == kWeb);
  }
  SECTION("a token for web cannot get a certificate for db") {
    grpc::Status status = requestCertificate(ch, web_token, makeCsr(CsrSpec{.uris = {kDb}}).pem, response);
    CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK_THAT(status.error_message(), Catch::Contains(kDb));
    CHECK(response.certificate_chain_size() == 0);
    CHECK_THAT(metrics(*cp),
               Catch::Contains("remora_cp_certificate_requests_refused_total{reason=\"identity_mismatch\"} 1"));
  }
  SECTION("unknown, expired and missing tokens are UNAUTHENTICATED") {
    const std::string csr = makeCsr(CsrSpec{.uris = {kWeb}}).pem;
    std::string unknown = web_token;
    unknown[8] = unknown[8] == 'x' ? 'y' : 'x';
    CHECK(requestCertificate(ch, unknown, csr, response).error_code() == grpc::StatusCode::UNAUTHENTICATED);
    const std::string short_token = createToken(*cp, "web", "1s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    grpc::Status expired = requestCertificate(ch, short_token, csr, response);
    CHECK(expired.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK_THAT(expired.error_message(), Catch::Contains("expired"));
    CHECK(requestCertificate(ch, "", csr, response).error_code() == grpc::StatusCode::UNAUTHENTICATED);
    const std::string text = metrics(*cp);
    CHECK_THAT(text, Catch::Contains("reason=\"unknown_token\"} 1"));
    CHECK_THAT(text, Catch::Contains("reason=\"expired_token\"} 1"));
    CHECK_THAT(text, Catch::Contains("reason=\"no_credentials\"} 1"));
  }
  SECTION("a malformed CSR is INVALID_ARGUMENT") {
    CHECK(requestCertificate(ch, web_token, "garbage", response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    auto two_sans = makeCsr(CsrSpec{.uris = {kWeb, kDb}}).pem;
    CHECK(requestCertificate(ch, web_token, two_sans, response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("a deleted token is unknown") {
    Json tokens = api(*cp, "GET", "/api/v1/tokens");
    REQUIRE(tokens["items"].size() == 1);
    CHECK(tokens["items"][0].count("token") == 0);  // never the secret
    api(*cp, "DELETE", "/api/v1/tokens/" + tokens["items"][0]["id"].get<std::string>());
    CHECK(requestCertificate(ch, web_token, makeCsr(CsrSpec{.uris = {kWeb}}).pem, response).error_code() ==
          grpc::StatusCode::UNAUTHENTICATED);
  }
}

TEST_CASE("a workload rotates its certificate with its certificate, and ADS needs one that matches its node",
          "[ca][integration]") {
  auto cp = startSecure();
  auto csr = makeCsr(CsrSpec{.uris = {kWeb}});
  CreateCertificateResponse first;
  REQUIRE(requestCertificate(channel(*cp), createToken(*cp, "web"), csr.pem, first).ok());
  auto mtls = channel(*cp, csr.key_pem, first.certificate_chain(0));

  CreateCertificateResponse renewed;
  auto next = makeCsr(CsrSpec{.uris = {kWeb}});
  grpc::Status status = requestCertificate(mtls, "", next.pem, renewed);
  INFO(status.error_message() << "\n" << cp->logs());
  CHECK(status.ok());
  CHECK(renewed.certificate_chain_size() == 1);
  CreateCertificateResponse other;
  CHECK(requestCertificate(mtls, "", makeCsr(CsrSpec{.uris = {kDb}}).pem, other).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);

  grpc::Status no_cert = adsStream(channel(*cp), "default", "web");
  CHECK(no_cert.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(no_cert.error_message(), Catch::Contains("join token"));
  grpc::Status wrong = adsStream(mtls, "default", "db");
  CHECK(wrong.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(wrong.error_message(), Catch::Contains(kWeb));
  grpc::Status right = adsStream(mtls, "default", "web");
  INFO(right.error_message());
  CHECK(right.ok());
}

TEST_CASE("CA rotation phases change /api/v1/ca and the bundle file, and survive a restart", "[ca][integration]") {
  auto cp = startSecure();
  Json before = api(*cp, "GET", "/api/v1/ca");
  REQUIRE(before["roots"].size() == 1);
  const std::string old_root = before["roots"][0]["pem"];
  CHECK(readFile(cp->trustBundlePath()) == old_root);
  api(*cp, "POST", "/api/v1/ca/rotate", R"({"phase":"activate"})", 409);

  Json prepared = api(*cp, "POST", "/api/v1/ca/rotate", R"({"phase":"prepare"})");
  CHECK(prepared["rotationPhase"] == "prepared");
  REQUIRE(prepared["roots"].size() == 2);
  CHECK(prepared["roots"][0]["activeSigner"] == true);
  const std::string new_root = prepared["roots"][1]["pem"];
  CHECK(readFile(cp->trustBundlePath()) == old_root + new_root);

  Json activated = api(*cp, "POST", "/api/v1/ca/rotate", R"({"phase":"activate"})");
  CHECK(activated["roots"][1]["activeSigner"] == true);
  // Certificates now chain to the new root, the serving one too (gRPC's
  // watcher re-reads it within a second).
  CreateCertificateResponse issued;
  REQUIRE(requestCertificate(channel(*cp), createToken(*cp, "web"), makeCsr(CsrSpec{.uris = {kWeb}}).pem, issued)
              .ok());
  CHECK(testing::inspect(issued.certificate_chain(0), new_root).verifies_with_roots);
  CHECK_FALSE(testing::inspect(issued.certificate_chain(0), old_root).verifies_with_roots);

  REQUIRE(cp->stop());
  REQUIRE(cp->restart());
  CHECK(api(*cp, "GET", "/api/v1/ca")["rotationPhase"] == "activated");
  Json finished = api(*cp, "POST", "/api/v1/ca/rotate", R"({"phase":"finish"})");
  REQUIRE(finished["roots"].size() == 1);
  CHECK(finished["roots"][0]["pem"] == new_root);
  CHECK(readFile(cp->trustBundlePath()) == new_root);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  // A client trusting only the new root still reaches the gRPC port.
  CreateCertificateResponse after;
  CHECK(requestCertificate(channel(*cp), createToken(*cp, "web"), makeCsr(CsrSpec{.uris = {kWeb}}).pem, after).ok());
}

TEST_CASE("with --insecure the identity endpoints say there is no CA", "[ca][integration]") {
  auto cp = ControlPlaneProcess::start();
  REQUIRE(cp);
  auto response = (*cp)->api("GET", "/api/v1/ca");
  REQUIRE(response);
  CHECK(response->status == 404);
  CHECK_THAT(response->body, Catch::Contains("--insecure"));
}

}  // namespace
}  // namespace remora
