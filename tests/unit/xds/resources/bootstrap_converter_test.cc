#include "xds/resources/bootstrap_converter.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using BootstrapProto = envoy::config::bootstrap::v3::Bootstrap;

namespace {

std::string tcpListener(const std::string& name, int port, const std::string& cluster_name) {
  return R"({"name": ")" + name + R"(", "address": {"socket_address": {"address": "127.0.0.1", "port_value": )" +
         std::to_string(port) + R"(}}, "filter_chains": [{"filters": [{"name": "tcp", "typed_config": {
         "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
         "stat_prefix": "t", "cluster": ")" +
         cluster_name + R"("}}]}]})";
}

constexpr const char* kCluster = R"({"name": "c"})";

}  // namespace

TEST_CASE("an empty bootstrap gets the default admin address", "[xds][resources][bootstrap]") {
  auto b = toBootstrap(BootstrapProto());
  REQUIRE(b);
  CHECK(b->admin.address.address == "127.0.0.1");
  CHECK(b->admin.address.port == 15000);
  CHECK(b->listeners.empty());
}

TEST_CASE("a tcp_proxy naming a missing cluster is rejected at bootstrap level", "[xds][resources][bootstrap]") {
  auto b = toBootstrap(protoFromJson<BootstrapProto>(R"({"static_resources": {"clusters": [)" + std::string(kCluster) +
                                                     R"(], "listeners": [)" + tcpListener("l", 1, "nope") + "]}}"));
  REQUIRE_FALSE(b);
  CHECK(b.error().code == Error::kNotFound);
  CHECK(b.error().message ==
        "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster: cluster \"nope\" does not "
        "exist in static_resources.clusters");
}

TEST_CASE("duplicate cluster names and listener addresses are rejected", "[xds][resources][bootstrap]") {
  auto clusters = toBootstrap(protoFromJson<BootstrapProto>(R"({"static_resources": {"clusters": [)" +
                                                            std::string(kCluster) + "," + kCluster + "]}}"));
  REQUIRE_FALSE(clusters);
  CHECK(clusters.error().code == Error::kAlreadyExists);
  CHECK(clusters.error().message ==
        "static_resources.clusters[1].name: \"c\" is already used by static_resources.clusters[0]");
  auto addresses = toBootstrap(protoFromJson<BootstrapProto>(
      R"({"static_resources": {"clusters": [)" + std::string(kCluster) + R"(], "listeners": [)" +
      tcpListener("a", 9, "c") + "," + tcpListener("b", 9, "c") + "]}}"));
  REQUIRE_FALSE(addresses);
  CHECK(addresses.error().message ==
        "static_resources.listeners[1].address: is the same as static_resources.listeners[0]'s");
  // Port 0 asks the kernel for a port, so two such listeners do not clash.
  CHECK(toBootstrap(protoFromJson<BootstrapProto>(R"({"static_resources": {"clusters": [)" + std::string(kCluster) +
                                                  R"(], "listeners": [)" + tcpListener("a", 0, "c") + "," +
                                                  tcpListener("b", 0, "c") + "]}}")));
}

TEST_CASE("EDS clusters and top-level extras are unsupported in a bootstrap for now", "[xds][resources][bootstrap]") {
  auto eds = toBootstrap(protoFromJson<BootstrapProto>(
      R"({"static_resources": {"clusters": [{"name": "e", "type": "EDS", "eds_cluster_config": {"eds_config": {"ads": {}}}}]}})"));
  REQUIRE_FALSE(eds);
  CHECK(eds.error().code == Error::kUnsupported);
  CHECK_THAT(eds.error().message,
             Catch::StartsWith("static_resources.clusters[0].type: not supported by remora-proxy"));
  auto extra = toBootstrap(protoFromJson<BootstrapProto>(R"({"stats_flush_interval": "5s"})"));
  REQUIRE_FALSE(extra);
  CHECK(extra.error().message == "stats_flush_interval: not supported by remora-proxy");
}

TEST_CASE("admin accepts an address and the customary /dev/null access log", "[xds][resources][bootstrap]") {
  auto b = toBootstrap(protoFromJson<BootstrapProto>(
      R"({"node": {"id": "n", "cluster": "k", "locality": {"zone": "z"}}, "admin": {"access_log_path": "/dev/null",
          "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}}})"));
  REQUIRE(b);
  CHECK(b->node.id == "n");
  CHECK(b->admin.address.port == 0);
  auto log = toBootstrap(protoFromJson<BootstrapProto>(R"({"admin": {"access_log_path": "/var/log/admin.log"}})"));
  REQUIRE_FALSE(log);
  CHECK(log.error().code == Error::kUnsupported);
}
