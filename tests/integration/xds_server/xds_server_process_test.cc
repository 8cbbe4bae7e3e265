// XdsServerProcess and server.js proving themselves without remora-proxy:
// ads_client.js (@grpc/grpc-js) plays the proxy. server.js's protocol rules
// are covered in depth by self_test.js; this covers the C++ harness API that
// the proxy's interop tests use.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/integration/harness/xds_server_process.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

std::string listenerJson(const std::string& name, int port) {
  return R"({"@type": "type.googleapis.com/envoy.config.listener.v3.Listener", "name": ")" + name +
         R"(", "address": {"socket_address": {"address": "127.0.0.1", "port_value": )" + std::to_string(port) +
         R"(}}, "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
              "stat_prefix": "ingress", "rds": {"route_config_name": "local", "config_source": {"ads": {}}},
              "http_filters": [{"name": "envoy.filters.http.router", "typed_config":
                {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]})";
}

// ads_client.js subscribing to `kind`, as a command line.
std::vector<std::string> adsClient(const XdsServerProcess& server, std::vector<std::string> extra) {
  std::vector<std::string> args = {"node", sourcePath("tests/integration/xds_server/ads_client.js"), "--xds",
                                   server.xdsAddress()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace

TEST_CASE("the xDS test server takes proto3 JSON resources and counts versions up", "[xds_server]") {
  TempDir dir("xds-server-test");
  auto server = XdsServerProcess::start(dir);
  REQUIRE(server);
  INFO(server->logs());
  CHECK(server->xdsPort() != 0);
  CHECK(server->controlPort() != 0);

  auto first = server->setResources("listeners", "[" + listenerJson("a", 10001) + "]");
  REQUIRE(first);
  CHECK(*first == "1");
  auto named = server->setResources("listeners", "[]", "v-named");
  REQUIRE(named);
  CHECK(*named == "v-named");

  auto typo = server->setResources("clusters",
                                   R"([{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
                                        "name": "c", "conect_timeout": "1s"}])");
  REQUIRE_FALSE(typo);
  CHECK_THAT(typo.error().message, Catch::Contains("resources[0].conect_timeout: unknown field"));
  CHECK_FALSE(server->setResources("nothing", "[]"));
  CHECK_FALSE(server->setResources("listeners", "not json"));
}

TEST_CASE("a wildcard LDS request and its ACK from a real gRPC client appear in requests()", "[xds_server]") {
  TempDir dir("xds-server-test");
  auto server = XdsServerProcess::start(dir);
  REQUIRE(server);
  REQUIRE(server->setResources("listeners", "[" + listenerJson("a", 10001) + "," + listenerJson("b", 10002) + "]"));

  const CommandResult client =
      run(adsClient(*server, {"--kind", "listeners", "--node-id", "harness-node", "--responses", "1"}), 30s);
  INFO(client.describe() << server->logs());
  REQUIRE(client.exit_code == 0);
  CHECK_THAT(client.stdout_text, Catch::Contains(R"("version":"1")") && Catch::Contains(R"("names":["a","b"])"));

  auto ack = server->waitForRequest([](const XdsRequest& r) { return r.isAck(); });
  REQUIRE(ack);
  auto all = server->requests();
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  const XdsRequest& hello = (*all)[0];
  CHECK(hello.type_url == kXdsListenerType);
  CHECK(hello.node_id == "harness-node");
  CHECK(hello.resource_names.empty());
  CHECK(hello.response_nonce.empty());
  CHECK_FALSE(hello.delta);
  CHECK(ack->version_info == "1");
  CHECK(ack->stream == hello.stream);
  CHECK_FALSE(ack->response_nonce.empty());

  REQUIRE(server->resetRequests());
  auto after = server->requests();
  REQUIRE(after);
  CHECK(after->empty());
}

TEST_CASE("a NACK is recorded with its error_detail and a later version is still pushed", "[xds_server]") {
  TempDir dir("xds-server-test");
  auto server = XdsServerProcess::start(dir);
  REQUIRE(server);
  REQUIRE(server->setResources("clusters", R"([{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
                                                "name": "c1", "connect_timeout": "0.25s", "type": "STATIC"}])"));
  auto client = Process::start(ProcessOptions{
      adsClient(*server, {"--kind", "clusters", "--responses", "2", "--nack-first", "--delta"}), {}, dir.path(),
      "ads_client"});
  REQUIRE(client);

  auto nack = server->waitForRequest([](const XdsRequest& r) { return r.isNack(); });
  INFO(server->logs() << client->readStderr());
  REQUIRE(nack);
  CHECK(nack->delta);
  CHECK(nack->type_url == kXdsClusterType);
  CHECK(nack->error_detail->code == 3);
  CHECK_THAT(nack->error_detail->message, Catch::Contains("rejects version 1"));

  REQUIRE(server->setResources("clusters", R"([{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
                                                "name": "c1", "connect_timeout": "1s", "type": "STATIC"}])"));
  auto exit_code = client->waitExit(20s);
  REQUIRE(exit_code);
  CHECK(*exit_code == 0);
  CHECK_THAT(client->readStdout(), Catch::Contains(R"("version":"2")") && Catch::Contains(R"("names":["c1"])"));
}

