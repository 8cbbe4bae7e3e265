// Issue 8's lifecycle acceptance in pods made of network namespaces: an app
// that waits for its proxy never starts before the proxy is ready, and
// SIGTERM to sidecars while traffic flows loses no request: the callee's
// sidecar drains while its peers retry elsewhere, and the caller's sidecar
// keeps serving the calls its app makes while it shuts down.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <regex>
#include <thread>

#include "tests/e2e/pod_mesh.h"
#include "tests/integration/harness/paths.h"

namespace {

using namespace std::chrono_literals;
using remora::e2e::Pod;
using remora::e2e::PodMesh;
using remora::harness::python3Path;
using remora::harness::sourcePath;

constexpr const char* kServiceB = R"({"items":[
  {"kind":"Service","metadata":{"name":"b"},"spec":{"addresses":["10.96.0.2"],"ports":[
    {"name":"http","port":8080,"protocol":"HTTP"}]}},
  {"kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"name":"http","port":8080,"protocol":"HTTP"}]}}]})";

// Keep-alive HTTP/1.1 calls to b's virtual IP for `seconds` (at most
// `limit`), reconnecting when the server closes; prints "ok=N failed=M" and
// the first failures.
constexpr const char* kLoad = R"(
import http.client, sys, time
seconds, limit = float(sys.argv[1]), int(sys.argv[2])
ok, failed, why = 0, 0, []
conn = None
end = time.time() + seconds
while time.time() < end and ok + failed < limit:
    try:
        if conn is None:
            conn = http.client.HTTPConnection('10.96.0.2', 8080, timeout=5)
        conn.request('GET', '/echo', headers={'Host': 'b:8080'})
        r = conn.getresponse()
        r.read()
        if r.status == 200:
            ok += 1
        else:
            failed += 1
            why.append('status %d %s' % (r.status, r.getheader('x-remora-error')))
        if r.getheader('connection', '').lower() == 'close':
            conn.close(); conn = None
    except Exception as e:
        failed += 1
        why.append(repr(e))
        conn = None
    time.sleep(0.01)
print('ok=%d failed=%d %s' % (ok, failed, why[:5]))
)";

int count(const std::string& text, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(key + "=(\\d+)"))) return -1;
  return std::stoi(m[1]);
}

}  // namespace

TEST_CASE("an app waits for its proxy, and SIGTERM during traffic loses no request", "[e2e][lifecycle]") {
  auto started = PodMesh::start();
  REQUIRE_OK(started);
  PodMesh& mesh = **started;
  REQUIRE_OK(mesh.apply(kServiceB));
  auto a = mesh.addPod("a", 1);
  auto b1 = mesh.addPod("b1", 2);
  auto b2 = mesh.addPod("b2", 3);
  REQUIRE((a && b1 && b2));
  const std::string dir = mesh.dir().path();
  for (Pod* pod : {*b1, *b2}) {
    const std::string port_file = dir + "/" + pod->name + ".port";
    REQUIRE_OK(mesh.startApp(*pod, {python3Path(), sourcePath("tests/integration/backends/http_echo.py"), "--host",
                                 "0.0.0.0", "--port", "8080", "--quiet", "--port-file", port_file},
                          port_file));
    REQUIRE_OK(mesh.startSidecar(*pod, "b", "8080"));
  }

  // Pod A's app container waits for its proxy (the injected postStart or
  // startup probe): with no proxy yet, wait-ready does not succeed.
  Pod& pod_a = **a;
  auto early = pod_a.ns->runResult({mesh.proxyBinary(), "wait-ready", "--timeout", "1"}, 10s);
  CHECK(early.exit_code == 1);
  auto waiting = remora::harness::Process::start(remora::harness::ProcessOptions{
      pod_a.ns->exec({mesh.proxyBinary(), "wait-ready", "--timeout", "30"}), {}, dir, "a-wait-ready"});
  REQUIRE_OK(waiting);
  REQUIRE_OK(pod_a.ns->run({mesh.proxyBinary(), "init"}));
  auto sidecar = mesh.launchSidecar(pod_a, "a", "8080", {"--drain-time-ms", "6000"});
  REQUIRE_OK(sidecar);
  pod_a.sidecar.emplace(std::move(*sidecar));
  auto waited = waiting->waitExit(40s);
  INFO(mesh.sidecarLogs());
  REQUIRE(waited);
  CHECK(*waited == 0);
  // The moment wait-ready returned, the proxy was ready.
  CHECK(pod_a.ns->runResult({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:15000/ready"})
            .stdout_text == "200");

  // Both b instances serve before the load starts.
  bool flowing = false;
  for (int i = 0; i < 75 && !flowing; ++i) {
    flowing = mesh.curl(pod_a, "http://b:8080/echo", {"--resolve", "b:8080:10.96.0.2"}).status == 200;
    if (!flowing) std::this_thread::sleep_for(200ms);
  }
  REQUIRE(flowing);

  auto load = remora::harness::Process::start(remora::harness::ProcessOptions{
      pod_a.ns->exec({python3Path(), "-c", kLoad, "5", "5000"}), {}, dir, "a-load"});
  REQUIRE_OK(load);
  std::this_thread::sleep_for(1s);
  // One callee's sidecar goes away under load, as its pod is deleted; its
  // app stops once the sidecar has drained.
  (*b1)->sidecar->signal(SIGTERM);
  std::this_thread::sleep_for(1s);
  // The caller's pod is deleted too: its app keeps calling out while it
  // shuts down, through the draining sidecar.
  pod_a.sidecar->signal(SIGTERM);
  CHECK(pod_a.ns->runResult({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:15000/ready"})
            .stdout_text == "503");
  auto b1_exit = (*b1)->sidecar->waitExit(20s);
  REQUIRE(b1_exit);
  CHECK(*b1_exit == 0);
  auto done = load->waitExit(30s);
  REQUIRE(done);
  const std::string result = load->readStdout();
  INFO(result << "\n" << load->readStderr() << mesh.sidecarLogs());
  CHECK(count(result, "ok") >= 100);
  CHECK(count(result, "failed") == 0);
  auto a_exit = pod_a.sidecar->waitExit(20s);
  REQUIRE(a_exit);
  CHECK(*a_exit == 0);
}
