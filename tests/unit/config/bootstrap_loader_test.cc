#include "proxy/config/bootstrap_loader.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <variant>

using remora::base::Error;
using remora::config::ConfigFormat;
using remora::config::loadBootstrapFile;
using remora::config::loadBootstrapString;
namespace model = remora::xds::resources;

namespace {

const std::string kBasic = std::string(REMORA_SOURCE_DIR) + "/examples/bootstrap/basic.yaml";

// A valid bootstrap to break one field at a time: `listener_extra` goes into
// the listener, `cluster_extra` into the second cluster's endpoint list.
std::string bootstrapYaml(const std::string& route_cluster = "backend", const std::string& port = "8080",
                          const std::string& regex = "/v[0-9]+/.*", const std::string& listener_extra = "") {
  return R"(static_resources:
  listeners:
  - name: main
    address:
      socket_address: { address: 127.0.0.1, port_value: 10000 }
)" + listener_extra +
         R"(    filter_chains:
    - filters:
      - name: hcm
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: http
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { safe_regex: { regex: ")" +
         regex + R"(" } }
                route: { cluster: )" +
         route_cluster + R"( }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: other
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 10.0.0.1, port_value: 80 } } }
  - name: backend
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 10.0.0.2, port_value: 80 } } }
        - endpoint: { address: { socket_address: { address: 10.0.0.3, port_value: 80 } } }
        - endpoint:
            address:
              socket_address:
                address: 10.0.0.4
                port_value: )" +
         port + R"(
)";
}

std::string loadError(const std::string& yaml) {
  auto loaded = loadBootstrapString(yaml, ConfigFormat::kYaml, "test.yaml");
  REQUIRE_FALSE(loaded);
  return loaded.error().message;
}

}  // namespace

