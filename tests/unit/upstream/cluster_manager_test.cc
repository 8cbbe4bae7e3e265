#include "proxy/upstream/cluster_manager.h"

#include <catch2/catch.hpp>

#include "tests/unit/upstream/strict_loop_fixture.h"

using remora::upstream::ClusterConfig;
using remora::upstream::ClusterManager;
using remora::upstream::Host;

namespace {

std::shared_ptr<const ClusterConfig> config(const std::string& name, const std::vector<uint32_t>& ports,
                                            int connect_timeout_ms = 1000) {
  auto c = std::make_shared<ClusterConfig>();
  c->name = name;
  c->connect_timeout = std::chrono::milliseconds(connect_timeout_ms);
  for (uint32_t p : ports) {
    remora::xds::resources::Endpoint e;
    e.address = {"127.0.0.1", p};
    c->endpoints.push_back(e);
  }
  return c;
}

const Host* hostOn(const remora::upstream::Cluster& c, uint16_t port) {
  for (const auto& h : c.hosts()) {
    if (h->address().port() == port) return h.get();
  }
  return nullptr;
}

}  // namespace

TEST_CASE_METHOD(remora::testing::StrictLoopFixture,
                 "an endpoint update keeps the cluster and the hosts that stay, and drops the removed ones",
                 "[upstream][cluster]") {
  ClusterManager cm(dispatcher());
  cm.update({config("a", {1001, 1002})});
  auto* cluster = cm.get("a");
  REQUIRE(cluster != nullptr);
  const Host* kept = hostOn(*cluster, 1002);
  REQUIRE(kept != nullptr);

  cm.update({config("a", {1002, 1003})});
  CHECK(cm.get("a") == cluster);
  CHECK(hostOn(*cluster, 1002) == kept);
  CHECK(hostOn(*cluster, 1003) != nullptr);
  CHECK(hostOn(*cluster, 1001) == nullptr);
  CHECK(cluster->hosts().size() == 2);
  CHECK(cm.drainingClusters() == 0);
}

TEST_CASE_METHOD(remora::testing::StrictLoopFixture,
                 "the cluster's name outlives the config an endpoint update replaces",
                 "[upstream][cluster]") {
  // A request in flight keeps a view of the name (RequestRecord::cluster)
  // and reads it when it ends, after any number of EDS updates: the name
  // must not live in the config the update frees (a use-after-free under
  // ASan, seen in the demo mesh).
  ClusterManager cm(dispatcher());
  cm.update({config("outbound|8080||catalog.default", {1001, 1002})});
  auto* cluster = cm.get("outbound|8080||catalog.default");
  REQUIRE(cluster != nullptr);
  const std::string* name_before = &cluster->name();
  const std::string_view view = cluster->name();

  cm.update({config("outbound|8080||catalog.default", {1002})});
  cm.update({config("outbound|8080||catalog.default", {1002, 1003})});
  REQUIRE(cm.get("outbound|8080||catalog.default") == cluster);
  CHECK(&cluster->name() == name_before);
  CHECK(view == "outbound|8080||catalog.default");
}

TEST_CASE_METHOD(remora::testing::StrictLoopFixture,
                 "an equal config keeps the cluster, other settings replace it, and an idle old one is freed",
                 "[upstream][cluster]") {
  ClusterManager cm(dispatcher());
  cm.update({config("a", {1001}), config("b", {1002})});
  auto* a = cm.get("a");
  cm.update({config("a", {1001}), config("b", {1002}, 2000)});
  CHECK(cm.get("a") == a);
  REQUIRE(cm.get("b") != nullptr);
  CHECK(cm.get("b")->config().connect_timeout == std::chrono::milliseconds(2000));
  // Nothing used the old "b": it is freed at once.
  CHECK(cm.drainingClusters() == 0);
  cm.update({config("a", {1001})});
  CHECK(cm.get("b") == nullptr);
}

TEST_CASE_METHOD(remora::testing::StrictLoopFixture,
                 "a removed cluster with a request in flight waits until the request ends", "[upstream][cluster]") {
  ClusterManager cm(dispatcher());
  cm.update({config("a", {1001})});
  auto* a = cm.get("a");
  REQUIRE(a->tryStartRequest());
  cm.update({});
  CHECK(cm.get("a") == nullptr);
  CHECK(cm.drainingClusters() == 1);
  a->finishRequest();
  cm.sweep();
  CHECK(cm.drainingClusters() == 0);
}
