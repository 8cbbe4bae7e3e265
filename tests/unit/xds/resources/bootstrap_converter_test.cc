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

TEST_CASE("EDS clusters and top-level extras are unsupported in a bootstrap without ADS", "[xds][resources][bootstrap]") {
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
      R"({"node": {"id": "n", "cluster": "k", "locality": {"region": "r", "zone": "z", "sub_zone": "s"}},
          "admin": {"access_log_path": "/dev/null",
          "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}}})"));
  REQUIRE(b);
  CHECK(b->node.id == "n");
  CHECK(b->node.locality == Locality{"r", "z", "s"});
  CHECK(b->admin.address.port == 0);
  auto log = toBootstrap(protoFromJson<BootstrapProto>(R"({"admin": {"access_log_path": "/var/log/admin.log"}})"));
  REQUIRE_FALSE(log);
  CHECK(log.error().code == Error::kUnsupported);
}

namespace {

// An ADS bootstrap in Envoy's shape; `dynamic` replaces dynamic_resources'
// body, `xds_cluster` the ADS cluster, `extra` adds top-level fields.
std::string adsBootstrap(const std::string& dynamic, const std::string& extra = "",
                         const std::string& xds_cluster = R"({"name": "xds_cluster", "type": "STATIC",
      "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": {"http2_protocol_options": {}}}},
      "load_assignment": {"cluster_name": "xds_cluster", "endpoints": [{"lb_endpoints": [{"endpoint": {"address":
        {"socket_address": {"address": "127.0.0.1", "port_value": 15010}}}}]}]}})") {
  return R"({"node": {"id": "sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local", "cluster": "svc",
      "metadata": {"REMORA_SERVICE": "svc", "APP_PORTS": "8080"}, "locality": {"region": "r"}},
      "dynamic_resources": )" + dynamic + R"(, "static_resources": {"clusters": [)" + xds_cluster + "]}" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

constexpr const char* kAdsDynamic = R"({
    "ads_config": {"api_type": "GRPC", "transport_api_version": "V3",
                   "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}]},
    "lds_config": {"ads": {}, "resource_api_version": "V3"},
    "cds_config": {"ads": {}, "resource_api_version": "V3", "initial_fetch_timeout": "3s"}})";

std::string dynamicError(const std::string& dynamic) {
  auto b = toBootstrap(protoFromJson<BootstrapProto>(adsBootstrap(dynamic)));
  REQUIRE_FALSE(b);
  return b.error().message;
}

std::string clusterError(const std::string& xds_cluster) {
  auto b = toBootstrap(protoFromJson<BootstrapProto>(adsBootstrap(kAdsDynamic, "", xds_cluster)));
  REQUIRE_FALSE(b);
  return b.error().message;
}

}  // namespace

TEST_CASE("an ADS bootstrap in Envoy's shape is accepted with its node", "[xds][resources][bootstrap]") {
  auto b = toBootstrap(protoFromJson<BootstrapProto>(adsBootstrap(kAdsDynamic)));
  INFO((b ? "" : b.error().message));
  REQUIRE(b);
  REQUIRE(b->dynamic);
  CHECK(b->dynamic->api_type == DynamicResources::ApiType::kSotw);
  CHECK(b->dynamic->ads_cluster == "xds_cluster");
  CHECK(b->dynamic->lds);
  CHECK(b->dynamic->cds);
  CHECK(b->dynamic->initial_fetch_timeout == Millis(3000));
  CHECK(b->node.id == "sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local");
  CHECK(b->node.cluster == "svc");

  auto delta = toBootstrap(protoFromJson<BootstrapProto>(adsBootstrap(R"({"ads_config": {"api_type": "DELTA_GRPC",
      "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}]}, "lds_config": {"ads": {}}})")));
  REQUIRE(delta);
  CHECK(delta->dynamic->api_type == DynamicResources::ApiType::kDelta);
  CHECK(delta->dynamic->lds);
  CHECK_FALSE(delta->dynamic->cds);
  CHECK(delta->dynamic->initial_fetch_timeout == Millis(15000));

  auto none = toBootstrap(BootstrapProto());
  REQUIRE(none);
  CHECK_FALSE(none->dynamic);
}