TEST_CASE("the sample bootstrap parses to the expected model", "[config][bootstrap]") {
  auto loaded = loadBootstrapFile(kBasic);
  INFO((loaded ? std::string() : loaded.error().message));
  REQUIRE(loaded);
  const model::Bootstrap& b = loaded->bootstrap;
  CHECK(b.node.id == "sidecar-1");
  CHECK(b.node.cluster == "demo");
  CHECK(b.admin.address.address == "127.0.0.1");
  CHECK(b.admin.address.port == 15000);
  REQUIRE(b.listeners.size() == 2);

  const model::Listener& http = b.listeners[0];
  CHECK(http.name == "http_in");
  CHECK(http.address.address == "0.0.0.0");
  CHECK(http.address.port == 15006);
  CHECK(http.listener_filters_timeout == model::Millis(2000));
  REQUIRE(http.filter_chains.size() == 1);
  CHECK(http.filter_chains[0].name == "http");
  CHECK(http.filter_chains[0].match.application_protocols == std::vector<std::string>{"http/1.1", "h2c"});
  const auto& hcm = std::get<model::HttpConnectionManager>(http.filter_chains[0].filter);
  CHECK(hcm.stat_prefix == "inbound_http");
  CHECK(hcm.codec_type == model::HttpConnectionManager::CodecType::kAuto);
  CHECK(hcm.stream_idle_timeout == model::Millis(60000));
  CHECK(hcm.request_headers_timeout == model::Millis(5000));
  CHECK(hcm.idle_timeout == model::Millis(300000));
  CHECK(hcm.max_headers_count == 80);
  CHECK(hcm.max_concurrent_streams == 250);
  CHECK(hcm.drain_timeout == model::Millis(5000));  // default
  CHECK(hcm.websocket_upgrade);
  CHECK_FALSE(hcm.connect_upgrade);
  REQUIRE(hcm.route_config);
  CHECK(hcm.route_config->name == "local_routes");
  REQUIRE(hcm.route_config->virtual_hosts.size() == 2);

  const model::VirtualHost& app = hcm.route_config->virtual_hosts[0];
  CHECK(app.domains == std::vector<std::string>{"app.local", "*.app.local"});
  REQUIRE(app.routes.size() == 4);
  const auto& healthz = std::get<model::DirectResponse>(app.routes[0].action);
  CHECK(app.routes[0].match.path_kind == model::RouteMatch::PathKind::kExact);
  CHECK(app.routes[0].match.path == "/healthz");
  CHECK(healthz.status == 200);
  CHECK(healthz.body == "ok\n");

  const model::Route& canary = app.routes[1];
  CHECK(canary.name == "canary");
  REQUIRE(canary.match.headers.size() == 1);
  CHECK(canary.match.headers[0].name == "x-canary");
  CHECK(canary.match.headers[0].kind == model::HeaderMatcher::Kind::kExact);
  CHECK(canary.match.headers[0].value == "yes");
  const auto& split = std::get<model::RouteAction>(canary.action);
  REQUIRE(split.weighted_clusters.size() == 2);
  CHECK(split.weighted_clusters[0].name == "app_v1");
  CHECK(split.weighted_clusters[0].weight == 90);
  CHECK(split.weighted_clusters[1].name == "app_v2");
  CHECK(split.weighted_clusters[1].weight == 10);
  CHECK(split.timeout == model::Millis(3000));
  CHECK_FALSE(split.retry_policy);

  const model::Route& assets = app.routes[2];
  CHECK(assets.match.path_kind == model::RouteMatch::PathKind::kRegex);
  CHECK(assets.match.path == "/static/[a-z0-9]+\\.css");
  const auto& rewrite = std::get<model::RouteAction>(assets.action);
  CHECK(rewrite.cluster == "app_v1");
  CHECK(rewrite.host_rewrite_literal == "assets.internal");
  CHECK(rewrite.timeout == model::Millis(15000));  // default
  REQUIRE(assets.response_headers_to_add.size() == 1);
  CHECK(assets.response_headers_to_add[0].name == "cache-control");
  CHECK(assets.response_headers_to_add[0].value == "max-age=60");
  CHECK_FALSE(assets.response_headers_to_add[0].append);

  CHECK(std::get<model::DirectResponse>(hcm.route_config->virtual_hosts[1].routes[0].action).status == 404);

  const model::Listener& tcp = b.listeners[1];
  CHECK(tcp.name == "tcp_in");
  REQUIRE(tcp.filter_chains.size() == 1);
  CHECK(tcp.filter_chains[0].match.destination_port == 15007u);
  CHECK(tcp.filter_chains[0].match.transport_protocol == "raw_buffer");
  const auto& proxy = std::get<model::TcpProxy>(tcp.filter_chains[0].filter);
  CHECK(proxy.stat_prefix == "inbound_tcp");
  CHECK(proxy.cluster == "app_v1");
  CHECK(proxy.idle_timeout == model::Millis(600000));

  REQUIRE(b.clusters.size() == 2);
  const model::Cluster& v1 = b.clusters[0];
  CHECK(v1.name == "app_v1");
  CHECK(v1.type == model::Cluster::DiscoveryType::kStatic);
  CHECK(v1.connect_timeout == model::Millis(1000));
  CHECK(v1.protocol == model::Cluster::UpstreamProtocol::kHttp1);
  REQUIRE(v1.endpoints.size() == 2);
  CHECK(v1.endpoints[0].address.address == "127.0.0.1");
  CHECK(v1.endpoints[0].address.port == 8080);
  CHECK(v1.endpoints[0].weight == 1);
  CHECK(v1.endpoints[1].address.port == 8081);
  CHECK(v1.endpoints[1].weight == 3);
  CHECK(v1.circuit_breakers.max_connections == 512);
  CHECK(v1.circuit_breakers.max_requests == 2048);
  CHECK(v1.circuit_breakers.max_pending_requests == 1024);  // default

  const model::Cluster& v2 = b.clusters[1];
  CHECK(v2.protocol == model::Cluster::UpstreamProtocol::kHttp2);
  CHECK(v2.http2_max_concurrent_streams == 64);
  CHECK(v2.pool_idle_timeout == model::Millis(30000));
  CHECK(v2.connect_timeout == model::Millis(500));
  REQUIRE(v2.endpoints.size() == 1);
  CHECK(v2.endpoints[0].address.address == "::1");

  // The proto and its JSON are kept for the xDS client and /config_dump.
  CHECK(loaded->proto.node().id() == "sidecar-1");
  CHECK_THAT(loaded->json, Catch::Contains("\"stat_prefix\":\"inbound_http\""));
}

