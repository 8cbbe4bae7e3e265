// Issue 8's acceptance, end to end: two pods made of network namespaces on
// a bridge, each with the capture rules and a sidecar. The apps know nothing
// of the mesh: a plain client in pod A calls pod B's IP (or a service's
// virtual IP), and the test proves the call went through both sidecars, that
// the bytes between the pods were TLS, that B's app only ever saw its own
// sidecar, and that nothing reaches B's app around B's sidecar. gRPC, an
// opaque TCP protocol and a call to an address outside the mesh take the
// same path.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <map>
#include <sstream>
#include <thread>

#include "tests/e2e/pod_mesh.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

namespace {

using namespace std::chrono_literals;
using remora::e2e::Pod;
using remora::e2e::PodMesh;
using remora::harness::sumFamily;
using remora::harness::binaryPath;
using remora::harness::python3Path;
using remora::harness::sourcePath;

constexpr const char* kServiceB = R"({"items":[
  {"kind":"Service","metadata":{"name":"b"},"spec":{"addresses":["10.96.0.2"],"ports":[
    {"name":"http","port":8080,"protocol":"HTTP"},
    {"name":"grpc","port":9000,"protocol":"GRPC"},
    {"name":"echo","port":7000,"protocol":"TCP"}]}},
  {"kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"name":"http","port":8080,"protocol":"HTTP"}]}}]})";

// Pod A (10.77.0.1): a sidecar, no server. Pod B (10.77.0.2): an HTTP echo,
// a gRPC echo and a TCP echo, and its sidecar. Pod X (10.77.0.9): outside
// the mesh, an HTTP echo and a TCP echo with no sidecar.
struct TwoPods {
  std::unique_ptr<PodMesh> mesh;
  Pod* a = nullptr;
  Pod* b = nullptr;
  Pod* x = nullptr;

  explicit TwoPods(std::vector<std::string> cp_args = {}, bool tracing = false) {
    auto started = PodMesh::start(std::move(cp_args), tracing);
    REQUIRE_OK(started);
    mesh = std::move(*started);
    REQUIRE_OK(mesh->apply(kServiceB));
    a = addPod("a", 1);
    b = addPod("b", 2);
    x = addPod("x", 9);
    const std::string dir = mesh->dir().path();
    REQUIRE_OK(mesh->startApp(*b, {python3Path(), sourcePath("tests/integration/backends/http_echo.py"), "--host",
                                "0.0.0.0", "--port", "8080", "--quiet", "--port-file", dir + "/b-http.port"},
                           dir + "/b-http.port"));
    REQUIRE_OK(mesh->startApp(*b, {binaryPath("grpc_echo_server"), "--address", "0.0.0.0:9000", "--port-file",
                                dir + "/b-grpc.port"},
                           dir + "/b-grpc.port"));
    REQUIRE_OK(mesh->startApp(*b, {python3Path(), sourcePath("tests/integration/backends/tcp_echo.py"), "--host",
                                "0.0.0.0", "--port", "7000", "--port-file", dir + "/b-tcp.port"},
                           dir + "/b-tcp.port"));
    REQUIRE_OK(mesh->startApp(*x, {python3Path(), sourcePath("tests/integration/backends/http_echo.py"), "--host",
                                "0.0.0.0", "--port", "8081", "--quiet", "--port-file", dir + "/x-http.port"},
                           dir + "/x-http.port"));
    REQUIRE_OK(mesh->startApp(*x, {python3Path(), sourcePath("tests/integration/backends/tcp_echo.py"), "--host",
                                "0.0.0.0", "--port", "7001", "--port-file", dir + "/x-tcp.port"},
                           dir + "/x-tcp.port"));
    auto started_b = mesh->startSidecar(*b, "b", "8080,9000,7000");
    INFO(mesh->sidecarLogs());
    REQUIRE_OK(started_b);
    auto started_a = mesh->startSidecar(*a, "a", "8080");
    INFO(mesh->sidecarLogs());
    REQUIRE_OK(started_a);
  }

  Pod* addPod(const std::string& name, int host) {
    auto pod = mesh->addPod(name, host);
    REQUIRE_OK(pod);
    return *pod;
  }

  // B's endpoint reaches A's config shortly after B registers.
  PodMesh::Reply callUntilOk(const std::string& url, std::vector<std::string> extra = {}) {
    PodMesh::Reply reply;
    const auto end = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < end) {
      reply = mesh->curl(*a, url, extra);
      if (reply.status == 200) break;
      std::this_thread::sleep_for(200ms);
    }
    return reply;
  }
};

// A line sent to the TCP echo through the pod's capture; "" when it failed.
std::string tcpRoundTrip(const Pod& pod, const std::string& host, int port, const std::string& line) {
  const std::string script =
      "import socket,sys\n"
      "s=socket.create_connection(('" + host + "'," + std::to_string(port) + "),timeout=5)\n"
      "s.sendall(b'" + line + "\\n')\n"
      "got=b''\n"
      "while not got.endswith(b'\\n'):\n"
      "  piece=s.recv(4096)\n"
      "  if not piece: break\n"
      "  got+=piece\n"
      "sys.stdout.write(got.decode())\n";
  return pod.ns->runResult({python3Path(), "-c", script}, 10s).stdout_text;
}

// tshark on pod B's interface, for the TLS check.
struct Capture {
  remora::harness::Process process;
  std::string file;
};

Capture startCapture(PodMesh& mesh, const Pod& pod) {
  const std::string file = mesh.dir().file("b.pcap");
  auto process = remora::harness::Process::start(remora::harness::ProcessOptions{
      pod.ns->exec({"tshark", "-q", "-i", "eth0", "-f", "tcp port 8080 or tcp port 9000 or tcp port 7000", "-w", file}),
      {},
      mesh.dir().path(),
      "tshark"});
  REQUIRE_OK(process);
  // tshark says "Capturing on 'eth0'" once the capture runs.
  const auto end = std::chrono::steady_clock::now() + 15s;
  while (process->readStderr().find("Capturing on") == std::string::npos && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(process->readStderr().find("Capturing on") != std::string::npos);
  return Capture{std::move(*process), file};
}

// First payload bytes (hex) of every TCP stream A opened towards B.
std::vector<std::string> firstPayloadsFromA(const Capture& capture) {
  auto r = remora::harness::run({"tshark", "-r", capture.file, "-Y", "ip.src==10.77.0.1 && tcp.len>0", "-T", "fields",
                                 "-e", "tcp.stream", "-e", "tcp.payload"},
                                20s);
  std::map<std::string, std::string> first;
  std::istringstream lines(r.stdout_text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    first.emplace(line.substr(0, tab), line.substr(tab + 1));
  }
  std::vector<std::string> out;
  for (auto& [stream, payload] : first) out.push_back(payload);
  return out;
}

}  // namespace

TEST_CASE("a plain client's call to another pod goes through both sidecars over mTLS", "[e2e][interception]") {
  TwoPods pods({}, /*tracing=*/true);
  PodMesh& mesh = *pods.mesh;
  Capture capture = startCapture(mesh, *pods.b);
  const std::string canary = "plaintext-canary-7f3a";

  // The pod's IP and port, as an app that knows nothing of the mesh calls it.
  PodMesh::Reply reply = pods.callUntilOk("http://10.77.0.2:8080/echo?" + canary);
  INFO(reply.error << reply.body << mesh.sidecarLogs());
  REQUIRE(reply.status == 200);
  // B's app saw the request from its own sidecar (loopback), not from A.
  CHECK(reply.body.find(R"("peer": "127.0.0.1")") != std::string::npos);

  // The service's virtual IP under its name, as cluster DNS would give it.
  PodMesh::Reply by_name = mesh.curl(*pods.a, "http://b:8080/echo?" + canary, {"--resolve", "b:8080:10.96.0.2"});
  INFO(by_name.error << by_name.body);
  CHECK(by_name.status == 200);

  // gRPC (HTTP/2 prior knowledge) to the pod's IP.
  auto grpc = pods.a->ns->runResult({binaryPath("grpc_echo_client"), "--target", "10.77.0.2:9000", "--count", "3"});
  INFO(grpc.describe());
  CHECK(grpc.exit_code == 0);

  // An opaque TCP protocol, to the pod's IP and to the virtual IP.
  CHECK(tcpRoundTrip(*pods.a, "10.77.0.2", 7000, canary) == canary + "\n");
  CHECK(tcpRoundTrip(*pods.a, "10.96.0.2", 7000, canary) == canary + "\n");

  // Both sidecars counted the calls: A outbound, B inbound.
  const auto stats_a = mesh.stats(*pods.a);
  const auto stats_b = mesh.stats(*pods.b);
  CHECK(sumFamily(stats_a, "remora_http_requests_total", "direction=\"outbound\"") >= 3);
  CHECK(sumFamily(stats_b, "remora_http_requests_total", "direction=\"inbound\"") >= 3);
  CHECK(sumFamily(stats_a, "remora_listener_original_dst_total", "restored") >= 5);

  // The traces agree: a span of A's sidecar is the parent of one of B's.
  bool linked = false;
  for (int i = 0; i < 50 && !linked; ++i) {
    auto state = mesh.collector()->state();
    REQUIRE_OK(state);
    for (const auto& server : state->spans) {
      if (server.service != "b" || server.kind != "SERVER") continue;
      for (const auto& client : state->spans) {
        linked = linked || (client.service == "a" && client.kind == "CLIENT" && client.trace_id == server.trace_id &&
                            client.span_id == server.parent_span_id);
      }
    }
    if (!linked) std::this_thread::sleep_for(200ms);
  }
  CHECK(linked);

  // Everything A sent to B on the wire was TLS: each stream opens with a
  // handshake record, and the canary never crossed in clear.
  capture.process.signal(SIGINT);
  REQUIRE(capture.process.waitExit(10s));
  const std::vector<std::string> payloads = firstPayloadsFromA(capture);
  REQUIRE(payloads.size() >= 4);
  for (const std::string& hex : payloads) {
    INFO(hex.substr(0, 32));
    CHECK(hex.rfind("1603", 0) == 0);
  }
  auto raw = remora::harness::readFile(capture.file);
  REQUIRE_OK(raw);
  CHECK(raw->find(canary) == std::string::npos);

  {
    INFO("nothing reaches B's app around B's sidecar");
    // From A, as the proxy user (not captured in A): B's capture still sends
    // it to B's sidecar, which demands mTLS.
    PodMesh::Reply around = mesh.curlAsProxyUser(*pods.a, "http://10.77.0.2:8080/echo");
    CHECK(around.status != 200);
    // From a pod with no sidecar and no capture at all.
    PodMesh::Reply outside = mesh.curl(*pods.x, "http://10.77.0.2:8080/echo");
    CHECK(outside.status != 200);
    CHECK(tcpRoundTrip(*pods.x, "10.77.0.2", 7000, canary).empty());
  }

  {
    INFO("a call to an address outside the mesh is passed through, and counted");
    PodMesh::Reply external = mesh.curl(*pods.a, "http://10.77.0.9:8081/echo");
    INFO(external.error << external.body);
    CHECK(external.status == 200);
    CHECK(tcpRoundTrip(*pods.a, "10.77.0.9", 7001, canary) == canary + "\n");
    const auto stats = mesh.stats(*pods.a);
    CHECK(sumFamily(stats, "remora_http_requests_total", "cluster=\"PassthroughCluster\"") >= 1);
  }
}

TEST_CASE("under registry-only, a call outside the mesh is refused with a reason and counted", "[e2e][interception]") {
  TwoPods pods({"--outbound-traffic-policy", "registry-only"});
  PodMesh& mesh = *pods.mesh;
  REQUIRE(pods.callUntilOk("http://10.77.0.2:8080/echo").status == 200);

  PodMesh::Reply external = mesh.curl(*pods.a, "http://10.77.0.9:8081/echo");
  INFO(external.error << external.body);
  CHECK(external.status == 502);
  CHECK(external.body.find("registry") != std::string::npos);
  CHECK(tcpRoundTrip(*pods.a, "10.77.0.9", 7001, "hello").empty());
  const auto stats = mesh.stats(*pods.a);
  CHECK(sumFamily(stats, "remora_http_requests_total", "route=\"block_all\"") >= 1);
}
