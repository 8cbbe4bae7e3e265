#include "control-plane/ca/issued_certificates.h"

#include <catch2/catch.hpp>

#include "control-plane/store/sqlite/sqlite_store.h"
#include "tests/integration/harness/temp_dir.h"

namespace remora::cp::ca {
namespace {

TEST_CASE("the last certificate per identity is kept, with the proxies connected as it", "[ca]") {
  harness::TempDir dir("issued-test");
  auto opened = store::openSqliteStore(dir.file("remora.db"));
  REQUIRE(opened);
  std::unique_ptr<store::Store> store = std::move(*opened);
  IssuedCertificates issued(*store);
  const SpiffeId web{"cluster.local", "default", "web"};
  REQUIRE(issued.record(web, "AA", 100, 200, "ipv4:127.0.0.1:1"));
  REQUIRE(issued.record(web, "BB", 150, 250, "ipv4:127.0.0.1:2"));
  REQUIRE(issued.record(SpiffeId{"cluster.local", "default", "db"}, "CC", 100, 200, ""));
  issued.proxyConnected(web.uri(), "web-1");
  issued.proxyConnected(web.uri(), "web-1");  // a second stream of the same node
  issued.proxyConnected(web.uri(), "web-2");
  issued.proxyDisconnected(web.uri(), "web-1");

  auto list = issued.list();
  REQUIRE(list);
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].service_account == "db");
  CHECK((*list)[0].proxies.empty());
  CHECK((*list)[1].serial == "BB");
  CHECK((*list)[1].not_after_unix == 250);
  CHECK((*list)[1].identity == web.uri());
  CHECK((*list)[1].proxies == std::vector<std::string>{"web-1", "web-2"});

  // Records survive a new registry on the same store; live proxies do not.
  IssuedCertificates reopened(*store);
  CHECK((*reopened.list())[1].serial == "BB");
  CHECK((*reopened.list())[1].proxies.empty());
}

}  // namespace
}  // namespace remora::cp::ca
