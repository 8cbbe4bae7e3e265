// The secure mesh end to end: remora-cp with its CA, sidecars that buy their
// first certificate with a join token, and traffic between them over mTLS.
// Each "pod" gets its own loopback address (127.x.y.z), so a sidecar's inbound
// listener owns POD_IP:app_port while the app listens on 127.0.0.1:app_port,
// as it would behind traffic capture in a real pod.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <regex>
#include <thread>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

using namespace std::chrono_literals;
namespace harness = remora::harness;
using harness::BackendProcess;
using harness::ControlPlaneProcess;
using harness::ProxyProcess;

namespace {

using Clock = std::chrono::steady_clock;

std::unique_ptr<ControlPlaneProcess> startSecureCp(std::vector<std::string> extra = {}) {
  harness::ControlPlaneOptions options;
  options.insecure = false;
  options.extra_args = std::move(extra);
  auto cp = ControlPlaneProcess::start(options);
  if (!cp) FAIL("remora-cp did not start: " << cp.error().message);
  return std::move(*cp);
}

std::string createToken(ControlPlaneProcess& cp, const std::string& account, const std::string& ttl = "1h") {
  auto token = cp.createToken(account, ttl);
  INFO((token ? std::string() : token.error().message));
  REQUIRE(token);
  return *token;
}

void applyObjects(ControlPlaneProcess& cp, const std::string& json) {
  auto r = cp.api("POST", "/api/v1/apply", json);
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status / 100 == 2);
}

// A loopback address of our own for one pod: 127.<random>.<random>.<n>.
std::string podIp(int n) {
  static const uint32_t base = std::random_device{}();
  return "127." + std::to_string(1 + base % 250) + "." + std::to_string((base >> 8) % 250) + "." + std::to_string(n);
}

struct Sidecar {
  harness::TempDir dir{"remora-sidecar"};
  std::unique_ptr<ProxyProcess> proxy;
};

// Starts a sidecar for `service` running as `account`, with the given token.
// `app_port` 0: a client with no app of its own.
remora::base::Result<std::unique_ptr<ProxyProcess>> launchSidecar(ControlPlaneProcess& cp, harness::TempDir& dir,
                                                          const std::string& id, const std::string& service,
                                                          const std::string& account, const std::string& token,
                                                          const std::string& pod_ip = "", int app_port = 0) {
  std::string metadata = "REMORA_SERVICE: " + service + ", REMORA_SERVICE_ACCOUNT: " + account +
                         ", REMORA_NAMESPACE: default, OUTBOUND_ADDRESS: '127.0.0.1:0'";
  if (app_port != 0) {
    metadata += ", POD_IP: '" + pod_ip + "', APP_PORTS: '" + std::to_string(app_port) + "', INBOUND_ADDRESS: '" +
                pod_ip + ":" + std::to_string(app_port) + "'";
  } else {
    metadata += ", INBOUND_ADDRESS: '127.0.0.1:0'";
  }
  const std::string token_file = dir.file(id + ".token");
  if (auto s = harness::writeFile(token_file, token + "\n"); !s) return s.error();
  harness::ProxyOptions options;
  options.bootstrap_yaml = harness::secureAdsBootstrap(
      cp.xdsPort(), "{id: " + id + ", cluster: " + service + ", metadata: {" + metadata + "}}", cp.trustBundlePath());
  options.extra_args = {"--token-file", token_file};
  return ProxyProcess::start(options);
}

std::unique_ptr<ProxyProcess> startSidecar(ControlPlaneProcess& cp, harness::TempDir& dir, const std::string& id,
                                           const std::string& service, const std::string& token,
                                           const std::string& pod_ip = "", int app_port = 0) {
  auto proxy = launchSidecar(cp, dir, id, service, service, token, pod_ip, app_port);
  INFO((proxy ? std::string() : proxy.error().message));
  REQUIRE(proxy);
  auto ready = (*proxy)->waitReady(15s);
  INFO((*proxy)->logs());
  REQUIRE(ready);
  return std::move(*proxy);
}

