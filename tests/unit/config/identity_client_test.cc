// IdentityClient on a real loop against FakeGrpcServer CAs (plain HTTP/2 on
// loopback, no TLS: the settings are null), one per control-plane replica:
// which replica each certificate request goes to, and when.
#include "proxy/config/identity_client.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "remora/ca/v1/ca.pb.h"
#include "tests/support/pki/test_pki.h"
#include "tests/unit/grpc/fake_grpc_server.h"
#include "tests/unit/upstream/strict_loop_fixture.h"

namespace remora::config {
namespace {

using namespace std::chrono_literals;
using testing::FakeGrpcServer;
using Fixture = remora::testing::StrictLoopFixture;
namespace pki = remora::testing::pki;

constexpr std::string_view kSpiffeId = "spiffe://cluster.local/ns/default/sa/web";

// One replica's CA: answers every request with a certificate for kSpiffeId
// (valid `lifetime`), or refuses with `refuse_status` when it is set. The
// key does not match the CSR: nothing here builds a TLS context from it.
struct FakeCa {
  FakeCa(net::Dispatcher& dispatcher, const pki::Authority& root, FakeGrpcServer::Mode mode = FakeGrpcServer::Mode::kHttp2)
      : server(dispatcher, mode) {
    server.on_end = [this, &root](FakeGrpcServer::Call& call) {
      if (refuse_status) {
        call.sendTrailersOnly(*refuse_status, "refused%20by%20test");
        return;
      }
      pki::LeafSpec spec;
      spec.uri_sans = {std::string(kSpiffeId)};
      spec.not_after = lifetime;
      remora::ca::v1::CreateCertificateResponse response;
      response.add_certificate_chain(pki::issue(root, spec).certificate_chain_pem);
      response.add_trust_bundle(root.certificate_pem);
      std::string bytes;
      response.SerializeToString(&bytes);
      call.sendHeaders();
      call.sendMessage(bytes);
      call.sendTrailers(0);
    };
  }
  size_t requests() const { return server.calls.size(); }
  std::string authorization(size_t i) const {
    auto value = server.calls.at(i)->headers->get("authorization");
    return value ? std::string(*value) : std::string();
  }

