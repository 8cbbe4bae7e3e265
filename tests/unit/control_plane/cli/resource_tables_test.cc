#include "control-plane/cli/resource_tables.h"

#include <catch2/catch.hpp>

namespace remora::cli {

namespace {

JsonList items(const char* json_array) {
  auto value = parseJson(json_array);
  REQUIRE(value);
  return value->list_value().values();
}

TimePoint at(const char* rfc3339) { return *parseTimestamp(rfc3339); }

constexpr const char* kNow = "2024-05-01T12:10:00Z";

}  // namespace

TEST_CASE("the services table shows ports with protocol and target port, and age", "[cli][tables]") {
  const std::string table = objectTable(*kindFromName("Service"), items(R"([
    {"kind":"Service","metadata":{"name":"reviews","namespace":"default","creationTimestamp":"2024-05-01T12:09:15Z"},
     "spec":{"ports":[{"name":"http","port":9080},{"name":"grpc","port":80,"targetPort":8080,"protocol":"GRPC"}]}},
    {"kind":"Service","metadata":{"name":"db","namespace":"shop","creationTimestamp":"2024-04-29T12:10:00Z"},
     "spec":{}}])"),
                                        at(kNow));
  CHECK(table ==
        "NAMESPACE   NAME      PORTS                    AGE\n"
        "default     reviews   9080/http,80:8080/grpc   45s\n"
        "shop        db        <none>                   2d\n");
}

TEST_CASE("the endpoints table fills in documented defaults", "[cli][tables]") {
  const std::string table = objectTable(*kindFromName("Endpoint"), items(R"([
    {"metadata":{"name":"r1","namespace":"default"},
     "spec":{"service":"reviews","address":"10.0.0.1","port":8080,"locality":{"zone":"eu-1a"},"weight":5,
             "health":"DRAINING"}},
    {"metadata":{"name":"r2","namespace":"default"},
     "spec":{"service":"reviews","address":"10.0.0.2","portName":"http"}}])"),
                                        at(kNow));
  CHECK(table ==
        "NAMESPACE   NAME   SERVICE   ADDRESS    PORT   ZONE     WEIGHT   HEALTH\n"
        "default     r1     reviews   10.0.0.1   8080   eu-1a    5        DRAINING\n"
        "default     r2     reviews   10.0.0.2   http   <none>   1        HEALTHY\n");
}

TEST_CASE("policies and rules show the service they apply to", "[cli][tables]") {
  for (const char* kind : {"RouteRule", "AuthorizationPolicy"}) {
    INFO(kind);
    const std::string table = objectTable(*kindFromName(kind), items(R"([
      {"metadata":{"name":"p","namespace":"default","creationTimestamp":"2024-05-01T12:00:00Z"},
       "spec":{"service":"reviews"}}])"),
                                          at(kNow));
    CHECK(table ==
          "NAMESPACE   NAME   SERVICE   AGE\n"
          "default     p      reviews   10m\n");
  }
}

TEST_CASE("the traffic policies table summarises balancer, retries, budget, outlier detection and health check",
          "[cli][tables]") {
  const std::string table = objectTable(*kindFromName("TrafficPolicy"), items(R"([
    {"metadata":{"name":"plain","namespace":"default","creationTimestamp":"2024-05-01T12:00:00Z"},
     "spec":{"service":"reviews"}},
    {"metadata":{"name":"sticky","namespace":"shop","creationTimestamp":"2024-05-01T12:09:00Z"},
     "spec":{"service":"cart","loadBalancer":"RING_HASH","hashOn":{"header":"x-user"},
             "retries":{"attempts":3,"retryOn":["5xx","reset"],"hedge":true,"perTryTimeout":"1s",
                        "budget":{"percent":35}},
             "outlierDetection":{"consecutive5xx":3},"healthCheck":{"path":"/healthz"}}},
    {"metadata":{"name":"off","namespace":"shop","creationTimestamp":"2024-05-01T12:09:00Z"},
     "spec":{"service":"db","loadBalancer":"PEAK_EWMA","retries":{"disabled":true,"budget":{"disabled":true}},
             "outlierDetection":{"disabled":true},"healthCheck":{"grpc":{"serviceName":"db"}}}}])"),
                                        at(kNow));
  CHECK(table ==
        "NAMESPACE   NAME     SERVICE   LB                         RETRIES               BUDGET   OUTLIER   "
        "HEALTH CHECK    AGE\n"
        "default     plain    reviews   ROUND_ROBIN                default               20%      default   "
        "-               10m\n"
        "shop        sticky   cart      RING_HASH(header x-user)   3x 5xx,reset +hedge   35%      custom    "
        "http /healthz   60s\n"
        "shop        off      db        PEAK_EWMA                  off                   off      off       "
        "grpc db         60s\n");
}

TEST_CASE("an xDS type cell says ACKED, NACKED or STALE with versions", "[cli][tables]") {
  auto cell = [](const char* json) {
    auto value = parseJson(json);
    REQUIRE(value);
    return xdsTypeCell(&*value);
  };
  CHECK(xdsTypeCell(nullptr) == "-");
  CHECK(cell(R"({"version_sent":"7","version_acked":"7","last_nack":null})") == "ACKED 7");
  CHECK(cell(R"({"version_sent":"8","version_acked":"7","last_nack":{"version":"8","error":"bad"}})") ==
        "NACKED 8");
  CHECK(cell(R"({"version_sent":"8","version_acked":"7","last_nack":{"version":"6","error":"old"}})") ==
        "STALE 7 (sent 8)");
  CHECK(cell(R"({"version_sent":"1","version_acked":"","last_nack":null})") == "STALE (sent 1)");
  // An ACK of the version sent supersedes an older NACK of it.
  CHECK(cell(R"({"version_sent":"8","version_acked":"8","last_nack":{"version":"8","error":"x"}})") == "ACKED 8");
}

TEST_CASE("proxy-status lists each proxy with its replica and then each NACK's error", "[cli][tables]") {
  const std::string table = proxyStatusTable(items(R"([
    {"replica":"cp-0","node_id":"sidecar-1","cluster":"reviews","last_seen":"2024-05-01T12:09:58Z","types":{
      "type.googleapis.com/envoy.config.listener.v3.Listener":{"version_sent":"3","version_acked":"3","last_nack":null},
      "type.googleapis.com/envoy.config.cluster.v3.Cluster":{"version_sent":"4","version_acked":"3",
        "last_nack":{"version":"4","nonce":"n","error":"cluster x: bad timeout","time":"2024-05-01T12:09:58Z"}}}},
    {"node_id":"grpc-client","cluster":"","metadata":{},"last_seen":"2024-05-01T12:07:00Z","types":{}}])"),
                                             at(kNow));
  CHECK(table ==
        "NODE          REPLICA   CLUSTER   LDS       RDS   CDS        EDS   LAST SEEN\n"
        "sidecar-1     cp-0      reviews   ACKED 3   -     NACKED 4   -     2s ago\n"
        "grpc-client   <none>    <none>    -         -     -          -     3m ago\n"
        "\n"
        "sidecar-1 CDS NACKED version 4: cluster x: bad timeout\n");
}

TEST_CASE("proxy-status with no proxies is the header only", "[cli][tables]") {
  CHECK(proxyStatusTable(JsonList(), at(kNow)) == "NODE   REPLICA   CLUSTER   LDS   RDS   CDS   EDS   LAST SEEN\n");
}

}  // namespace remora::cli