int askVia(const std::string& outbound, const std::string& host, std::string* body = nullptr) {
  harness::HttpRequest request;
  request.path = "/echo";
  request.host = host;
  auto response = harness::httpRequest(outbound, request, 5s);
  if (!response) return -1;
  if (body != nullptr) *body = response->body + " x-remora-error: " + response->header("x-remora-error").value_or("");
  return response->status;
}

// Sum of every series of `family` on `proxy` whose labels contain `needle`.
uint64_t sumStats(ProxyProcess& proxy, const std::string& family, const std::string& needle = "") {
  auto all = proxy.allStats();
  return all ? harness::sumFamily(*all, family, needle) : 0;
}

struct Mesh {
  std::unique_ptr<ControlPlaneProcess> cp;
  harness::TempDir dir{"remora-mtls-mesh"};
  std::optional<BackendProcess> app;
  std::unique_ptr<ProxyProcess> reviews;
  std::unique_ptr<ProxyProcess> web;
  std::string outbound;

  explicit Mesh(std::vector<std::string> cp_args = {}) {
    cp = startSecureCp(std::move(cp_args));
    auto echo = BackendProcess::httpEcho();
    REQUIRE(echo);
    app.emplace(std::move(*echo));
    const int port = app->port();
    applyObjects(*cp, R"({"items":[{"kind":"Service","metadata":{"name":"reviews"},
                  "spec":{"ports":[{"port":9080,"targetPort":)" + std::to_string(port) + R"(,"protocol":"HTTP"}]}}]})");
    reviews = startSidecar(*cp, dir, "reviews-1", "reviews", createToken(*cp, "reviews"), podIp(2), port);
    web = startSidecar(*cp, dir, "web-1", "web", createToken(*cp, "web"));
    auto addr = web->listenerAddress("outbound");
    REQUIRE(addr);
    outbound = *addr;
  }

  // Waits until a request through web's sidecar reaches reviews' app.
  bool flowing(std::chrono::milliseconds within = 5s) {
    const auto end = Clock::now() + within;
    while (Clock::now() < end) {
      if (askVia(outbound, "reviews:9080") == 200) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
};

}  // namespace

