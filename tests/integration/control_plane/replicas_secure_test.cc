// A secure mesh over remora-cp replicas (issue 9): a three-member etcd
// cluster on loopback, replicas r1 and r2 on it in secure mode, sharing one
// operator CA (made here with `openssl`), and sidecars that buy their first
// certificate with a join token. Join tokens are Store objects, so a token
// made through one replica works, and is revoked, through any other; sidecars
// whose certificates come from different replicas trust each other; and a
// sidecar whose first replica is down asks the next one for its certificate.
//
// Each "pod" with an app gets its own loopback address (127.x.y.z): its
// sidecar's inbound listener owns POD_IP:app_port, the app 127.0.0.1:app_port.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <random>
#include <regex>
#include <thread>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/etcd_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/mesh_probe.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

using namespace std::chrono_literals;
namespace harness = remora::harness;
using harness::BackendProcess;
using harness::ControlPlaneProcess;
using harness::EtcdCluster;
using harness::ProxyProcess;

namespace {

using Clock = std::chrono::steady_clock;

// Polls `done` until it holds or `within` passes.
bool until(const std::function<bool()>& done, std::chrono::milliseconds within) {
  return harness::pollUntil(done, within, 1, 20ms).has_value();
}

// A loopback address of our own for one pod: 127.<random>.<random>.<n>.
std::string podIp(int n) {
  static const uint32_t base = std::random_device{}();
  return "127." + std::to_string(1 + base % 250) + "." + std::to_string((base >> 8) % 250) + "." + std::to_string(n);
}

struct OperatorCa {
  std::string cert;
  std::string key;
};

// A self-signed P-256 root as an operator would make it: CA:TRUE, keyCertSign.
OperatorCa makeOperatorCa(harness::TempDir& dir) {
  OperatorCa ca{dir.file("mesh-ca.pem"), dir.file("mesh-ca.key")};
  auto made = harness::run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-keyout", ca.key, "-out", ca.cert, "-days", "30", "-subj",
                            "/O=cluster.local/CN=Remora test operator root", "-addext",
                            "basicConstraints=critical,CA:TRUE,pathlen:1", "-addext",
                            "keyUsage=critical,keyCertSign,cRLSign"},
                           20s);
  INFO(made.describe());
  REQUIRE(made.exit_code == 0);
  return ca;
}

std::unique_ptr<ControlPlaneProcess> startReplica(EtcdCluster& etcd, const OperatorCa& ca, const std::string& name) {
  harness::ControlPlaneOptions options;
  options.insecure = false;
  options.extra_args = {"--store",        "etcd", "--etcd-endpoints",    etcd.endpointsText(),
                        "--replica-name", name,   "--replica-lease-ttl", "3s",
                        "--ca-cert",      ca.cert, "--ca-key",           ca.key};
  auto cp = ControlPlaneProcess::start(options);
  INFO((cp ? std::string() : cp.error().message));
  REQUIRE(cp);
  return std::move(*cp);
}

struct Token {
  std::string secret;
  std::string id;
};

