#include "control-plane/mesh/validation.h"

#include <catch2/catch.hpp>
#include <string>

namespace remora::cp::mesh {
namespace {

using base::Error;

const char* const kReviews = R"({"kind":"Service","metadata":{"name":"reviews"},
  "spec":{"ports":[{"name":"http","port":9080,"protocol":"HTTP"},{"name":"db","port":5432,"protocol":"TCP"}]}})";

MeshState stateWithReviews() {
  MeshState state;
  auto parsed = parseObject(kReviews);
  REQUIRE(parsed.has_value());
  state.put(std::move(*parsed));
  return state;
}

// The failure's message, after asserting there is one with this code.
std::string failureOf(const base::Result<ParsedObject>& result, Error code = Error::kInvalidArgument) {
  REQUIRE_FALSE(result.has_value());
  INFO(result.error().message);
  CHECK(result.error().code == code);
  return result.error().message;
}

std::string serviceWithPorts(const std::string& ports) {
  return R"({"kind":"Service","metadata":{"name":"web"},"spec":{"ports":)" + ports + "}}";
}

std::string endpointWith(const std::string& spec) {
  return R"({"kind":"Endpoint","metadata":{"name":"web-1"},"spec":)" + spec + "}";
}

std::string routeRuleWith(const std::string& routes) {
  return R"({"kind":"RouteRule","metadata":{"name":"split"},"spec":{"service":"reviews","routes":)" + routes +
         "}}";
}

TEST_CASE("a Service parses, with its namespace defaulted to default", "[mesh][validation]") {
  auto parsed = parseObject(kReviews);
  REQUIRE(parsed.has_value());
  CHECK(parsed->kind() == ObjectKind::kService);
  CHECK(parsed->key() == ObjectKey{"default", "reviews"});
  const auto& service = std::get<v1::ServiceObject>(parsed->object);
  REQUIRE(service.spec().ports_size() == 2);
  CHECK(service.spec().ports(1).protocol() == v1::ServicePort::TCP);
}

TEST_CASE("every kind parses from kubectl-style JSON, camelCase or snake_case", "[mesh][validation]") {
  const MeshState state = stateWithReviews();
  const char* const objects[] = {
      R"({"kind":"Endpoint","apiVersion":"remora.dev/v1","metadata":{"name":"reviews-1","namespace":"default"},
         "spec":{"service":"reviews","address":"10.0.0.7","port":9080,"locality":{"region":"eu","zone":"eu-a"},
                 "weight":3,"health":"DRAINING","labels":{"version":"v2"}}})",
      R"({"kind":"TrafficPolicy","metadata":{"name":"reviews"},
         "spec":{"service":"reviews","loadBalancer":"LEAST_REQUEST","connect_timeout":"0.25s",
                 "requestTimeout":"3s","retries":{"attempts":2,"perTryTimeout":"1s","retryOn":["5xx","reset"]},
                 "outlierDetection":{"consecutive5xx":5,"interval":"10s"},
                 "circuitBreakers":{"maxConnections":100},"healthCheck":{"path":"/healthz","interval":"5s"}}})",
      R"({"kind":"RouteRule","metadata":{"name":"canary"},
         "spec":{"service":"reviews","routes":[{"match":{"pathPrefix":"/api","headers":[{"name":"x-user","exact":"qa"}]},
                 "split":[{"version":"v1","weight":90},{"labels":{"version":"v2"},"weight":10}],"timeout":"2s",
                 "fault":{"abort":{"httpStatus":503,"percent":1.5}}}]}})",
      R"({"kind":"AuthorizationPolicy","metadata":{"name":"reviews"},
         "spec":{"service":"reviews","allow":[{"principals":["spiffe://mesh.local/ns/default/sa/web","shop/api"]}]}})",
  };
  const ObjectKind kinds[] = {ObjectKind::kEndpoint, ObjectKind::kTrafficPolicy, ObjectKind::kRouteRule,
                              ObjectKind::kAuthorizationPolicy};
  for (size_t i = 0; i < 4; ++i) {
    auto parsed = parseObject(objects[i], state);
    INFO(objects[i]);
    INFO((parsed ? std::string() : parsed.error().message));
    REQUIRE(parsed.has_value());
    CHECK(parsed->kind() == kinds[i]);
  }
}

TEST_CASE("an unknown field is refused and named", "[mesh][validation]") {
  auto result = parseObject(R"({"kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":80,"colour":"red"}]}})");
  CHECK(failureOf(result) == "spec.ports[0].colour: unknown field");
  CHECK(failureOf(parseObject(R"({"kind":"Service","metadata":{"name":"web"},"status":{},"spec":{"ports":[{"port":80}]}})")) ==
        "status: unknown field");
}