TEST_CASE("sidecars get certificates with join tokens and talk to each other over mTLS", "[integration][mtls][cp]") {
  Mesh mesh;
  INFO(mesh.web->logs() << "\n--- reviews\n" << mesh.reviews->logs());
  REQUIRE(mesh.flowing());
  // The hop between the sidecars was mutually authenticated: reviews' sidecar
  // verified web's certificate, and web's verified reviews'.
  CHECK(sumStats(*mesh.reviews, "remora_tls_handshakes_total", "direction=\"inbound\"") >= 1);
  CHECK(sumStats(*mesh.web, "remora_tls_handshakes_total", "direction=\"outbound\"") >= 1);
  CHECK(sumStats(*mesh.web, "remora_identity_certificate_requests_total", "issued") >= 1);
  CHECK(sumStats(*mesh.web, "remora_tls_certificate_expiry_timestamp_seconds", "default") > 0);

  SECTION("a plaintext client is refused by a STRICT sidecar, before the app") {
    // Straight to reviews' inbound listener, skipping web's sidecar: the
    // listener is there (it answers the TCP connect) and refuses the
    // plaintext at the handshake, counted; nothing reaches the app.
    const uint64_t refused_before = sumStats(*mesh.reviews, "remora_tls_handshake_failures_total", "protocol");
    const uint64_t app_before = sumStats(*mesh.reviews, "remora_upstream_requests_total");
    auto direct = harness::httpGet(podIp(2) + ":" + std::to_string(mesh.app->port()), "/echo", 3s);
    CHECK_FALSE((direct && direct->status == 200));
    CHECK(sumStats(*mesh.reviews, "remora_tls_handshake_failures_total", "protocol") == refused_before + 1);
    CHECK(sumStats(*mesh.reviews, "remora_upstream_requests_total") == app_before);
  }

  SECTION("a PERMISSIVE service also takes plaintext, told apart from mTLS by its first bytes") {
    const int port = mesh.app->port();
    applyObjects(*mesh.cp, R"({"items":[{"kind":"Service","metadata":{"name":"reviews"},
                  "spec":{"mtls":"PERMISSIVE","ports":[{"port":9080,"targetPort":)" + std::to_string(port) +
                               R"(,"protocol":"HTTP"}]}}]})");
    const std::string inbound = podIp(2) + ":" + std::to_string(port);
    bool plaintext = false;
    const auto end = Clock::now() + 3s;
    while (!plaintext && Clock::now() < end) {
      auto r = harness::httpGet(inbound, "/echo", 2s);
      plaintext = r && r->status == 200;
      if (!plaintext) std::this_thread::sleep_for(20ms);
    }
    CHECK(plaintext);
    const uint64_t before = sumStats(*mesh.reviews, "remora_tls_handshakes_total", "direction=\"inbound\"");
    // A fresh caller's connection still arrives over mTLS.
    auto other = startSidecar(*mesh.cp, mesh.dir, "web-2", "web", createToken(*mesh.cp, "web"));
    auto other_out = other->listenerAddress("outbound");
    REQUIRE(other_out);
    CHECK(askVia(*other_out, "reviews:9080") == 200);
    CHECK(sumStats(*mesh.reviews, "remora_tls_handshakes_total", "direction=\"inbound\"") > before);
  }

  SECTION("an AuthorizationPolicy that does not list the caller turns its requests into 403 within a second") {
    applyObjects(*mesh.cp, R"({"items":[{"kind":"AuthorizationPolicy","metadata":{"name":"reviews-readers"},
                   "spec":{"service":"reviews","allow":[{"principals":["default/ratings"]}]}}]})");
    const auto start = Clock::now();
    std::string body;
    int status = 0;
    while (Clock::now() - start < 2s) {
      status = askVia(mesh.outbound, "reviews:9080", &body);
      if (status == 403) break;
      std::this_thread::sleep_for(20ms);
    }
    INFO(body);
    CHECK(status == 403);
    CHECK(body.find("rbac_denied") != std::string::npos);
    CHECK(body.find("spiffe://cluster.local/ns/default/sa/web") != std::string::npos);
    CHECK(sumStats(*mesh.reviews, "remora_rbac_denied_total", "sa/web") >= 1);
    // Allowing web again restores the flow.
    applyObjects(*mesh.cp, R"({"items":[{"kind":"AuthorizationPolicy","metadata":{"name":"reviews-readers"},
                   "spec":{"service":"reviews","allow":[{"principals":["default/web"],"methods":["GET"]}]}}]})");
    CHECK(mesh.flowing(2s));
  }

  SECTION("a token for one identity cannot buy another's certificate, and an expired token is refused") {
    // A token for "web" presented by a sidecar that says it runs as "reviews".
    auto thief = launchSidecar(*mesh.cp, mesh.dir, "thief-1", "reviews", "reviews", createToken(*mesh.cp, "web"));
    REQUIRE(thief);
    std::this_thread::sleep_for(1500ms);
    auto ready = (*thief)->admin("GET", "/ready");
    REQUIRE(ready);
    INFO(ready->body);
    CHECK(ready->status == 503);
    CHECK(ready->body.find("waiting for the workload certificate") != std::string::npos);
    CHECK(ready->body.find("gRPC status 7") != std::string::npos);  // PERMISSION_DENIED

    const std::string expiring = createToken(*mesh.cp, "late", "1s");
    std::this_thread::sleep_for(1500ms);
    auto late = launchSidecar(*mesh.cp, mesh.dir, "late-1", "late", "late", expiring);
    REQUIRE(late);
    std::this_thread::sleep_for(1500ms);
    auto late_ready = (*late)->admin("GET", "/ready");
    REQUIRE(late_ready);
    INFO(late_ready->body);
    CHECK(late_ready->status == 503);
    CHECK(late_ready->body.find("gRPC status 16") != std::string::npos);  // UNAUTHENTICATED
  }
}

