#include "control-plane/cli/pod_settings.h"

#include <catch2/catch.hpp>

namespace remora::cli {
namespace {

JsonValue json(const std::string& text) {
  auto value = parseJson(text);
  REQUIRE(value.has_value());
  return *value;
}

std::string errorOf(const std::string& metadata, const std::string& spec, const std::string& path = "spec.template") {
  const JsonValue m = json(metadata);
  auto result = readPodSettings(&m, json(spec), "workload", path);
  REQUIRE_FALSE(result.has_value());
  return result.error().message;
}

const std::string kSpec = R"({"containers": [{"name": "a", "image": "b",
  "ports": [{"containerPort": 9080}, {"containerPort": 53, "protocol": "UDP"}, {"containerPort": 9080},
            {"containerPort": 9090, "protocol": "TCP"}]}]})";

TEST_CASE("app ports default to the TCP containerPorts, in order, once each", "[inject][settings]") {
  const JsonValue metadata = json("{}");
  auto settings = readPodSettings(&metadata, json(kSpec), "w", "spec.template");
  REQUIRE(settings.has_value());
  CHECK(settings->app_ports == std::vector<uint16_t>{9080, 9090});
  CHECK(settings->service == "w");
  CHECK(settings->service_account == "default");
}

TEST_CASE("the app-ports annotation replaces the containerPorts", "[inject][settings]") {
  const JsonValue metadata = json(R"({"annotations": {"remora.io/app-ports": " 8443,80 ,8443"}})");
  auto settings = readPodSettings(&metadata, json(kSpec), "w", "");
  REQUIRE(settings.has_value());
  CHECK(settings->app_ports == std::vector<uint16_t>{8443, 80});
}

TEST_CASE("the service is named by the annotation, else the app label, else the workload", "[inject][settings]") {
  const JsonValue both = json(R"({"labels": {"app": "label"}, "annotations": {"remora.io/service": "annotated"}})");
  const JsonValue label = json(R"({"labels": {"app": "label"}})");
  CHECK(readPodSettings(&both, json(kSpec), "w", "")->service == "annotated");
  CHECK(readPodSettings(&label, json(kSpec), "w", "")->service == "label");
  CHECK(readPodSettings(nullptr, json(kSpec), "w", "")->service == "w");
  CHECK(readPodSettings(&label, json(kSpec), "w", "")->labels == std::vector<std::string>{"app=label"});
  CHECK(errorOf(R"({"annotations": {"remora.io/service": "a,b"}})", kSpec) ==
        "spec.template.metadata.annotations[remora.io/service]: \"a,b\" cannot name a mesh service");
}

TEST_CASE("the service account comes from serviceAccountName", "[inject][settings]") {
  auto settings = readPodSettings(nullptr, json(R"({"serviceAccountName": "reviews", "containers": [{"name": "a"}]})"),
                                  "w", "");
  REQUIRE(settings.has_value());
  CHECK(settings->service_account == "reviews");
}

TEST_CASE("exclusion annotations are validated and normalised", "[inject][settings]") {
  const JsonValue metadata = json(R"({"annotations": {"remora.io/exclude-inbound-ports": "9901, 9902",
    "remora.io/exclude-outbound-ports": "5432", "remora.io/exclude-outbound-cidrs": "10.0.0.0/8, fd00::/8"}})");
  auto settings = readPodSettings(&metadata, json(kSpec), "w", "");
  REQUIRE(settings.has_value());
  CHECK(settings->exclude_inbound_ports == "9901,9902");
  CHECK(settings->exclude_outbound_ports == "5432");
  CHECK(settings->exclude_outbound_cidrs == "10.0.0.0/8,fd00::/8");
  CHECK(errorOf(R"({"annotations": {"remora.io/exclude-outbound-cidrs": "10.0.0.0/33"}})", kSpec) ==
        "spec.template.metadata.annotations[remora.io/exclude-outbound-cidrs]: \"10.0.0.0/33\" is not an IPv4 or "
        "IPv6 CIDR (ADDR/LEN)");
  CHECK(errorOf(R"({"annotations": {"remora.io/exclude-inbound-ports": "0"}})", kSpec).find("is not a") !=
        std::string::npos);
}

