// The original_dst listener filter and ORIGINAL_DST clusters behind a real
// iptables REDIRECT: the test makes its own network namespace, enters it (so
// every child process and every client socket of this thread lives there),
// redirects TCP to 10.250.0.0/24 into remora-proxy running as uid 1337 (which
// the rule exempts), and checks that HTTP and opaque TCP reach the address the
// client dialled through the proxy, while a direct connection gets
// 502 no_original_destination.
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/raw_connection.h"
#include "tests/integration/harness/temp_dir.h"

using namespace remora::harness;

namespace {

constexpr auto kTimeout = std::chrono::seconds(20);
// The namespace is the test's own, so the proxy's port may be fixed.
constexpr int kProxyPort = 15001;
constexpr const char* kProxyUid = "1337";

// A network namespace named after this process that this thread enters; on
// every exit path the thread returns to its original namespace and the
// namespace is deleted.
class Netns {
 public:
  Netns() : name_("remora-odst-" + std::to_string(::getpid())) {
    if (::geteuid() != 0) {
      why_not_ = "not root";
      return;
    }
    auto added = run({"ip", "netns", "add", name_}, kTimeout);
    if (added.exit_code != 0) {
      why_not_ = added.describe();
      return;
    }
    created_ = true;
    original_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    entered_ = original_ >= 0 && target >= 0 && ::setns(target, CLONE_NEWNET) == 0;
    if (target >= 0) ::close(target);
    if (!entered_) why_not_ = "setns failed";
  }
  ~Netns() {
    if (entered_) (void)::setns(original_, CLONE_NEWNET);
    if (original_ >= 0) ::close(original_);
    if (created_) (void)run({"ip", "netns", "del", name_}, kTimeout);
  }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  bool ok() const { return entered_; }
  const std::string& whyNot() const { return why_not_; }

 private:
  std::string name_;
  std::string why_not_;
  int original_ = -1;
  bool created_ = false;
  bool entered_ = false;
};

void sh(const std::vector<std::string>& args) {
  auto r = run(args, kTimeout);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
}

std::string bootstrap(uint16_t tcp_port) {
  return R"(node: {id: odst-test, cluster: odst-test}
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: outbound
    address: {socket_address: {address: 0.0.0.0, port_value: )" +
         std::to_string(kProxyPort) + R"(}}
    traffic_direction: OUTBOUND
    listener_filters:
    - name: envoy.filters.listener.original_dst
      typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst}
    filter_chains:
    - name: tcp
      filter_chain_match:
        destination_port: )" +
         std::to_string(tcp_port) + R"(
        prefix_ranges: [{address_prefix: 10.250.0.0, prefix_len: 24}]
      filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: tcp
          cluster: PassthroughCluster
    - name: http
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: http
          route_config:
            name: passthrough
            virtual_hosts:
            - name: passthrough
              domains: ["*"]
              routes:
              - match: {prefix: /}
                route: {cluster: PassthroughCluster, timeout: 0s}
                response_headers_to_add: [{header: {key: x-via-remora, value: "yes"}}]
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
  clusters:
  - name: PassthroughCluster
    type: ORIGINAL_DST
    lb_policy: CLUSTER_PROVIDED
    connect_timeout: 2s
    cleanup_interval: 1s
)";
}

// remora-proxy as uid 1337, so its own upstream connections are not
// redirected back to it. Its files live in a directory that uid may read.
class InterceptingProxy {
 public:
  explicit InterceptingProxy(const std::string& yaml) : dir_("remora-odst") {
    ::chmod(dir_.path().c_str(), 0777);
    REQUIRE(writeFile(dir_.file("bootstrap.yaml"), yaml));
    ::chmod(dir_.file("bootstrap.yaml").c_str(), 0644);
    // The build tree may sit in a directory only root can enter (a mktemp
    // checkout): run a copy the proxy's uid can reach.
    const std::string binary = dir_.file("remora-proxy");
    auto content = readFile(binaryPath("remora-proxy"));
    REQUIRE(content);
    REQUIRE(writeFile(binary, *content));
    ::chmod(binary.c_str(), 0755);
    const std::string admin_file = dir_.file("admin-address");
    auto started = Process::start(ProcessOptions{
        {"setpriv", std::string("--reuid=") + kProxyUid, std::string("--regid=") + kProxyUid, "--clear-groups", "--",
         binary, "--config", dir_.file("bootstrap.yaml"), "--admin-address-path", admin_file,
         "--log-level", "debug"},
        {},
        dir_.path(),
        "remora-proxy"});
    REQUIRE(started);
    process_ = std::make_unique<Process>(std::move(*started));
    auto address = waitForFile(admin_file, kTimeout, [this] { return process_->running(); });
    INFO(logs());
    REQUIRE(address);
    admin_ = *address;
    while (!admin_.empty() && (admin_.back() == '\n' || admin_.back() == ' ')) admin_.pop_back();
  }
  std::string logs() const { return process_ ? process_->readStderr() : ""; }
  // One stat from GET /stats ("name: value" lines); -1 when absent.
  long stat(const std::string& name) const {
    auto r = httpGet(admin_, "/stats");
    if (!r) return -1;
    const std::string key = name + ": ";
    const size_t at = r->body.find(key);
    if (at == std::string::npos || (at > 0 && r->body[at - 1] != '\n')) return -1;
    return std::stol(r->body.substr(at + key.size()));
  }