  FakeGrpcServer server;
  std::optional<int> refuse_status;
  std::chrono::seconds lifetime = std::chrono::hours(1);
};

IdentityOptions optionsFor(std::vector<net::Address> addresses) {
  IdentityOptions o;
  o.addresses = std::move(addresses);
  o.authority = "xds_cluster";
  o.spiffe_id = std::string(kSpiffeId);
  o.token = "rmt_test";
  o.connect_timeout = 1000ms;
  o.request_timeout = 1000ms;
  o.backoff_base = 1000ms;
  o.backoff_max = 1000ms;
  return o;
}

// An address nobody listens on: a listener's, once it is closed.
net::Address closedAddress(Fixture& fixture) {
  std::optional<net::Address> address;
  {
    FakeGrpcServer gone(fixture.dispatcher());
    address = gone.address();
  }
  fixture.runFor(10ms);
  return *address;
}

std::unique_ptr<IdentityClient> makeClient(Fixture& fixture, IdentityOptions options, TlsRegistry& registry) {
  return std::make_unique<IdentityClient>(
      fixture.dispatcher(), std::move(options), registry, nullptr, [] { return uint64_t{0}; },
      [] { return std::chrono::system_clock::now(); });
}

TEST_CASE_METHOD(Fixture, "a sidecar whose first replica is down gets its certificate from the next one",
                 "[config][identity]") {
  const auto root = pki::makeRoot("mesh root");
  FakeCa up(dispatcher(), root);
  TlsRegistry registry;
  const net::Address down = closedAddress(*this);
  auto client = makeClient(*this, optionsFor({down, up.server.address()}), registry);
  client->start();
  REQUIRE(runUntil([&] { return client->hasCertificate(); }, 5s));
  CHECK(up.requests() == 1);
  CHECK(up.authorization(0) == "Bearer rmt_test");
  CHECK(client->failures() == 1);
  CHECK(client->issued() == 1);
  CHECK(client->lastError().empty());
  CHECK(client->currentAddress() == up.server.address());
  CHECK(registry.hasSecret("default"));
  CHECK(registry.hasSecret("ROOTCA"));
}

TEST_CASE_METHOD(Fixture, "a replica that takes the connection but never answers is left after the request timeout",
                 "[config][identity]") {
  const auto root = pki::makeRoot("mesh root");
  FakeCa silent(dispatcher(), root, FakeGrpcServer::Mode::kSilent);
  FakeCa up(dispatcher(), root);
  TlsRegistry registry;
  IdentityOptions options = optionsFor({silent.server.address(), up.server.address()});
  options.connect_timeout = 5000ms;  // a plain TCP connect succeeds at once anyway
  options.request_timeout = 300ms;
  auto client = makeClient(*this, options, registry);
  client->start();
  // Without the request timeout the silent replica would hold the request
  // for good and this would never hold.
  REQUIRE(runUntil([&] { return client->hasCertificate(); }, 5s));
  CHECK(silent.server.sessions.size() == 1);
  CHECK(up.requests() == 1);
  CHECK(client->failures() == 1);
}

TEST_CASE_METHOD(Fixture, "refusals move to the next replica at once and wait the backoff only after a whole round",
                 "[config][identity]") {
  const auto root = pki::makeRoot("mesh root");
  FakeCa a(dispatcher(), root);
  FakeCa b(dispatcher(), root);
  a.refuse_status = 14;  // UNAVAILABLE
  b.refuse_status = 16;  // UNAUTHENTICATED
  TlsRegistry registry;
  IdentityOptions options = optionsFor({a.server.address(), b.server.address()});
  options.backoff_base = 1500ms;
  options.backoff_max = 1500ms;
  auto client = makeClient(*this, options, registry);
  client->start();
  REQUIRE(runUntil([&] { return a.requests() == 1 && b.requests() == 1 && client->failures() == 2; }, 3s));
  // The round failed: nothing more within the backoff's floor (base / 2).
  runFor(500ms);
  CHECK(a.requests() == 1);
  CHECK(b.requests() == 1);
  CHECK_THAT(client->lastError(), Catch::Contains(b.server.address().toString()) && Catch::Contains("16"));
  CHECK_FALSE(client->hasCertificate());
  // The next round starts again at the first replica, which now answers.
  a.refuse_status.reset();
  REQUIRE(runUntil([&] { return client->hasCertificate(); }, 3s));
  CHECK(a.requests() == 2);
  CHECK(b.requests() == 1);
}

TEST_CASE_METHOD(Fixture, "renewals go to the replica that answered last and move on when it fails",
                 "[config][identity]") {
  const auto root = pki::makeRoot("mesh root");
  FakeCa a(dispatcher(), root);
  FakeCa b(dispatcher(), root);
  // Renewal at two thirds of what is left, never before a second: ~1.3 s.
  a.lifetime = 2s;
  b.lifetime = 2s;
  TlsRegistry registry;
  auto client = makeClient(*this, optionsFor({a.server.address(), b.server.address()}), registry);
  client->start();
  REQUIRE(runUntil([&] { return client->issued() == 1; }, 3s));
  CHECK(a.requests() == 1);
  a.refuse_status = 14;
  REQUIRE(runUntil([&] { return client->issued() == 2; }, 5s));
  CHECK(a.requests() == 2);
  CHECK(b.requests() == 1);
  CHECK(client->currentAddress() == b.server.address());
  // The next renewal starts at b, which answered last.
  REQUIRE(runUntil([&] { return client->issued() == 3; }, 5s));
  CHECK(a.requests() == 2);
  CHECK(b.requests() == 2);
}

}  // namespace
}  // namespace remora::config
