// EtcdStore on a three-member cluster while members die and come back.
#include <mutex>

#include <catch2/catch.hpp>

#include "control-plane/store/etcd/etcd_store.h"
#include "tests/unit/control_plane/store/etcd/etcd_test_rig.h"

using remora::base::Error;
using remora::cp::store::Change;
using remora::cp::store::ObjectKey;
using remora::testing::EtcdRig;
using remora::testing::eventually;

namespace {

struct Seen {
  std::mutex mutex;
  std::vector<std::string> specs;

  bool contains(const std::string& spec) {
    std::lock_guard lock(mutex);
    return std::find(specs.begin(), specs.end(), spec) != specs.end();
  }
};

}  // namespace

TEST_CASE("an etcd store keeps working while any one of three members is down", "[cp][store][etcd][failover]") {
  EtcdRig rig(3);
  auto store = rig.open();
  Seen seen;
  store->watch([&](const Change& change) {
    std::lock_guard lock(seen.mutex);
    seen.specs.push_back(change.object.spec_json);
  });
  REQUIRE(store->create({"Service", "default", "svc"}, R"({"n":0})"));
  // Killing each member in turn also kills the one the watch stream is on.
  for (int down = 0; down < 3; ++down) {
    INFO("member " << down << " down");
    REQUIRE(rig.cluster->kill(down));
    const std::string spec = R"({"n":)" + std::to_string(down + 1) + "}";
    auto put = store->put({"Service", "default", "svc"}, spec, 0);
    INFO((put ? "" : put.error().message));
    REQUIRE(put);
    CHECK(store->get({"Service", "default", "svc"})->spec_json == spec);
    // Read-your-writes held: the watch delivered it before put() returned.
    CHECK(seen.contains(spec));
    REQUIRE(rig.cluster->restart(down));
    REQUIRE(rig.cluster->waitHealthy(std::chrono::seconds(15)));
  }
}

TEST_CASE("without an etcd majority writes fail as unavailable, and recover without reopening the store",
          "[cp][store][etcd][failover]") {
  EtcdRig rig(3);
  auto store = rig.open();
  Seen seen;
  store->watch([&](const Change& change) {
    std::lock_guard lock(seen.mutex);
    seen.specs.push_back(change.object.spec_json);
  });
  const ObjectKey key{"Service", "default", "svc"};
  REQUIRE(store->create(key, R"({"phase":"before"})"));

  REQUIRE(rig.cluster->kill(0));
  REQUIRE(rig.cluster->kill(1));
  const auto start = std::chrono::steady_clock::now();
  auto failed = store->put(key, R"({"phase":"no quorum"})", 0);
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == Error::kUnavailable);
  CHECK_THAT(failed.error().message, Catch::StartsWith("store unavailable: etcd " + rig.cluster->endpointsText()));
  // One read (bounded by request_timeout) before the write; no retry loop.
  CHECK(took < rig.request_timeout * 2 + std::chrono::seconds(1));
  auto refused_create = store->create({"Service", "default", "other"}, "{}");
  CHECK(refused_create.error().code == Error::kUnavailable);

  REQUIRE(rig.cluster->restart(0));
  REQUIRE(rig.cluster->restart(1));
  REQUIRE(rig.cluster->waitHealthy(std::chrono::seconds(20)));
  // The client reconnects by itself; allow for its reconnect backoff.
  CHECK(eventually([&] { return static_cast<bool>(store->put(key, R"({"phase":"after"})", 0)); },
                   std::chrono::seconds(10)));
  CHECK(store->get(key)->spec_json == R"({"phase":"after"})");
  CHECK(eventually([&] { return seen.contains(R"({"phase":"after"})"); }));
  CHECK_FALSE(seen.contains(R"({"phase":"no quorum"})"));

  // A second store (another replica) writing after recovery is seen too.
  auto other = rig.open();
  REQUIRE(other->put(key, R"({"phase":"other replica"})", 0));
  CHECK(eventually([&] { return seen.contains(R"({"phase":"other replica"})"); }));
}