TEST_CASE("an unknown or missing kind names the supported kinds", "[mesh][validation]") {
  CHECK(failureOf(parseObject(R"({"kind":"Gateway","metadata":{"name":"a"},"spec":{}})")) ==
        "kind: \"Gateway\" is not supported; one of Service, Endpoint, TrafficPolicy, RouteRule, AuthorizationPolicy");
  CHECK_THAT(failureOf(parseObject(R"({"metadata":{"name":"a"}})")), Catch::StartsWith("kind: is required"));
  CHECK_THAT(failureOf(parseObject("{not json")), Catch::StartsWith("malformed JSON"));
}

TEST_CASE("metadata failures name their field", "[mesh][validation]") {
  CHECK_THAT(failureOf(parseObject(R"({"kind":"Service","metadata":{"name":"Web_1"},"spec":{"ports":[{"port":80}]}})")),
             Catch::StartsWith("metadata.name: must be a DNS-1123 label"));
  CHECK(failureOf(parseObject(R"({"kind":"Service","metadata":{},"spec":{"ports":[{"port":80}]}})")) ==
        "metadata.name: is required");
  CHECK_THAT(failureOf(parseObject(
                 R"({"kind":"Service","metadata":{"name":"web","namespace":"-x"},"spec":{"ports":[{"port":80}]}})")),
             Catch::StartsWith("metadata.namespace: must be a DNS-1123 label"));
  CHECK_THAT(failureOf(parseObject(
                 R"({"kind":"Service","metadata":{"name":"web","labels":{"bad key":"v"}},"spec":{"ports":[{"port":80}]}})")),
             Catch::StartsWith("metadata.labels: key \"bad key\""));
  CHECK(failureOf(parseObject(R"({"kind":"Service","metadata":{"name":"web"}})")) == "spec: is required");
}

TEST_CASE("Service failures name the port's field path", "[mesh][validation]") {
  CHECK(failureOf(parseObject(serviceWithPorts(R"([{"name":"a","port":80},{"name":"b","port":70000}])"))) ==
        "spec.ports[1].port: must be 1..65535");
  CHECK(failureOf(parseObject(serviceWithPorts("[]"))) == "spec.ports: at least one port is required");
  CHECK(failureOf(parseObject(serviceWithPorts(R"([{"name":"a","port":80},{"name":"b","port":80}])"))) ==
        "spec.ports[1].port: 80 is listed twice");
  CHECK(failureOf(parseObject(serviceWithPorts(R"([{"port":80},{"name":"b","port":81}])"))) ==
        "spec.ports[0].name: is required when a service has several ports");
  CHECK(failureOf(parseObject(serviceWithPorts(R"([{"port":80,"targetPort":65536}])"))) ==
        "spec.ports[0].target_port: must be 0..65535");
  // An enum value that does not exist is a parse error naming the value.
  CHECK_THAT(failureOf(parseObject(serviceWithPorts(R"([{"port":80,"protocol":"QUIC"}])"))),
             Catch::Contains("QUIC"));
}

TEST_CASE("Endpoint failures name their field", "[mesh][validation]") {
  CHECK(failureOf(parseObject(endpointWith(R"({"service":"web","address":"web.local","port":80})"))) ==
        "spec.address: \"web.local\" is not an IPv4 or IPv6 address");
  CHECK(failureOf(parseObject(endpointWith(R"({"service":"web","address":"10.0.0.1","port":80,"weight":129})"))) ==
        "spec.weight: must be 1..128");
  CHECK_THAT(failureOf(parseObject(endpointWith(R"({"service":"web","address":"10.0.0.1"})"))),
             Catch::StartsWith("spec.port: is required"));
  CHECK(failureOf(parseObject(endpointWith(R"({"address":"10.0.0.1","port":80})"))) == "spec.service: is required");
  CHECK(parseObject(endpointWith(R"({"service":"web","address":"fd00::1","port":80})")).has_value());
}

TEST_CASE("TrafficPolicy failures name their field", "[mesh][validation]") {
  auto policy = [](const std::string& spec) {
    return parseObject(R"({"kind":"TrafficPolicy","metadata":{"name":"p"},"spec":)" + spec + "}");
  };
  CHECK(failureOf(policy(R"({"service":"web","retries":{"attempts":11}})")) == "spec.retries.attempts: must be 0..10");
  CHECK_THAT(failureOf(policy(R"({"service":"web","retries":{"attempts":1,"retryOn":["5xx","sometimes"]}})")),
             Catch::StartsWith("spec.retries.retry_on[1]: \"sometimes\" is not one of"));
  CHECK(failureOf(policy(R"({"service":"web","connectTimeout":"0s"})")) == "spec.connect_timeout: must be more than 0");
  CHECK(failureOf(policy(R"({"service":"web","outlierDetection":{"maxEjectionPercent":101}})")) ==
        "spec.outlier_detection.max_ejection_percent: must be 0..100");
  CHECK(failureOf(policy(R"({"service":"web","healthCheck":{"path":"healthz"}})")) ==
        "spec.health_check.path: must start with '/'");
}

