#include "proxy/tls/tls_context.h"

#include <catch2/catch.hpp>
#include <thread>

#include "proxy/tls/certificate_info.h"
#include "tests/unit/tls/tls_pair.h"

using namespace remora;
using namespace remora::tls;
using namespace remora::tls::testing;

TEST_CASE("a context reports its own identity and expiry", "[tls][context]") {
  const TestPki& p = TestPki::get();
  auto ctx = makeContext(true, &p.server, p.root.certificate_pem, true);
  CHECK(ctx->identity() == kServerId);
  auto info = inspectCertificate(p.server.certificate_chain_pem);
  REQUIRE(info);
  CHECK(ctx->notAfter() == info->not_after);
  CHECK(ctx->server());
  CHECK(ctx->verifiesPeer());
  auto client = makeContext(false, nullptr, "");
  CHECK(client->identity().empty());
  CHECK(client->notAfter() == std::chrono::system_clock::time_point{});
  CHECK_FALSE(client->verifiesPeer());
}

TEST_CASE("a context refuses material it cannot use", "[tls][context]") {
  const TestPki& p = TestPki::get();
  ContextMaterial material{p.server.certificate_chain_pem, p.client.private_key_pem, p.root.certificate_pem};
  ContextOptions server;
  server.server = true;
  auto mismatched = TlsContext::create(material, server);
  REQUIRE_FALSE(mismatched);
  CHECK(mismatched.error().code == base::Error::kInvalidArgument);
  CHECK(mismatched.error().message.find("private_key") != std::string::npos);

  auto no_cert = TlsContext::create(ContextMaterial{"", "", p.root.certificate_pem}, server);
  REQUIRE_FALSE(no_cert);
  CHECK(no_cert.error().message.find("needs a certificate") != std::string::npos);

  server.require_peer_certificate = true;
  auto no_roots = TlsContext::create(ContextMaterial{p.server.certificate_chain_pem, p.server.private_key_pem, ""}, server);
  REQUIRE_FALSE(no_roots);
  CHECK(no_roots.error().message.find("trusted_roots") != std::string::npos);

  auto garbage_roots =
      TlsContext::create(ContextMaterial{p.server.certificate_chain_pem, p.server.private_key_pem, "not a pem"}, server);
  REQUIRE_FALSE(garbage_roots);

  ContextOptions bad_alpn;
  bad_alpn.alpn = {""};
  CHECK_FALSE(TlsContext::create(ContextMaterial{}, bad_alpn));
}

TEST_CASE("a context slot hands out the context last set, from any thread", "[tls][context]") {
  const TestPki& p = TestPki::get();
  ContextSlot slot;
  CHECK(slot.current() == nullptr);
  auto first = makeContext(true, &p.server, "");
  auto second = makeContext(true, &p.client, "");
  slot.set(first);
  std::thread reader([&] {
    for (int i = 0; i < 1000; ++i) {
      auto c = slot.current();
      CHECK((c == first || c == second));
    }
  });
  for (int i = 0; i < 1000; ++i) slot.set(i % 2 == 0 ? second : first);
  reader.join();
  slot.set(second);
  CHECK(slot.current()->identity() == kClientId);
}