TEST_CASE("the same bootstrap in JSON loads the same model", "[config][bootstrap]") {
  auto yaml = loadBootstrapFile(kBasic);
  REQUIRE(yaml);
  auto json = loadBootstrapString(yaml->json, ConfigFormat::kJson, "dump.json");
  INFO((json ? std::string() : json.error().message));
  REQUIRE(json);
  CHECK(json->json == yaml->json);
  CHECK(json->bootstrap.listeners.size() == 2);
  CHECK(json->bootstrap.clusters[1].protocol == model::Cluster::UpstreamProtocol::kHttp2);
}

TEST_CASE("the test bootstrap is valid before each test breaks it", "[config][bootstrap]") {
  auto loaded = loadBootstrapString(bootstrapYaml(), ConfigFormat::kYaml, "test.yaml");
  INFO((loaded ? std::string() : loaded.error().message));
  REQUIRE(loaded);
  CHECK(loaded->bootstrap.clusters[1].endpoints.size() == 3);
}

TEST_CASE("an unknown field is rejected naming its path and line", "[config][bootstrap]") {
  const std::string message = loadError(bootstrapYaml("backend", "8080", "/v[0-9]+/.*", "    colour: blue\n"));
  CHECK_THAT(message, Catch::StartsWith("test.yaml:6: static_resources.listeners[0].colour: unknown field"));
}

TEST_CASE("a port out of range names the endpoint's field path", "[config][bootstrap]") {
  auto loaded = loadBootstrapString(bootstrapYaml("backend", "70000"), ConfigFormat::kYaml, "test.yaml");
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code == Error::kInvalidArgument);
  CHECK(loaded.error().message ==
        "test.yaml:39: static_resources.clusters[1].load_assignment.endpoints[0].lb_endpoints[2].endpoint.address."
        "socket_address.port_value: 70000 is out of range 1..65535");
}

TEST_CASE("a route naming a cluster that does not exist is rejected", "[config][bootstrap]") {
  auto loaded = loadBootstrapString(bootstrapYaml("nowhere"), ConfigFormat::kYaml, "test.yaml");
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code == Error::kNotFound);
  CHECK_THAT(loaded.error().message,
             Catch::Contains("static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config."
                             "virtual_hosts[0].routes[0].route.cluster: cluster \"nowhere\" does not exist"));
}

TEST_CASE("a regex that does not compile is rejected", "[config][bootstrap]") {
  const std::string message = loadError(bootstrapYaml("backend", "8080", "/v[0-9+/("));
  CHECK_THAT(message, Catch::Contains("routes[0].match.safe_regex.regex: \"/v[0-9+/(\" is not a valid RE2 regex"));
}

TEST_CASE("duplicate listener names are rejected", "[config][bootstrap]") {
  std::string yaml = bootstrapYaml();
  const std::string listener =
      yaml.substr(yaml.find("  - name: main"), yaml.find("  clusters:") - yaml.find("  - name: main"));
  std::string second = listener;
  second.replace(second.find("10000"), 5, "10001");
  yaml.insert(yaml.find("  clusters:"), second);
  auto loaded = loadBootstrapString(yaml, ConfigFormat::kYaml, "test.yaml");
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code == Error::kAlreadyExists);
  CHECK_THAT(loaded.error().message, Catch::EndsWith("static_resources.listeners[1].name: \"main\" is already used by "
                                                     "static_resources.listeners[0]"));
}

TEST_CASE("a field Remora does not implement yet is reported as unsupported", "[config][bootstrap]") {
  std::string yaml = bootstrapYaml();
  yaml.insert(yaml.find("  - name: backend\n") + 18, "    common_lb_config: { zone_aware_lb_config: {} }\n");
  auto loaded = loadBootstrapString(yaml, ConfigFormat::kYaml, "test.yaml");
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code == Error::kUnsupported);
  CHECK_THAT(loaded.error().message,
             Catch::EndsWith("static_resources.clusters[1].common_lb_config.zone_aware_lb_config: not supported by "
                             "remora-proxy"));
}