TEST_CASE("RouteRule failures name their field", "[mesh][validation]") {
  CHECK(failureOf(parseObject(routeRuleWith(R"([{"split":[{"version":"v1","weight":90},{"version":"v2","weight":20}]}])"))) ==
        "spec.routes[0].split: weights must sum to 100 (they sum to 110)");
  CHECK(failureOf(parseObject(routeRuleWith(R"([{"match":{"pathPrefix":"api"}}])"))) ==
        "spec.routes[0].match.path_prefix: must start with '/'");
  CHECK_THAT(failureOf(parseObject(routeRuleWith(R"([{},{"match":{"pathRegex":"(unclosed"}}])"))),
             Catch::StartsWith("spec.routes[1].match.path_regex: is not a valid RE2 regex"));
  CHECK(failureOf(parseObject(routeRuleWith(R"([{"match":{"headers":[{"name":"x-a","exact":"1"},{"name":"x-b"}]}}])"))) ==
        "spec.routes[0].match.headers[1]: one of exact, prefix, regex or present is required");
  CHECK(failureOf(parseObject(routeRuleWith(R"([{"split":[{"version":"v1","labels":{"a":"b"},"weight":100}]}])"))) ==
        "spec.routes[0].split[0]: set version or labels, not both");
  CHECK(failureOf(parseObject(routeRuleWith(R"([{"fault":{"abort":{"httpStatus":99}}}])"))) ==
        "spec.routes[0].fault.abort.http_status: must be 200..599");
  CHECK(failureOf(parseObject(routeRuleWith("[]"))) == "spec.routes: at least one route is required");
}

TEST_CASE("AuthorizationPolicy failures name their field", "[mesh][validation]") {
  auto policy = [](const std::string& allow) {
    return parseObject(R"({"kind":"AuthorizationPolicy","metadata":{"name":"p"},"spec":{"service":"web","allow":)" +
                       allow + "}}");
  };
  CHECK_THAT(failureOf(policy(R"([{"principals":["default/web","spiffe://td/ns/default/web"]}])")),
             Catch::StartsWith("spec.allow[0].principals[1]: \"spiffe://td/ns/default/web\" is not a SPIFFE ID"));
  // An empty rule matches every request; a policy without rules admits nobody.
  CHECK(policy(R"([{"principals":[]}])").has_value());
  CHECK(policy("[]").has_value());
  CHECK(failureOf(policy(R"([{"namespaces":["Shop"]}])")) ==
        "spec.allow[0].namespaces[0]: must be a DNS-1123 label (a namespace)");
  CHECK(failureOf(policy(R"([{"trustDomains":["Example.COM"]}])")) ==
        "spec.allow[0].trust_domains[0]: \"Example.COM\" is not a trust domain (lower-case letters, digits, '.', "
        "'-' and '_')");
  CHECK(failureOf(policy(R"([{"ports":[0]}])")) == "spec.allow[0].ports[0]: must be 1..65535");
  CHECK(failureOf(policy(R"([{"paths":["/a*b"]}])")) ==
        "spec.allow[0].paths[0]: \"/a*b\" must be \"/exact\" or \"/prefix*\" (a '*' only at the end)");
  CHECK(failureOf(policy(R"([{"paths":["api"]}])")) ==
        "spec.allow[0].paths[0]: \"api\" must be \"/exact\" or \"/prefix*\" (a '*' only at the end)");
  CHECK(failureOf(policy(R"([{"methods":["get"]}])")) ==
        "spec.allow[0].methods[0]: \"get\" is not an upper-case HTTP method (GET, POST, ...)");
  CHECK(policy(R"([{"principals":["shop/web"],"namespaces":["ops"],"trustDomains":["cluster.local"],
                    "ports":[9080],"paths":["/api/*","/healthz"],"methods":["GET"]}])")
            .has_value());
  auto deny = parseObject(R"({"kind":"AuthorizationPolicy","metadata":{"name":"p"},"spec":{"service":"web",
      "deny":[{"principals":["nope"]}]}})");
  CHECK_THAT(failureOf(deny), Catch::StartsWith("spec.deny[0].principals[0]: \"nope\" is not a SPIFFE ID"));
}