TEST_CASE("certificates and the CA rotate under load without a failed request", "[integration][mtls][cp]") {
  // Three-second certificates: renewed about every two seconds.
  Mesh mesh(std::vector<std::string>{"--cert-ttl", "3s"});
  REQUIRE(mesh.flowing());
  const uint64_t issued_before = sumStats(*mesh.web, "remora_identity_certificate_requests_total", "issued");

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::string first_failure;
  std::thread load([&] {
    // Bounded: at most 4,000 requests or until told to stop.
    for (int i = 0; i < 4000 && !stop; ++i) {
      std::string body;
      const int status = askVia(mesh.outbound, "reviews:9080", &body);
      if (status == 200) {
        ++ok;
      } else if (failed++ == 0) {
        first_failure = std::to_string(status) + " " + body;
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  auto rotate = [&](const std::string& phase) {
    auto r = mesh.cp->api("POST", "/api/v1/ca/rotate", R"({"phase":")" + phase + "\"}");
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
  };
  // Certificate rotation alone, then a CA rotation: the new root joins the
  // bundle, becomes the signer (every certificate is re-issued by it within a
  // lifetime), then the old root leaves.
  std::this_thread::sleep_for(5s);
  rotate("prepare");
  std::this_thread::sleep_for(3s);
  rotate("activate");
  std::this_thread::sleep_for(5s);
  rotate("finish");
  std::this_thread::sleep_for(5s);
  stop = true;
  load.join();

  INFO(first_failure << "\n--- web\n" << mesh.web->logs() << "\n--- reviews\n" << mesh.reviews->logs());
  CHECK(failed == 0);
  CHECK(ok > 100);
  // Several certificates were issued meanwhile on both sides.
  CHECK(sumStats(*mesh.web, "remora_identity_certificate_requests_total", "issued") >= issued_before + 4);
  CHECK(sumStats(*mesh.reviews, "remora_identity_certificate_requests_total", "issued") >= 4);
  // Existing connections lived on: web's pool kept reusing its connections
  // across the rotations instead of reconnecting for each certificate.
  const uint64_t handshakes = sumStats(*mesh.web, "remora_tls_handshakes_total", "direction=\"outbound\"");
  CHECK(handshakes < static_cast<uint64_t>(ok.load()) / 10);
  CHECK(mesh.flowing(2s));

  // New handshakes use the new certificates: a service that joins now trusts
  // only the new root (its bootstrap file and ROOTCA both hold just that), and
  // web's first connection to it must present a certificate the new root
  // signed, as must ratings' side to web.
  auto ratings_app = BackendProcess::httpEcho();
  REQUIRE(ratings_app);
  applyObjects(*mesh.cp, R"({"items":[{"kind":"Service","metadata":{"name":"ratings"},
                "spec":{"ports":[{"port":9080,"targetPort":)" + std::to_string(ratings_app->port()) + R"(}]}}]})");
  auto ratings = startSidecar(*mesh.cp, mesh.dir, "ratings-1", "ratings", createToken(*mesh.cp, "ratings"), podIp(3),
                              ratings_app->port());
  bool reached = false;
  const auto end = Clock::now() + 5s;
  while (!reached && Clock::now() < end) {
    reached = askVia(mesh.outbound, "ratings:9080") == 200;
    if (!reached) std::this_thread::sleep_for(20ms);
  }
  INFO(ratings->logs());
  CHECK(reached);
  CHECK(sumStats(*ratings, "remora_tls_handshakes_total", "direction=\"inbound\"") >= 1);
  CHECK(sumStats(*ratings, "remora_tls_handshake_failures_total") == 0);
}