TEST_CASE("the ADS cluster accepts the legacy http2_protocol_options", "[xds][resources][bootstrap]") {
  auto b = toBootstrap(protoFromJson<BootstrapProto>(adsBootstrap(kAdsDynamic, "", R"({"name": "xds_cluster",
      "http2_protocol_options": {}, "load_assignment": {"endpoints": [{"lb_endpoints": [{"endpoint": {"address":
      {"socket_address": {"address": "127.0.0.1", "port_value": 15010}}}}]}]}})")));
  INFO((b ? "" : b.error().message));
  CHECK(b);
}

TEST_CASE("dynamic_resources needs node.id", "[xds][resources][bootstrap]") {
  auto b = toBootstrap(protoFromJson<BootstrapProto>(R"({"dynamic_resources": {"ads_config": {"api_type": "GRPC",
      "grpc_services": [{"envoy_grpc": {"cluster_name": "x"}}]}}})"));
  REQUIRE_FALSE(b);
  CHECK(b.error().code == Error::kInvalidArgument);
  CHECK(b.error().message == "node.id: required with dynamic_resources");
}

TEST_CASE("dynamic_resources other than ADS over gRPC are refused with their field", "[xds][resources][bootstrap]") {
  CHECK(dynamicError(R"({"lds_config": {"ads": {}}})") ==
        "dynamic_resources.ads_config: is required (remora-proxy supports ADS only)");
  CHECK(dynamicError(R"({"ads_config": {"grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}]}})") ==
        "dynamic_resources.ads_config.api_type: is required (GRPC or DELTA_GRPC)");
  CHECK(dynamicError(R"({"ads_config": {"api_type": "REST", "cluster_names": ["xds_cluster"]}})") ==
        "dynamic_resources.ads_config.cluster_names: not supported by remora-proxy");
  CHECK(dynamicError(R"({"ads_config": {"api_type": "REST"}})") ==
        "dynamic_resources.ads_config.api_type: not supported by remora-proxy (REST; supported: GRPC, DELTA_GRPC)");
  CHECK(dynamicError(R"({"ads_config": {"api_type": "GRPC", "transport_api_version": "V2",
      "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}]}})") ==
        "dynamic_resources.ads_config.transport_api_version: not supported by remora-proxy (xDS v2)");
  CHECK(dynamicError(R"({"ads_config": {"api_type": "GRPC"}})") ==
        "dynamic_resources.ads_config.grpc_services: must name exactly one control plane (one envoy_grpc cluster)");
  CHECK(dynamicError(R"({"ads_config": {"api_type": "GRPC", "grpc_services": [{"envoy_grpc": {}}]}})") ==
        "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: is required");
  CHECK(dynamicError(R"({"ads_config": {"api_type": "GRPC", "grpc_services": [{"timeout": "1s"}]}})") ==
        "dynamic_resources.ads_config.grpc_services[0].timeout: not supported by remora-proxy");

  const std::string ads = R"("ads_config": {"api_type": "GRPC", "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}]})";
  CHECK(dynamicError("{" + ads + R"(, "lds_config": {"api_config_source": {"api_type": "GRPC"}}})") ==
        "dynamic_resources.lds_config.api_config_source: not supported by remora-proxy");
  CHECK(dynamicError("{" + ads + R"(, "cds_config": {"resource_api_version": "V3"}})") ==
        "dynamic_resources.cds_config: must be {ads: {}} (remora-proxy fetches resources over ADS only)");
  CHECK(dynamicError("{" + ads + R"(, "cds_config": {"ads": {}, "resource_api_version": "V2"}})") ==
        "dynamic_resources.cds_config.resource_api_version: not supported by remora-proxy (xDS v2)");
}

TEST_CASE("the ADS cluster must be a static HTTP/2 cluster with endpoints", "[xds][resources][bootstrap]") {
  const std::string path = "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: ";
  auto missing = toBootstrap(protoFromJson<BootstrapProto>(adsBootstrap(kAdsDynamic, "", R"({"name": "other"})")));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Error::kNotFound);
  CHECK(missing.error().message == path + "cluster \"xds_cluster\" does not exist in static_resources.clusters");
  CHECK(clusterError(R"({"name": "xds_cluster", "http2_protocol_options": {}})") ==
        path + "cluster \"xds_cluster\" must have at least one endpoint in load_assignment");
  CHECK(clusterError(R"({"name": "xds_cluster", "load_assignment": {"endpoints": [{"lb_endpoints": [{"endpoint":
      {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 15010}}}}]}]}})") ==
        path +
            "cluster \"xds_cluster\" must speak HTTP/2 (gRPC): set typed_extension_protocol_options "
            "explicit_http_config.http2_protocol_options, or http2_protocol_options");
  CHECK(clusterError(R"({"name": "xds_cluster", "type": "EDS", "http2_protocol_options": {},
      "eds_cluster_config": {"eds_config": {"ads": {}}}})") ==
        path + "cluster \"xds_cluster\" must be type STATIC (it carries the xDS stream itself)");
}