TEST_CASE("a Service's accounts and mTLS mode are checked", "[mesh][validation]") {
  auto service = [](const std::string& extra) {
    return parseObject(R"({"kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":80}],)" + extra + "}}");
  };
  CHECK(service(R"("serviceAccounts":["web","web-canary"],"mtls":"PERMISSIVE")").has_value());
  CHECK(failureOf(service(R"("serviceAccounts":["Web"])")) ==
        "spec.service_accounts[0]: must be a DNS-1123 label (a service account)");
  CHECK(failureOf(service(R"("serviceAccounts":["web","web"])")) == "spec.service_accounts[1]: \"web\" is listed twice");
}

TEST_CASE("a Service's addresses are IP literals, each listed once", "[mesh][validation]") {
  auto service = [](const std::string& addresses) {
    return parseObject(R"({"kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":80}],"addresses":)" +
                       addresses + "}}");
  };
  auto parsed = service(R"(["10.96.0.10","fd00:10:96::a"])");
  REQUIRE(parsed.has_value());
  CHECK(std::get<v1::ServiceObject>(parsed->object).spec().addresses_size() == 2);
  CHECK(failureOf(service(R"(["10.96.0.10","reviews.default"])")) ==
        "spec.addresses[1]: \"reviews.default\" is not an IPv4 or IPv6 address");
  CHECK(failureOf(service(R"(["10.96.0.0/16"])")) == "spec.addresses[0]: \"10.96.0.0/16\" is not an IPv4 or IPv6 address");
  CHECK(failureOf(service(R"(["10.96.0.10","10.96.0.10"])")) == "spec.addresses[1]: \"10.96.0.10\" is listed twice");
  // Two spellings of one IPv6 address are one address.
  CHECK(failureOf(service(R"(["fd00::a","fd00:0:0::a"])")) == "spec.addresses[1]: \"fd00:0:0::a\" is listed twice");
}

TEST_CASE("references to a missing service are kNotFound and name the service", "[mesh][validation]") {
  const MeshState state = stateWithReviews();
  auto result = parseObject(
      R"({"kind":"RouteRule","metadata":{"name":"r","namespace":"shop"},"spec":{"service":"reviews","routes":[{}]}})",
      state);
  CHECK(failureOf(result, Error::kNotFound) == "spec.service: service 'shop/reviews' does not exist");
  auto endpoint = parseObject(endpointWith(R"({"service":"ratings","address":"10.0.0.1","port":80})"), state);
  CHECK(failureOf(endpoint, Error::kNotFound) == "spec.service: service 'default/ratings' does not exist");
}

TEST_CASE("an endpoint's port must match a port of its service", "[mesh][validation]") {
  const MeshState state = stateWithReviews();
  CHECK(failureOf(parseObject(endpointWith(R"({"service":"reviews","address":"10.0.0.1","portName":"grpc"})"),
                              state)) == "spec.port_name: service 'default/reviews' has no port named \"grpc\"");
  CHECK_THAT(failureOf(parseObject(endpointWith(R"({"service":"reviews","address":"10.0.0.1","port":8080})"),
                                   state)),
             Catch::StartsWith("spec.port: 8080 is not a target port of service 'default/reviews'"));
  CHECK(parseObject(endpointWith(R"({"service":"reviews","address":"10.0.0.1","port":9080})"), state).has_value());
  CHECK(parseObject(endpointWith(R"({"service":"reviews","address":"10.0.0.1","portName":"db"})"), state).has_value());
}

TEST_CASE("a RouteRule for a service with only TCP ports is refused", "[mesh][validation]") {
  MeshState state;
  auto db = parseObject(R"({"kind":"Service","metadata":{"name":"db"},"spec":{"ports":[{"port":5432,"protocol":"TCP"}]}})");
  REQUIRE(db.has_value());
  state.put(std::move(*db));
  auto result = parseObject(
      R"({"kind":"RouteRule","metadata":{"name":"r"},"spec":{"service":"db","routes":[{}]}})", state);
  CHECK_THAT(failureOf(result), Catch::StartsWith("spec.service: service 'default/db' has only TCP ports"));
}

TEST_CASE("MeshState replaces an object by kind, namespace and name, and removes it", "[mesh][validation]") {
  MeshState state = stateWithReviews();
  auto again = parseObject(R"({"kind":"Service","metadata":{"name":"reviews"},"spec":{"ports":[{"port":1}]}})");
  REQUIRE(again.has_value());
  state.put(std::move(*again));
  REQUIRE(state.services().size() == 1);
  CHECK(state.findService("default", "reviews")->spec().ports(0).port() == 1);
  CHECK(state.remove(ObjectKind::kService, ObjectKey{"default", "reviews"}));
  CHECK_FALSE(state.remove(ObjectKind::kService, ObjectKey{"default", "reviews"}));
  CHECK(state.findService("default", "reviews") == nullptr);
}

}  // namespace
}  // namespace remora::cp::mesh
