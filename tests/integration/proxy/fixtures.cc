#include "tests/integration/proxy/fixtures.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace remora::itest {

std::string indent(const std::string& text, int spaces) {
  std::string pad(spaces, ' ');
  std::string out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out += (line.empty() ? "" : pad + line) + "\n";
  return out;
}

std::string httpListenerYaml(const HttpListenerSpec& spec) {
  std::string vhosts = spec.virtual_hosts;
  if (vhosts.empty()) {
    vhosts = "- name: all\n  domains: [\"*\"]\n  routes:\n" + indent(spec.routes, 2);
  }
  std::string hcm = "\"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
                    "HttpConnectionManager\nstat_prefix: " + spec.name + "\n" + spec.hcm_extra +
                    (spec.hcm_extra.empty() || spec.hcm_extra.back() == '\n' ? "" : "\n") +
                    "route_config:\n  name: routes\n  virtual_hosts:\n" + indent(vhosts, 2) +
                    "http_filters:\n- name: envoy.filters.http.router\n  typed_config:\n"
                    "    \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n";
  return "- name: " + spec.name +
         "\n  address:\n    socket_address: { address: 127.0.0.1, port_value: 0 }\n" +
         (spec.direction.empty() ? "" : "  traffic_direction: " + spec.direction + "\n") +
         "  filter_chains:\n"
         "  - filters:\n    - name: envoy.filters.network.http_connection_manager\n      typed_config:\n" +
         indent(hcm, 8);
}

std::string tcpListenerYaml(const std::string& name, const std::string& cluster) {
  return "- name: " + name +
         "\n  address:\n    socket_address: { address: 127.0.0.1, port_value: 0 }\n  filter_chains:\n"
         "  - filters:\n    - name: envoy.filters.network.tcp_proxy\n      typed_config:\n"
         "        \"@type\": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\n"
         "        stat_prefix: " + name + "\n        cluster: " + cluster + "\n";
}

std::string clusterYaml(const ClusterSpec& spec) {
  std::string out = "- name: " + spec.name + "\n  type: STATIC\n  connect_timeout: " + spec.connect_timeout + "\n";
  if (spec.http2) {
    out += "  typed_extension_protocol_options:\n    envoy.extensions.upstreams.http.v3.HttpProtocolOptions:\n"
           "      \"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\n"
           "      explicit_http_config:\n        http2_protocol_options: {}\n";
  }
  if (!spec.extra.empty()) out += indent(spec.extra, 2);
  out += "  load_assignment:\n    cluster_name: " + spec.name + "\n    endpoints:\n    - lb_endpoints:\n";
  for (const auto& ep : spec.endpoints) {
    const size_t colon = ep.rfind(':');
    out += "      - endpoint:\n          address:\n            socket_address: { address: \"" + ep.substr(0, colon) +
           "\", port_value: " + ep.substr(colon + 1) + " }\n";
  }
  return out;
}

std::string bootstrapYaml(const std::vector<std::string>& listeners, const std::vector<std::string>& clusters) {
  std::string out = "admin:\n  address:\n    socket_address: { address: 127.0.0.1, port_value: 0 }\n"
                    "static_resources:\n  listeners:\n";
  for (const auto& l : listeners) out += indent(l, 2);
  out += "  clusters:\n";
  for (const auto& c : clusters) out += indent(c, 2);
  return out;
}

namespace {
std::set<std::string> socketInodes(pid_t pid) {
  std::set<std::string> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    char target[256];
    const std::string link = dir + "/" + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;
    target[n] = 0;
    std::string t(target);
    if (t.rfind("socket:[", 0) == 0) out.insert(t.substr(8, t.size() - 9));
  }
  ::closedir(d);
  return out;
}
}  // namespace

uint16_t waitForListeningPort(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto inodes = socketInodes(pid);
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
      std::ifstream in(table);
      std::string line;
      std::getline(in, line);  // header
      while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string sl, local, remote, state, queues, tr, retr, uid, to, inode;
        f >> sl >> local >> remote >> state >> queues >> tr >> retr >> uid >> to >> inode;
        if (state != "0A" || !inodes.count(inode)) continue;  // 0A: LISTEN
        return static_cast<uint16_t>(std::stoul(local.substr(local.find(':') + 1), nullptr, 16));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

base::Result<harness::Process> startNghttpd(const std::string& docroot, uint16_t& port) {
  harness::ProcessOptions o;
  o.args = {"nghttpd", "--no-tls", "-a", "127.0.0.1", "-d", docroot, "0"};
  auto p = harness::Process::start(o);
  if (!p) return p.error();
  port = waitForListeningPort(p->pid(), std::chrono::seconds(10));
  if (port == 0) return base::fail(base::Error::kIo, "nghttpd did not start listening");
  return std::move(*p);
}

uint64_t peakRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

}  // namespace remora::itest
