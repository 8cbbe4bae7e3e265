#include "proxy/main/flag_bootstrap.h"

#include <catch2/catch.hpp>

#include "proxy/config/bootstrap_loader.h"

using namespace remora;
using remora::server::FlagBootstrapOptions;
using remora::server::ResolvedAddress;

namespace {

FlagBootstrapOptions sidecar() {
  FlagBootstrapOptions o;
  o.control_plane = "remora-cp.remora-system.svc:15010";
  o.node_id = "reviews-7d9f.default";
  o.service = "reviews";
  o.pod_ip = "10.1.2.3";
  o.app_ports = "9080,9090";
  o.ca_file = "/etc/remora/ca/root.pem";
  return o;
}

config::LoadedBootstrap load(const FlagBootstrapOptions& o, ResolvedAddress cp = {"10.96.0.10", 15010}) {
  auto loaded = config::loadBootstrapString(server::flagBootstrapYaml(o, cp), config::ConfigFormat::kYaml);
  INFO(server::flagBootstrapYaml(o, cp));
  INFO((loaded ? std::string() : loaded.error().message));
  REQUIRE(loaded);
  return std::move(*loaded);
}

std::string meta(const config::LoadedBootstrap& b, const std::string& key) {
  const auto& fields = b.proto.node().metadata().fields();
  auto it = fields.find(key);
  return it == fields.end() ? std::string("<absent>") : it->second.string_value();
}

}  // namespace

TEST_CASE("the flag bootstrap describes the pod in node metadata as remora-cp reads it", "[main][flag_bootstrap]") {
  auto o = sidecar();
  o.interception = "redirect";
  o.zone = "eu-west-1a";
  o.region = "eu-west-1";
  o.labels = {"version=v2"};
  auto b = load(o);
  CHECK(b.proto.node().id() == "reviews-7d9f.default");
  CHECK(b.proto.node().cluster() == "reviews");
  CHECK(meta(b, "REMORA_SERVICE") == "reviews");
  CHECK(meta(b, "REMORA_NAMESPACE") == "default");
  CHECK(meta(b, "REMORA_SERVICE_ACCOUNT") == "reviews");  // defaults to the service
  CHECK(meta(b, "POD_IP") == "10.1.2.3");
  CHECK(meta(b, "APP_PORTS") == "9080,9090");
  CHECK(meta(b, "INTERCEPTION_MODE") == "REDIRECT");
  CHECK(meta(b, "OUTBOUND_ADDRESS") == "<absent>");  // remora-cp's default 0.0.0.0:15001
  CHECK(b.proto.node().metadata().fields().at("LABELS").struct_value().fields().at("version").string_value() == "v2");
  CHECK(b.proto.node().locality().zone() == "eu-west-1a");
  CHECK(b.proto.node().locality().region() == "eu-west-1");
  CHECK(b.bootstrap.admin.address.address == "127.0.0.1");
  CHECK(b.bootstrap.admin.address.port == 15000);
  REQUIRE(b.bootstrap.dynamic);
  CHECK(b.bootstrap.dynamic->ads_cluster == "xds_cluster");
  CHECK(b.bootstrap.listeners.empty());
}

TEST_CASE("the flag bootstrap's ADS cluster is static at the resolved address, over mTLS by default",
          "[main][flag_bootstrap]") {
  auto b = load(sidecar(), {"10.96.0.10", 15010});
  REQUIRE(b.bootstrap.clusters.size() == 1);
  const auto& c = b.bootstrap.clusters.front();
  CHECK(c.name == "xds_cluster");
  REQUIRE(c.endpoints.size() == 1);
  CHECK(c.endpoints.front().address.address == "10.96.0.10");
  CHECK(c.endpoints.front().address.port == 15010);
  REQUIRE(c.tls);
  REQUIRE(c.tls->validation);
  const std::string yaml = server::flagBootstrapYaml(sidecar(), {"10.96.0.10", 15010});
  CHECK(yaml.find("trusted_ca: {filename: \"/etc/remora/ca/root.pem\"}") != std::string::npos);
  CHECK(yaml.find("\"spiffe://cluster.local/ns/remora-system/sa/remora-cp\"") != std::string::npos);
  CHECK(yaml.find("{name: default, sds_config") != std::string::npos);
  CHECK(yaml.find("{name: ROOTCA, sds_config") != std::string::npos);
  CHECK(meta(b, "INTERCEPTION_MODE") == "NONE");
}