TEST_CASE("dynamic resources with no control plane named are rejected with the line", "[config][bootstrap]") {
  const std::string yaml = bootstrapYaml() + "dynamic_resources:\n  ads_config: { api_type: GRPC }\n";
  auto loaded = loadBootstrapString(yaml, ConfigFormat::kYaml, "test.yaml");
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code == Error::kInvalidArgument);
  CHECK_THAT(loaded.error().message, Catch::Contains("dynamic_resources.ads_config.grpc_services"));
}

TEST_CASE("a connection manager whose last HTTP filter is not the router is rejected", "[config][bootstrap]") {
  std::string yaml = bootstrapYaml();
  const size_t filters = yaml.find("          http_filters:\n");
  yaml.replace(filters, yaml.find("  clusters:") - filters, "          http_filters: []\n");
  const std::string message = loadError(yaml);
  CHECK_THAT(message, Catch::Contains("static_resources.listeners[0].filter_chains[0].filters[0].typed_config."
                                      "http_filters: must end with the envoy.filters.http.router filter"));
}

TEST_CASE("malformed YAML is reported with the file and line number", "[config][bootstrap]") {
  const std::string message = loadError("static_resources:\n  listeners:\n  - name: [unclosed\n  clusters: []\n");
  CHECK_THAT(message, Catch::StartsWith("test.yaml:4:"));
  CHECK_THAT(message, Catch::Contains("malformed YAML"));
}

TEST_CASE("an @type that Remora does not know is rejected naming it", "[config][bootstrap]") {
  std::string yaml = bootstrapYaml();
  const std::string router = "envoy.extensions.filters.http.router.v3.Router";
  yaml.replace(yaml.find(router), router.size(), "envoy.extensions.filters.http.lua.v3.Lua");
  const std::string message = loadError(yaml);
  CHECK_THAT(message, Catch::StartsWith("test.yaml:22: static_resources.listeners[0].filter_chains[0].filters[0]."
                                        "typed_config.http_filters[0].typed_config.@type: "
                                        "\"type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua\" is not a "
                                        "type remora-proxy knows"));
}

TEST_CASE("a known @type in the wrong place is rejected naming it", "[config][bootstrap]") {
  std::string yaml = bootstrapYaml();
  const std::string router = "envoy.extensions.filters.http.router.v3.Router";
  yaml.replace(yaml.find(router), router.size(), "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector");
  const std::string message = loadError(yaml);
  CHECK_THAT(message, Catch::Contains("http_filters[0].typed_config: not supported by remora-proxy (HTTP filter "
                                      "@type type.googleapis.com/envoy.extensions.filters.listener.tls_inspector"));
}

TEST_CASE("a file that cannot be read is an I/O error naming it", "[config][bootstrap]") {
  auto loaded = loadBootstrapFile("/nonexistent/remora/bootstrap.yaml");
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code == Error::kIo);
  CHECK_THAT(loaded.error().message, Catch::StartsWith("/nonexistent/remora/bootstrap.yaml: cannot open"));
}

TEST_CASE("validate summarises a good file and names the field of a bad one", "[config][bootstrap]") {
  auto ok = remora::config::validateBootstrapFile(kBasic);
  REQUIRE(ok);
  CHECK_THAT(*ok, Catch::EndsWith("basic.yaml: OK (2 listener(s), 2 cluster(s))"));

  char path[] = "/tmp/remora-bootstrap-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << bootstrapYaml("backend", "0");
  auto bad = remora::config::validateBootstrapFile(path);
  std::remove(path);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::StartsWith(std::string(path) + ":39: "));
  CHECK_THAT(bad.error().message, Catch::EndsWith("port_value: 0 is out of range 1..65535"));
}