TEST_CASE("with ADS, static EDS clusters and RDS listeners are allowed and CDS clusters may be named",
          "[xds][resources][bootstrap]") {
  const std::string listeners = R"("static_resources": {"clusters": [{"name": "xds_cluster",
      "http2_protocol_options": {}, "load_assignment": {"endpoints": [{"lb_endpoints": [{"endpoint": {"address":
      {"socket_address": {"address": "127.0.0.1", "port_value": 15010}}}}]}]}},
      {"name": "eds", "type": "EDS", "eds_cluster_config": {"eds_config": {"ads": {}}}}],
    "listeners": [)" + tcpListener("tcp", 0, "from_cds") + R"(,
      {"name": "http", "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
       "filter_chains": [{"filters": [{"name": "hcm", "typed_config": {
         "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
         "stat_prefix": "h", "rds": {"route_config_name": "routes", "config_source": {"ads": {}}},
         "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
           "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]}]})";
  auto with_cds = toBootstrap(protoFromJson<BootstrapProto>(
      R"({"node": {"id": "n"}, "dynamic_resources": )" + std::string(kAdsDynamic) + ", " + listeners + "}"));
  INFO((with_cds ? "" : with_cds.error().message));
  REQUIRE(with_cds);
  CHECK(with_cds->clusters.size() == 2);
  CHECK(with_cds->clusters[1].type == Cluster::DiscoveryType::kEds);
  REQUIRE(with_cds->listeners.size() == 2);
  CHECK(std::get<HttpConnectionManager>(with_cds->listeners[1].filter_chains[0].filter).rds_route_config_name ==
        "routes");

  // Without CDS, a cluster a static listener names must be static.
  auto lds_only = toBootstrap(protoFromJson<BootstrapProto>(
      R"({"node": {"id": "n"}, "dynamic_resources": {"ads_config": {"api_type": "GRPC",
          "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}]}, "lds_config": {"ads": {}}}, )" +
      listeners + "}"));
  REQUIRE_FALSE(lds_only);
  CHECK(lds_only.error().code == Error::kNotFound);
  CHECK_THAT(lds_only.error().message, Catch::Contains("\"from_cds\" does not exist"));

  // Without dynamic_resources, RDS is refused.
  auto no_ads = toBootstrap(protoFromJson<BootstrapProto>(R"({"static_resources": {"listeners": [
      {"name": "http", "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
       "filter_chains": [{"filters": [{"name": "hcm", "typed_config": {
         "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
         "stat_prefix": "h", "rds": {"route_config_name": "routes", "config_source": {"ads": {}}},
         "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
           "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]}]}})"));
  REQUIRE_FALSE(no_ads);
  CHECK(no_ads.error().message ==
        "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.rds: not supported by remora-proxy "
        "(needs dynamic_resources.ads_config (an ADS stream to fetch it over))");
}

TEST_CASE("the ADS cluster verifies the control plane with roots it already has", "[xds][resources][bootstrap]") {
  const std::string path = "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: ";
  auto xds = [](const std::string& validation) {
    return R"({"name": "xds_cluster", "http2_protocol_options": {}, "load_assignment": {"endpoints": [{"lb_endpoints":
        [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 15010}}}}]}]},
        "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
          "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
          "common_tls_context": {"tls_certificate_sds_secret_configs": [{"name": "default"}], )" +
           validation + "}}}}";
  };
  auto ok = toBootstrap(protoFromJson<BootstrapProto>(
      adsBootstrap(kAdsDynamic, "", xds(R"("validation_context": {"trusted_ca": {"filename": "/etc/remora/root.pem"}})"))));
  INFO((ok ? std::string() : ok.error().message));
  REQUIRE(ok);
  REQUIRE(ok->clusters[0].tls);
  CHECK(ok->clusters[0].tls->validation->trusted_ca_file == "/etc/remora/root.pem");
  CHECK(clusterError(xds(R"("validation_context_sds_secret_config": {"name": "ROOTCA", "sds_config": {"ads": {}}})")) ==
        path + "cluster \"xds_cluster\" must not use secret \"ROOTCA\" from ADS alone for its own TLS: also name "
               "trusted_ca (a file or inline PEM) to verify the control plane with until it arrives");
  // With roots of its own beside the secret, the stream can start and later
  // trust a rotated bundle.
  auto combined = toBootstrap(protoFromJson<BootstrapProto>(adsBootstrap(
      kAdsDynamic, "",
      xds(R"("combined_validation_context": {"default_validation_context": {"trusted_ca": {"filename": "/r.pem"}},
             "validation_context_sds_secret_config": {"name": "ROOTCA", "sds_config": {"ads": {}}}})"))));
  INFO((combined ? std::string() : combined.error().message));
  CHECK(combined);
}

TEST_CASE("without ADS, a TLS context may not wait for a secret over ADS", "[xds][resources][bootstrap]") {
  auto b = toBootstrap(protoFromJson<BootstrapProto>(R"({"static_resources": {"clusters": [{"name": "c",
      "transport_socket": {"typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "common_tls_context": {"validation_context_sds_secret_config": {"name": "ROOTCA", "sds_config": {"ads": {}}}}}}}]}})"));
  REQUIRE_FALSE(b);
  CHECK(b.error().message ==
        "static_resources.clusters[0].transport_socket: not supported by remora-proxy (secret \"ROOTCA\" needs "
        "dynamic_resources.ads_config (an ADS stream to fetch it over))");
}

namespace {

// A bootstrap with one HTTP listener whose connection manager adds `hcm_extra`.
std::string observedBootstrap(const std::string& hcm_extra, const std::string& clusters = R"({"name": "c"})") {
  return R"({"static_resources": {"clusters": [)" + clusters + R"(], "listeners": [{
      "name": "inbound", "traffic_direction": "INBOUND",
      "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
      "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "in", "http_filters": [{"name": "envoy.filters.http.router"}],
        "route_config": {"virtual_hosts": [{"name": "v", "domains": ["*"],
          "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "c"}}]}]}, )" +
         hcm_extra + "}}]}]}]}}";
}

constexpr const char* kOtlpTracing = R"("tracing": {"random_sampling": {"value": 10}, "provider": {
    "name": "envoy.tracers.opentelemetry", "typed_config": {
      "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig", "service_name": "shop",
      "http_service": {"http_uri": {"uri": "http://collector:4318/v1/traces", "cluster": "otel",
                                    "timeout": "1s"}}}}})";

}  // namespace

TEST_CASE("a bootstrap with tracing, access logs and a direction converts", "[xds][resources][bootstrap]") {
  auto b = toBootstrap(protoFromJson<BootstrapProto>(observedBootstrap(
      std::string(kOtlpTracing) + R"(, "access_log": [{"name": "envoy.access_loggers.stdout", "typed_config": {
          "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
          "log_format": {"json_format": {"status": "%RESPONSE_CODE%"}}}}])",
      R"({"name": "c"}, {"name": "otel"})")));
  INFO((b ? "" : b.error().message));
  REQUIRE(b);
  REQUIRE(b->listeners.size() == 1);
  const Listener& listener = b->listeners[0];
  CHECK(listener.direction == Listener::Direction::kInbound);
  const auto& manager = std::get<HttpConnectionManager>(listener.filter_chains[0].filter);
  REQUIRE(manager.tracing);
  CHECK(manager.tracing->sampling == Approx(0.1));
  CHECK(manager.tracing->provider.cluster == "otel");
  CHECK(manager.tracing->provider.authority == "collector:4318");
  CHECK(manager.tracing->provider.service_name == "shop");
  REQUIRE(manager.access_logs.size() == 1);
  CHECK(manager.access_logs[0].format == AccessLog::Format::kJson);
  CHECK(manager.access_logs[0].path == "/dev/stdout");
}

TEST_CASE("a tracing collector cluster must exist in the bootstrap", "[xds][resources][bootstrap]") {
  auto b = toBootstrap(protoFromJson<BootstrapProto>(observedBootstrap(kOtlpTracing)));
  REQUIRE_FALSE(b);
  CHECK(b.error().code == Error::kNotFound);
  CHECK(b.error().message ==
        "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.tracing.provider.typed_config."
        "http_service.http_uri.cluster: cluster \"otel\" does not exist in static_resources.clusters");
}

TEST_CASE("a malformed access log in a bootstrap names its field from the root", "[xds][resources][bootstrap]") {
  auto b = toBootstrap(protoFromJson<BootstrapProto>(observedBootstrap(
      R"("access_log": [{"name": "envoy.access_loggers.file", "filter": {"status_code_filter": {"comparison":
          {"op": "GE", "value": {"default_value": 500, "runtime_key": "k"}}}}, "typed_config": {
          "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog", "path": "/tmp/a"}}])")));
  REQUIRE_FALSE(b);
  CHECK(b.error().code == Error::kUnsupported);
  CHECK(b.error().message.starts_with(
      "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.access_log[0].filter: not supported"));
}