TEST_CASE("the control plane's expected identity follows the trust domain unless given", "[main][flag_bootstrap]") {
  auto o = sidecar();
  o.trust_domain = "prod.example";
  std::string yaml = server::flagBootstrapYaml(o, {"10.0.0.1", 15010});
  CHECK(yaml.find("\"spiffe://prod.example/ns/remora-system/sa/remora-cp\"") != std::string::npos);
  CHECK(meta(load(o), "REMORA_TRUST_DOMAIN") == "prod.example");
  o.control_plane_identity = "spiffe://prod.example/ns/mesh/sa/cp";
  yaml = server::flagBootstrapYaml(o, {"10.0.0.1", 15010});
  CHECK(yaml.find("\"spiffe://prod.example/ns/mesh/sa/cp\"") != std::string::npos);
  CHECK(yaml.find("/ns/remora-system/") == std::string::npos);
}

TEST_CASE("the insecure-xds flag builds a plaintext ADS cluster", "[main][flag_bootstrap]") {
  auto o = sidecar();
  o.insecure_xds = true;
  o.ca_file.clear();
  auto b = load(o, {"::1", 15010});
  REQUIRE(b.bootstrap.clusters.size() == 1);
  CHECK_FALSE(b.bootstrap.clusters.front().tls);
  CHECK(b.bootstrap.clusters.front().endpoints.front().address.address == "::1");
}

TEST_CASE("flag values that look like YAML stay plain strings", "[main][flag_bootstrap]") {
  auto o = sidecar();
  o.node_id = "a\"b: {c}\n#d";
  o.service = "123";
  auto b = load(o);
  CHECK(b.proto.node().id() == "a\"b: {c}\n#d");
  CHECK(meta(b, "REMORA_SERVICE") == "123");
  CHECK(server::yamlQuote("x\\y\t") == "\"x\\\\y\\t\"");
}

TEST_CASE("listener and admin addresses from flags reach the bootstrap", "[main][flag_bootstrap]") {
  auto o = sidecar();
  o.admin_address = "127.0.0.1:0";
  o.outbound_address = "127.0.0.1:0";
  o.inbound_address = "10.1.2.3:9080";
  o.app_address = "127.0.0.2";
  REQUIRE(server::checkFlagBootstrap(o));
  auto b = load(o);
  CHECK(b.bootstrap.admin.address.port == 0);
  CHECK(meta(b, "OUTBOUND_ADDRESS") == "127.0.0.1:0");
  CHECK(meta(b, "INBOUND_ADDRESS") == "10.1.2.3:9080");
  CHECK(meta(b, "APP_ADDRESS") == "127.0.0.2");
}

TEST_CASE("bad or missing flags are refused naming the flag", "[main][flag_bootstrap]") {
  auto expectRefused = [](FlagBootstrapOptions o, const std::string& flag) {
    auto s = server::checkFlagBootstrap(o);
    INFO(flag);
    REQUIRE_FALSE(s);
    CHECK(s.message().rfind(flag + ":", 0) == 0);
  };
  REQUIRE(server::checkFlagBootstrap(sidecar()));
  auto o = sidecar();
  o.node_id.clear();
  expectRefused(o, "--node-id");
  o = sidecar();
  o.service.clear();
  expectRefused(o, "--service");
  o = sidecar();
  o.pod_ip = "$(POD_IP)";
  expectRefused(o, "--pod-ip");
  o = sidecar();
  o.app_ports = "9080,http";
  expectRefused(o, "--app-ports");
  o.app_ports = "70000";
  expectRefused(o, "--app-ports");
  o = sidecar();
  o.interception = "tproxy";
  expectRefused(o, "--interception");
  o = sidecar();
  o.ca_file.clear();
  expectRefused(o, "--ca-file");
  o = sidecar();
  o.control_plane = "remora-cp";
  expectRefused(o, "--control-plane");
  o = sidecar();
  o.labels = {"noequals"};
  expectRefused(o, "--label");
  o = sidecar();
  o.outbound_address = "nowhere";
  expectRefused(o, "--outbound-address");
}