TEST_CASE("a value of the wrong type inside an Any is named with its full path", "[config][bootstrap]") {
  std::string yaml = bootstrapYaml();
  yaml.insert(yaml.find("          stat_prefix: http\n"), "          max_request_headers_kb: lots\n");
  const std::string message = loadError(yaml);
  CHECK(message ==
        "test.yaml:11: static_resources.listeners[0].filter_chains[0].filters[0].typed_config."
        "max_request_headers_kb: \"lots\" is not an integer in 0..4294967295");
}

TEST_CASE("an unknown enum value lists the allowed ones", "[config][bootstrap]") {
  std::string yaml = bootstrapYaml();
  yaml.insert(yaml.find("  - name: backend\n") + 18, "    type: STRICT_DNSS\n");
  const std::string message = loadError(yaml);
  CHECK_THAT(message, Catch::EndsWith("static_resources.clusters[1].type: \"STRICT_DNSS\" is not one of STATIC, "
                                      "STRICT_DNS, LOGICAL_DNS, EDS, ORIGINAL_DST"));
}

TEST_CASE("JSON input reports protobuf's errors with the field path", "[config][bootstrap]") {
  auto loaded = loadBootstrapString(R"({"admin": {"address": {"socket_address": {"port_value": "x"}}}})",
                                    ConfigFormat::kJson, "b.json");
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().message ==
        "b.json: admin.address.socket_address.port_value: \"x\" is not an integer in "
        "0..4294967295");
}

TEST_CASE("a quoted number is accepted for a number field and a plain one for a string field", "[config][bootstrap]") {
  std::string yaml = bootstrapYaml("backend", "\"8080\"");
  yaml.replace(yaml.find("name: other"), 11, "name: 123");
  auto loaded = loadBootstrapString(yaml, ConfigFormat::kYaml, "test.yaml");
  INFO((loaded ? std::string() : loaded.error().message));
  REQUIRE(loaded);
  CHECK(loaded->bootstrap.clusters[0].name == "123");
  CHECK(loaded->bootstrap.clusters[1].endpoints[2].address.port == 8080);
}

namespace {

// bootstrapYaml() with `hcm_extra` (indented for the connection manager's
// typed_config) inserted after its stat_prefix.
std::string observedYaml(const std::string& hcm_extra) {
  std::string yaml = bootstrapYaml();
  const std::string anchor = "          stat_prefix: http\n";
  yaml.insert(yaml.find(anchor) + anchor.size(), hcm_extra);
  return yaml;
}

}  // namespace

TEST_CASE("YAML tracing and access_log blocks in Envoy's shape load", "[config][bootstrap]") {
  auto loaded = loadBootstrapString(observedYaml(R"(          tracing:
            random_sampling: { value: 5 }
            provider:
              name: envoy.tracers.zipkin
              typed_config:
                "@type": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig
                collector_cluster: other
                collector_endpoint: /api/v2/spans
                collector_endpoint_version: HTTP_JSON
          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: /tmp/remora-access.log
              log_format: { json_format: { code: "%RESPONSE_CODE%" } }
)"),
                                    ConfigFormat::kYaml, "test.yaml");
  INFO((loaded ? "" : loaded.error().message));
  REQUIRE(loaded);
  const auto& manager = std::get<model::HttpConnectionManager>(loaded->bootstrap.listeners[0].filter_chains[0].filter);
  REQUIRE(manager.tracing);
  CHECK(manager.tracing->sampling == Approx(0.05));
  CHECK(manager.tracing->provider.format == model::TracingProvider::Format::kZipkinJson);
  CHECK(manager.tracing->provider.cluster == "other");
  REQUIRE(manager.access_logs.size() == 1);
  CHECK(manager.access_logs[0] == model::AccessLog{model::AccessLog::Format::kJson, "/tmp/remora-access.log"});
}

TEST_CASE("a refused tracing field in YAML names its line and path", "[config][bootstrap]") {
  const std::string message = loadError(observedYaml(R"(          tracing:
            provider:
              name: envoy.tracers.zipkin
              typed_config:
                "@type": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig
                collector_cluster: other
                collector_endpoint_version: GRPC
)"));
  CHECK(message ==
        "test.yaml:18: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.tracing.provider."
        "typed_config.collector_endpoint_version: not supported by remora-proxy (GRPC; supported: HTTP_JSON)");
}