TEST_CASE("raw bytes reach a client even though they are not a valid message", "[xds_server]") {
  TempDir dir("xds-server-test");
  auto server = XdsServerProcess::start(dir);
  REQUIRE(server);
  auto version = server->setRawResources(
      "routes", R"([{"type_url": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
                     "value_base64": "////", "name": "r1"}])");
  REQUIRE(version);
  const CommandResult client = run(adsClient(*server, {"--kind", "routes", "--names", "r1", "--delta"}), 30s);
  INFO(client.describe() << server->logs());
  REQUIRE(client.exit_code == 0);
  CHECK_THAT(client.stdout_text, Catch::Contains(R"("names":["r1"])"));
}

TEST_CASE("a killed xDS server starts again on the same port", "[xds_server]") {
  TempDir dir("xds-server-test");
  auto server = XdsServerProcess::start(dir);
  REQUIRE(server);
  const uint16_t port = server->xdsPort();
  // A client connected when the server dies leaves the port in TIME_WAIT.
  REQUIRE(server->setResources("listeners", "[" + listenerJson("a", 1) + "]"));
  REQUIRE(run(adsClient(*server, {"--responses", "1"}), 30s).exit_code == 0);

  server->kill();
  CHECK_FALSE(server->running());
  auto restarted = server->restart();
  INFO(server->logs());
  REQUIRE(restarted);
  CHECK(server->xdsPort() == port);
  REQUIRE(server->setResources("listeners", "[" + listenerJson("b", 2) + "]"));
  const CommandResult client = run(adsClient(*server, {"--responses", "1"}), 30s);
  INFO(client.describe());
  CHECK_THAT(client.stdout_text, Catch::Contains(R"("names":["b"])"));

  server->kill();
  auto again = XdsServerProcess::start(dir, port);
  REQUIRE(again);
  CHECK(again->xdsPort() == port);
}

TEST_CASE("closeStreams ends the open ADS streams", "[xds_server]") {
  TempDir dir("xds-server-test");
  auto server = XdsServerProcess::start(dir);
  REQUIRE(server);
  auto client = Process::start(
      ProcessOptions{adsClient(*server, {"--responses", "1", "--timeout-ms", "20000"}), {}, dir.path(), "ads_client"});
  REQUIRE(client);
  REQUIRE(server->waitForRequest([](const XdsRequest& r) { return r.node_id == "ads-client"; }));
  auto closed = server->closeStreams();
  REQUIRE(closed);
  CHECK(*closed == 1);
  auto exit_code = client->waitExit(20s);
  REQUIRE(exit_code);
  CHECK(*exit_code == 1);  // the stream failed before any response
  CHECK_THAT(client->readStderr(), Catch::Contains("closed by the test"));
}

TEST_CASE("parseXdsRequests reads the server's request log", "[xds_server]") {
  auto parsed = parseXdsRequests(R"([
    {"index": 0, "stream": 3, "delta": true, "type_url": "t", "version_info": "", "response_nonce": "7",
     "resource_names": ["a"], "resource_names_unsubscribe": ["b"], "initial_resource_versions": {"c": "v1"},
     "error_detail": {"code": 13, "message": "bad"}, "node_id": "n", "stale": false},
    {"index": 1, "stream": 3, "delta": false, "type_url": "t", "version_info": "2", "response_nonce": "8",
     "resource_names": [], "error_detail": null, "node_id": "n", "stale": true}])");
  REQUIRE(parsed);
  REQUIRE(parsed->size() == 2);
  const XdsRequest& nack = (*parsed)[0];
  CHECK(nack.isNack());
  CHECK_FALSE(nack.isAck());
  CHECK(nack.error_detail->message == "bad");
  CHECK(nack.resource_names_unsubscribe == std::vector<std::string>{"b"});
  CHECK(nack.initial_resource_versions.at("c") == "v1");
  const XdsRequest& stale = (*parsed)[1];
  CHECK(stale.stale);
  CHECK_FALSE(stale.isAck());
  CHECK(stale.version_info == "2");
  CHECK_FALSE(parseXdsRequests("{}"));
}

}  // namespace remora::harness