TEST_CASE("proxy resource annotations override the requests and lift a lower limit", "[inject][settings]") {
  const JsonValue metadata = json(R"({"annotations": {"remora.io/proxy-cpu": "100m", "remora.io/proxy-memory": "1Gi"}})");
  auto settings = readPodSettings(&metadata, json(kSpec), "w", "");
  REQUIRE(settings.has_value());
  CHECK(settings->cpu_request == "100m");
  CHECK(settings->cpu_limit == "1");
  CHECK(settings->memory_request == "1Gi");
  CHECK(settings->memory_limit == "1Gi");
  CHECK(errorOf(R"({"annotations": {"remora.io/proxy-memory": "-5Mi"}})", kSpec).find("not a positive") !=
        std::string::npos);
}

TEST_CASE("app ports that are the sidecar's own are refused", "[inject][settings]") {
  CHECK(errorOf("{}", R"({"containers": [{"name": "a", "ports": [{"containerPort": 15006}]}]})") ==
        "spec.template.spec.containers[0].ports[0].containerPort: port 15006 is the sidecar's own (15000 admin, "
        "15001, 15006)");
  CHECK(errorOf(R"({"annotations": {"remora.io/app-ports": "15001"}})", kSpec).find("sidecar's own") !=
        std::string::npos);
}

TEST_CASE("names the sidecar needs must be free", "[inject][settings]") {
  CHECK(errorOf("{}", R"({"containers": [{"name": "a"}], "volumes": [{"name": "remora-token"}]})") ==
        "spec.template.spec.volumes[0].name: \"remora-token\" is reserved for the injected sidecar, but "
        "remora.io/injected is not set");
}

TEST_CASE("the inject annotation decides, and only true or false are accepted", "[inject][settings]") {
  const JsonValue spec = json(R"({"containers": [{"name": "a"}]})");
  auto decide = [&](const std::string& metadata) {
    const JsonValue m = json(metadata);
    return decideInjection(&m, &spec, "");
  };
  CHECK(*decide("{}") == InjectDecision::kInject);
  CHECK(*decide(R"({"annotations": {"remora.io/inject": "true"}})") == InjectDecision::kInject);
  CHECK(*decide(R"({"annotations": {"remora.io/inject": "false"}})") == InjectDecision::kOptedOut);
  CHECK(*decide(R"({"annotations": {"remora.io/injected": "0.0.1", "remora.io/inject": "false"}})") ==
        InjectDecision::kAlreadyInjected);
  CHECK(decide(R"({"annotations": {"remora.io/inject": "maybe"}})").error().message ==
        "metadata.annotations[remora.io/inject]: \"maybe\" is neither \"true\" nor \"false\"");
  CHECK(decide(R"({"annotations": {"remora.io/inject": false}})").error().message ==
        "metadata.annotations[remora.io/inject]: must be a string (quote it: \"false\")");
  const JsonValue host = json(R"({"hostNetwork": true, "containers": [{"name": "a"}]})");
  CHECK(*decideInjection(nullptr, &host, "") == InjectDecision::kHostNetwork);
}

TEST_CASE("quantities follow the Kubernetes grammar", "[inject][settings]") {
  CHECK(*parseQuantity("50m") == Approx(0.05));
  CHECK(*parseQuantity("1") == Approx(1));
  CHECK(*parseQuantity("1.5") == Approx(1.5));
  CHECK(*parseQuantity("64Mi") == Approx(64.0 * 1024 * 1024));
  CHECK(*parseQuantity("2G") == Approx(2e9));
  CHECK(*parseQuantity("1e3") == Approx(1000));
  CHECK_FALSE(parseQuantity("").has_value());
  CHECK_FALSE(parseQuantity("Mi").has_value());
  CHECK_FALSE(parseQuantity("1e3Mi").has_value());
  CHECK_FALSE(parseQuantity("1.2.3").has_value());
  CHECK_FALSE(parseQuantity("ten").has_value());
}

TEST_CASE("inject flags are checked", "[inject][settings]") {
  CHECK(checkInjectOptions({}).has_value());
  InjectOptions options;
  options.control_plane = "host:99999";
  CHECK_FALSE(checkInjectOptions(options).has_value());
  options.control_plane = "[fd00::1]:15010";
  CHECK(checkInjectOptions(options).has_value());
}

}  // namespace
}  // namespace remora::cli