 private:
  TempDir dir_;
  std::unique_ptr<Process> process_;
  std::string admin_;
};

}  // namespace

TEST_CASE("redirected HTTP and TCP reach their original destination through the proxy", "[interception]") {
  Netns ns;
  if (!ns.ok()) {
    FAIL("cannot use a network namespace (these tests need root, as .ci/run has): " << ns.whyNot());
  }
  sh({"ip", "link", "set", "lo", "up"});
  // A veth pair rather than a dummy link: the dummy module is not always there.
  sh({"ip", "link", "add", "odst0", "type", "veth", "peer", "name", "odst1"});
  sh({"ip", "addr", "add", "10.250.0.1/24", "dev", "odst0"});
  sh({"ip", "link", "set", "odst0", "up"});
  sh({"ip", "link", "set", "odst1", "up"});
  sh({"iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-m", "owner", "!", "--uid-owner", kProxyUid, "-d",
      "10.250.0.0/24", "-j", "REDIRECT", "--to-ports", std::to_string(kProxyPort)});

  auto http = BackendProcess::start(
      {python3Path(), sourcePath("tests/integration/backends/http_echo.py"), "--host", "10.250.0.1", "--quiet"},
      "http_echo");
  REQUIRE(http);
  auto tcp = BackendProcess::start(
      {python3Path(), sourcePath("tests/integration/backends/tcp_echo.py"), "--host", "10.250.0.1"}, "tcp_echo");
  REQUIRE(tcp);
  InterceptingProxy proxy(bootstrap(tcp->port()));
  INFO(proxy.logs());

  // The client (root) dials the backend; the kernel hands it to the proxy.
  const std::string backend = "10.250.0.1:" + std::to_string(http->port());
  auto answer = httpGet(backend, "/echo");
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(jsonNumber(answer->body, "server_port") == http->port());
  CHECK(answer->header("x-via-remora") == "yes");
  CHECK(proxy.stat("remora_listener_original_dst_total{listener=\"outbound\",result=\"restored\"}") >= 1);
  CHECK(proxy.stat("remora_upstream_requests_total{cluster=\"PassthroughCluster\"}") == 1);

  auto echo = RawConnection::connect("10.250.0.1:" + std::to_string(tcp->port()));
  REQUIRE(echo);
  REQUIRE(echo->send("ping through the proxy\n"));
  CHECK(echo->readUntil("\n", std::chrono::seconds(5)) == "ping through the proxy\n");
  CHECK(proxy.stat("remora_tcp_connections_total{listener=\"outbound\"}") == 1);

  // A direct connection to the proxy's own port (localhost is not
  // redirected) has no original destination.
  auto direct = httpGet("127.0.0.1:" + std::to_string(kProxyPort), "/");
  REQUIRE(direct);
  CHECK(direct->status == 502);
  CHECK(direct->header("x-remora-error") == "no_original_destination");
  CHECK(proxy.stat("remora_listener_original_dst_total{listener=\"outbound\",result=\"not_redirected\"}") == 1);
  CHECK(proxy.stat(
            "remora_upstream_original_dst_refused_total{cluster=\"PassthroughCluster\",reason=\"no_original_destination\"}") ==
        1);

  // Dialling the proxy's own port on the redirected range loops back to it.
  auto loop = httpGet("10.250.0.1:" + std::to_string(kProxyPort), "/");
  REQUIRE(loop);
  CHECK(loop->status == 502);
  CHECK(loop->header("x-remora-error") == "passthrough_loop");
}