// POST /api/v1/tokens through `via`, for `account` in namespace default.
Token createToken(ControlPlaneProcess& via, const std::string& account) {
  auto r = via.api("POST", "/api/v1/tokens", R"({"namespace":"default","serviceAccount":")" + account +
                                                 R"(","ttl":"1h"})");
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 201);
  std::smatch token, id;
  static const std::regex kToken(R"re("token"\s*:\s*"([^"]+)")re");
  static const std::regex kId(R"re("id"\s*:\s*"([^"]+)")re");
  REQUIRE(std::regex_search(r->body, token, kToken));
  REQUIRE(std::regex_search(r->body, id, kId));
  return {token[1], id[1]};
}

void applyObjects(ControlPlaneProcess& via, const std::string& json) {
  auto r = via.api("POST", "/api/v1/apply", json);
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status / 100 == 2);
}

// A secure sidecar for `service` (its service account too) whose ADS cluster
// lists `replicas` in that order; it verifies them against the operator root.
// `app_port` 0: a client with no app of its own. Not waited for.
remora::base::Result<std::unique_ptr<ProxyProcess>> launchSidecar(const std::vector<uint16_t>& replicas,
                                                                  const OperatorCa& ca, harness::TempDir& dir,
                                                                  const std::string& id, const std::string& service,
                                                                  const std::string& token,
                                                                  const std::string& pod_ip = "", int app_port = 0) {
  std::string metadata = "REMORA_SERVICE: " + service + ", REMORA_SERVICE_ACCOUNT: " + service +
                         ", REMORA_NAMESPACE: default, OUTBOUND_ADDRESS: '127.0.0.1:0'";
  if (app_port != 0) {
    metadata += ", POD_IP: '" + pod_ip + "', APP_PORTS: '" + std::to_string(app_port) + "', INBOUND_ADDRESS: '" +
                pod_ip + ":" + std::to_string(app_port) + "'";
  } else {
    metadata += ", INBOUND_ADDRESS: '127.0.0.1:0'";
  }
  std::string yaml = harness::secureAdsBootstrap(
      replicas.front(), "{id: " + id + ", cluster: " + service + ", metadata: {" + metadata + "}}", ca.cert);
  auto endpoint = [](uint16_t port) {
    return "{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: " + std::to_string(port) + "}}}}";
  };
  std::string all;
  for (uint16_t port : replicas) all += (all.empty() ? "" : ", ") + endpoint(port);
  const size_t at = yaml.find(endpoint(replicas.front()));
  if (at == std::string::npos) {
    return remora::base::fail(remora::base::Error::kInternal, "secureAdsBootstrap changed shape: " + yaml);
  }
  yaml.replace(at, endpoint(replicas.front()).size(), all);

  const std::string token_file = dir.file(id + ".token");
  if (auto s = harness::writeFile(token_file, token + "\n"); !s) return s.error();
  harness::ProxyOptions options;
  options.bootstrap_yaml = yaml;
  options.extra_args = {"--token-file", token_file};
  return ProxyProcess::start(options);
}

std::unique_ptr<ProxyProcess> startSidecar(const std::vector<uint16_t>& replicas, const OperatorCa& ca,
                                           harness::TempDir& dir, const std::string& id, const std::string& service,
                                           const std::string& token, const std::string& pod_ip = "",
                                           int app_port = 0) {
  auto proxy = launchSidecar(replicas, ca, dir, id, service, token, pod_ip, app_port);
  INFO((proxy ? std::string() : proxy.error().message));
  REQUIRE(proxy);
  auto ready = (*proxy)->waitReady(20s);
  INFO((*proxy)->logs());
  REQUIRE(ready);
  return std::move(*proxy);
}

std::string readyText(ProxyProcess& proxy) {
  auto r = proxy.admin("GET", "/ready");
  return r ? std::to_string(r->status) + " " + r->body : std::string("no answer");
}

uint64_t sumStats(ProxyProcess& proxy, const std::string& family, const std::string& needle = "") {
  auto all = proxy.allStats();
  return all ? harness::sumFamily(*all, family, needle) : 0;
}

int askVia(const std::string& outbound, const std::string& host) {
  harness::HttpRequest request;
  request.path = "/echo";
  request.host = host;
  auto response = harness::httpRequest(outbound, request, 5s);
  return response ? response->status : -1;
}

struct SecureReplicas {
  harness::TempDir dir{"replicas-secure"};
  std::unique_ptr<EtcdCluster> etcd;
  OperatorCa ca;
  std::unique_ptr<ControlPlaneProcess> r1;
  std::unique_ptr<ControlPlaneProcess> r2;

  SecureReplicas() {
    auto cluster = EtcdCluster::start(3);
    INFO((cluster ? std::string() : cluster.error().message));
    REQUIRE(cluster);
    etcd = std::move(*cluster);
    ca = makeOperatorCa(dir);
    r1 = startReplica(*etcd, ca, "r1");
    r2 = startReplica(*etcd, ca, "r2");
  }
};

}  // namespace

TEST_CASE("a token made through one replica buys a certificate from another, and sidecars of both talk over mTLS",
          "[integration][etcd][mtls]") {
  SecureReplicas mesh;
  auto app = BackendProcess::httpEcho();
  REQUIRE(app);
  applyObjects(*mesh.r1, R"({"items":[{"kind":"Service","metadata":{"name":"ratings"},
        "spec":{"ports":[{"port":9080,"targetPort":)" + std::to_string(app->port()) + R"(,"protocol":"HTTP"}]}}]})");
  // Both tokens through r1; web's sidecar knows only r2.
  auto ratings = startSidecar({mesh.r1->xdsPort()}, mesh.ca, mesh.dir, "ratings-1", "ratings",
                              createToken(*mesh.r1, "ratings").secret, podIp(2), app->port());
  auto web = startSidecar({mesh.r2->xdsPort()}, mesh.ca, mesh.dir, "web-1", "web", createToken(*mesh.r1, "web").secret);
  INFO("r1:\n" << mesh.r1->logs() << "\nr2:\n" << mesh.r2->logs() << "\nweb:\n" << web->logs());
  CHECK(sumStats(*web, "remora_identity_certificate_requests_total", "issued") >= 1);
  CHECK(sumStats(*web, "remora_tls_certificate_expiry_timestamp_seconds", "default") > 0);
  // The only replica web knows signed its certificate and serves its config.
  CHECK_THAT(readyText(*web), Catch::Contains("connected to " + mesh.r2->xdsAddress()));
  auto identities = mesh.r2->api("GET", "/api/v1/identities");
  REQUIRE(identities);
  CHECK_THAT(identities->body, Catch::Contains("spiffe://cluster.local/ns/default/sa/web"));

  // Certificates from two replicas, one CA: the hop between the sidecars is
  // mutually authenticated.
  auto outbound = web->listenerAddress("outbound");
  REQUIRE(outbound);
  const bool flowing = until([&] { return askVia(*outbound, "ratings:9080") == 200; }, 10s);
  INFO("ratings:\n" << ratings->logs());
  REQUIRE(flowing);
  CHECK(sumStats(*ratings, "remora_tls_handshakes_total", "direction=\"inbound\"") >= 1);
  CHECK(sumStats(*web, "remora_tls_handshakes_total", "direction=\"outbound\"") >= 1);
}

