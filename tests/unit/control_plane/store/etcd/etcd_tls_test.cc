// The etcd client and store over TLS: a real etcd serving clients over https
// with a certificate from a test CA, with and without --client-cert-auth.
#include <catch2/catch.hpp>

#include <chrono>
#include <mutex>
#include <string_view>
#include <vector>

#include "control-plane/store/etcd/etcd_store.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/support/pki/test_pki.h"
#include "tests/unit/control_plane/store/etcd/etcd_test_rig.h"

using remora::base::Error;
using remora::cp::store::Change;
using remora::cp::store::ObjectKey;
using remora::cp::store::etcd::EtcdOptions;
using remora::cp::store::etcd::EtcdStore;
using remora::harness::EtcdTls;
using remora::testing::EtcdRig;
using remora::testing::eventually;

namespace {

const ObjectKey kReviews{"Service", "default", "reviews"};

// Failures here wait out the whole request timeout: keep it short.
constexpr std::chrono::milliseconds kFailingTimeout{700};

EtcdOptions tlsOptions(const EtcdRig& rig, bool client_certificate) {
  EtcdOptions options = rig.options();
  options.ca_file = rig.cluster->caFile();
  if (client_certificate) {
    options.cert_file = rig.cluster->clientCertFile();
    options.key_file = rig.cluster->clientKeyFile();
  }
  return options;
}

// Opens a store, writes one object and checks it reads back and arrives on
// the store's watch.
void createReadAndWatch(const EtcdRig& rig, const EtcdOptions& options) {
  auto store = EtcdStore::open(options, "/remora/", rig.storeOptions());
  INFO((store ? "" : store.error().message));
  REQUIRE(store);
  std::mutex mutex;
  std::vector<Change> seen;
  (*store)->watch([&](const Change& change) {
    std::lock_guard lock(mutex);
    seen.push_back(change);
  });
  auto created = (*store)->create(kReviews, R"({"ports":[9080]})");
  INFO((created ? "" : created.error().message));
  REQUIRE(created);
  auto got = (*store)->get(kReviews);
  REQUIRE(got);
  CHECK(got->spec_json == R"({"ports":[9080]})");
  CHECK(got->resource_version == created->resource_version);
  CHECK(eventually([&] {
    std::lock_guard lock(mutex);
    return seen.size() == 1;
  }));
  std::lock_guard lock(mutex);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].type == Change::Type::kPut);
  CHECK(seen[0].object.key == kReviews);
  CHECK(seen[0].revision == created->resource_version);
}

// Opening a store with `options` fails as unavailable within a bounded time,
// naming etcd, the endpoint and `why` (the transport's reason, not a guess
// at quorum).
void expectUnavailable(const EtcdRig& rig, EtcdOptions options, std::string_view why = "no member reachable") {
  options.request_timeout = kFailingTimeout;
  const auto start = std::chrono::steady_clock::now();
  auto store = EtcdStore::open(options, "/remora/", rig.storeOptions());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(store);
  INFO(store.error().message);
  CHECK(store.error().code == Error::kUnavailable);
  CHECK_THAT(store.error().message, Catch::Contains("etcd " + rig.cluster->endpoint(0)));
  CHECK_THAT(store.error().message, Catch::Contains(std::string(why)));
  CHECK_THAT(store.error().message, !Catch::Contains("no quorum"));
  CHECK(elapsed < std::chrono::seconds(5));
}

}  // namespace

TEST_CASE("an etcd store over TLS creates and reads an object and sees it on its watch",
          "[cp][store][etcd][tls]") {
  EtcdRig rig(1, EtcdTls{});
  REQUIRE(rig.cluster->tls());
  createReadAndWatch(rig, tlsOptions(rig, false));
  // The member really speaks TLS only: a plaintext client gets nowhere.
  expectUnavailable(rig, rig.options());
}

TEST_CASE("an etcd store with a client certificate works with an etcd that demands one",
          "[cp][store][etcd][tls]") {
  EtcdRig rig(1, EtcdTls{.require_client_certificate = true});
  createReadAndWatch(rig, tlsOptions(rig, true));
}

TEST_CASE("an etcd store without a client certificate is unavailable when etcd demands one",
          "[cp][store][etcd][tls]") {
  EtcdRig rig(1, EtcdTls{.require_client_certificate = true});
  expectUnavailable(rig, tlsOptions(rig, false));
}

TEST_CASE("an etcd store that does not trust etcd's CA is unavailable", "[cp][store][etcd][tls]") {
  EtcdRig rig(1, EtcdTls{.require_client_certificate = true});
  remora::harness::TempDir dir("remora-etcd-tls");
  const auto other = remora::testing::pki::makeRoot("some other CA");
  EtcdOptions options = tlsOptions(rig, true);
  options.ca_file = remora::testing::pki::writeFile(dir.path(), "other-ca.pem", other.certificate_pem);
  expectUnavailable(rig, options, "Ssl handshake failed");
}