TEST_CASE("the control plane's name is resolved once, an IP literal as is", "[main][flag_bootstrap]") {
  auto literal = server::resolveControlPlane("[::1]:15010");
  REQUIRE(literal);
  CHECK(literal->ip == "::1");
  CHECK(literal->port == 15010);
  auto local = server::resolveControlPlane("localhost:15010");
  REQUIRE(local);
  CHECK((local->ip == "127.0.0.1" || local->ip == "::1"));
  CHECK(local->port == 15010);
  auto missing = server::resolveControlPlane("remora-cp.does-not-exist.invalid:15010");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("cannot resolve 'remora-cp.does-not-exist.invalid'") != std::string::npos);
}

TEST_CASE("every control-plane address becomes an endpoint of the ADS cluster", "[main][flag_bootstrap]") {
  auto o = sidecar();
  o.control_plane = "10.0.0.1:15010,10.0.0.2:15011";
  REQUIRE(server::checkFlagBootstrap(o));
  const std::vector<ResolvedAddress> cps{{"10.0.0.1", 15010}, {"10.0.0.2", 15011}, {"fd00::3", 15010}};
  const std::string yaml = server::flagBootstrapYaml(o, cps);
  auto loaded = config::loadBootstrapString(yaml, config::ConfigFormat::kYaml);
  INFO(yaml);
  REQUIRE(loaded);
  const auto& c = loaded->bootstrap.clusters.front();
  REQUIRE(c.endpoints.size() == 3);
  CHECK(c.endpoints[0].address.address == "10.0.0.1");
  CHECK(c.endpoints[0].address.port == 15010);
  CHECK(c.endpoints[1].address.address == "10.0.0.2");
  CHECK(c.endpoints[1].address.port == 15011);
  CHECK(c.endpoints[2].address.address == "fd00::3");
}

TEST_CASE("a bad entry of the control-plane list is refused naming the entry", "[main][flag_bootstrap]") {
  auto o = sidecar();
  o.control_plane = "10.0.0.1:15010,remora-cp-1";
  auto s = server::checkFlagBootstrap(o);
  REQUIRE_FALSE(s);
  CHECK(s.message().rfind("--control-plane: entry 'remora-cp-1'", 0) == 0);
  o.control_plane = "10.0.0.1:15010,,10.0.0.2:15010";
  s = server::checkFlagBootstrap(o);
  REQUIRE_FALSE(s);
  CHECK(s.message().find("empty entry") != std::string::npos);
  o.control_plane = "10.0.0.1:15010, 10.0.0.2:15010";  // spaces around entries are fine
  CHECK(server::checkFlagBootstrap(o));
}

TEST_CASE("a control-plane list resolves every entry, names to all their addresses, without repeats",
          "[main][flag_bootstrap]") {
  auto all = server::resolveControlPlanes("127.0.0.1:15010,localhost:15011,127.0.0.1:15010");
  REQUIRE(all);
  REQUIRE(all->size() >= 2);
  CHECK(all->front().ip == "127.0.0.1");
  CHECK(all->front().port == 15010);
  CHECK((*all)[1].port == 15011);
  size_t first = 0;
  for (const auto& a : *all) first += a.ip == "127.0.0.1" && a.port == 15010 ? 1 : 0;
  CHECK(first == 1);
  auto missing = server::resolveControlPlanes("127.0.0.1:15010,remora-cp.does-not-exist.invalid:15010");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("'remora-cp.does-not-exist.invalid'") != std::string::npos);
  CHECK_FALSE(server::controlPlanesHaveNames("127.0.0.1:1,[::1]:2"));
  CHECK(server::controlPlanesHaveNames("127.0.0.1:1,remora-cp:2"));
}