TEST_CASE("a token deleted through one replica is refused by another", "[integration][etcd][mtls]") {
  SecureReplicas mesh;
  const Token revoked = createToken(*mesh.r1, "web");
  const Token kept = createToken(*mesh.r1, "web");
  auto deleted = mesh.r2->api("DELETE", "/api/v1/tokens/" + revoked.id);
  REQUIRE(deleted);
  INFO(deleted->body);
  REQUIRE(deleted->status == 200);
  // r1 reads the same store: the token is gone from its list too.
  auto listed = mesh.r1->api("GET", "/api/v1/tokens");
  REQUIRE(listed);
  CHECK_THAT(listed->body, !Catch::Contains(revoked.id) && Catch::Contains(kept.id));

  auto refused = launchSidecar({mesh.r1->xdsPort()}, mesh.ca, mesh.dir, "web-revoked", "web", revoked.secret);
  REQUIRE(refused);
  // It keeps asking and never becomes ready; its /ready says why.
  const bool explained = until([&] { return readyText(**refused).find("unknown join token") != std::string::npos; }, 10s);
  INFO("sidecar:\n" << (*refused)->logs() << "\nr1:\n" << mesh.r1->logs());
  CHECK(explained);
  // r1 counted the refusal under its reason.
  auto metrics = mesh.r1->api("GET", "/metrics", "");
  REQUIRE(metrics);
  static const std::regex kRefused(R"re(remora_cp_certificate_requests_refused_total\{reason="unknown_token"\} (\d+))re");
  std::smatch refusals;
  REQUIRE(std::regex_search(metrics->body, refusals, kRefused));
  CHECK(std::stoull(refusals[1]) >= 1);
  CHECK_FALSE((*refused)->waitReady(2s));
  CHECK(sumStats(**refused, "remora_identity_certificate_requests_total", "issued") == 0);

  // The control: the same identity with the token that was kept gets in through r1.
  auto admitted = startSidecar({mesh.r1->xdsPort()}, mesh.ca, mesh.dir, "web-kept", "web", kept.secret);
  CHECK(sumStats(*admitted, "remora_identity_certificate_requests_total", "issued") >= 1);
}

TEST_CASE("a sidecar whose first replica is down at start gets its certificate and config from the next",
          "[integration][etcd][mtls]") {
  SecureReplicas mesh;
  const Token token = createToken(*mesh.r1, "web");
  const uint16_t gone = mesh.r1->xdsPort();
  REQUIRE(mesh.r1->kill());
  auto web = startSidecar({gone, mesh.r2->xdsPort()}, mesh.ca, mesh.dir, "web-1", "web", token.secret);
  INFO("web:\n" << web->logs());
  CHECK(sumStats(*web, "remora_identity_certificate_requests_total", "issued") >= 1);
  CHECK_THAT(readyText(*web), Catch::Contains("connected to " + mesh.r2->xdsAddress()));
}
