#include "tests/integration/harness/proxy_process.h"

#include <algorithm>

#include <signal.h>

#include <cctype>
#include <cstdlib>
#include <charconv>
#include <thread>

#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/raw_connection.h"

namespace remora::harness {
namespace {

using base::Error;
using base::fail;

std::string_view trimSpace(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// Reads a JSON string starting at json[pos] == '"'; leaves pos after the
// closing quote. Escapes other than \" and \\ are kept verbatim: names and
// addresses never need them.
std::string readJsonString(std::string_view json, size_t& pos) {
  std::string out;
  for (++pos; pos < json.size() && json[pos] != '"'; ++pos) {
    if (json[pos] == '\\' && pos + 1 < json.size()) {
      const char next = json[pos + 1];
      if (next == '"' || next == '\\' || next == '/') {
        out.push_back(next);
        ++pos;
        continue;
      }
    }
    out.push_back(json[pos]);
  }
  ++pos;
  return out;
}

void skipSpace(std::string_view json, size_t& pos) {
  while (pos < json.size() && std::isspace(static_cast<unsigned char>(json[pos]))) ++pos;
}

}  // namespace

std::string adsBootstrap(uint16_t xds_port, std::string_view node_yaml, bool delta,
                         std::string_view static_listeners_yaml) {
  return "node: " + std::string(node_yaml) + R"(
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
dynamic_resources:
  ads_config:
    api_type: )" + (delta ? "DELTA_GRPC" : "GRPC") + R"(
    transport_api_version: V3
    grpc_services: [{envoy_grpc: {cluster_name: xds_cluster}}]
  lds_config: {ads: {}, resource_api_version: V3}
  cds_config: {ads: {}, resource_api_version: V3}
static_resources:
)" + std::string(static_listeners_yaml) +
         R"(  clusters:
  - name: xds_cluster
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}
    load_assignment:
      cluster_name: xds_cluster
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: )" +
         std::to_string(xds_port) + R"(}}}}]}]
)";
}

std::string secureAdsBootstrap(uint16_t xds_port, std::string_view node_yaml, const std::string& root_file,
                               bool delta) {
  return adsBootstrap(xds_port, node_yaml, delta) + R"(    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        common_tls_context:
          alpn_protocols: [h2]
          tls_certificate_sds_secret_configs: [{name: default, sds_config: {ads: {}}}]
          combined_validation_context:
            default_validation_context:
              trusted_ca: {filename: )" + root_file + R"(}
              match_typed_subject_alt_names:
              - {san_type: URI, matcher: {exact: "spiffe://cluster.local/ns/remora-system/sa/remora-cp"}}
            validation_context_sds_secret_config: {name: ROOTCA, sds_config: {ads: {}}}
)";
}

base::Result<std::unique_ptr<ProxyProcess>> ProxyProcess::start(ProxyOptions options) {
  TempDir dir("remora-proxy");
  const std::string config = dir.file("bootstrap.yaml");
  const std::string admin_file = dir.file("admin-address");
  if (auto written = writeFile(config, options.bootstrap_yaml); !written) return written.error();

  std::vector<std::string> args = options.wrapper;
  for (const std::string& arg : {options.binary.empty() ? binaryPath("remora-proxy") : options.binary,
                                 std::string("--config"), config, std::string("--admin-address-path"), admin_file,
                                 std::string("--concurrency"), std::to_string(options.concurrency)}) {
    args.push_back(arg);
  }
  // A sidecar with an outbound listener serves for the whole drain time
  // after SIGTERM; tests that do not study draining need not wait 5 s.
  if (options.binary.empty() &&
      std::find(options.extra_args.begin(), options.extra_args.end(), "--drain-time-ms") == options.extra_args.end()) {
    args.insert(args.end(), {"--drain-time-ms", "500"});
  }
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  auto process = Process::start(ProcessOptions{std::move(args), options.env, dir.path(), "remora-proxy"});
  if (!process) return process.error();

  auto address = waitForFile(admin_file, options.start_timeout, [&] { return process->running(); });
  if (!address) {
    std::string logs = process->readStderr();
    const int code = process->stop();
    return fail(Error::kIo, "remora-proxy did not start (exit " + std::to_string(code) +
                                "): " + address.error().message + "\n" + logs);
  }
  return std::unique_ptr<ProxyProcess>(
      new ProxyProcess(std::move(dir), std::move(*process), std::string(trimSpace(*address))));
}

base::Result<HttpResponse> ProxyProcess::admin(std::string_view method, std::string_view path) {
  HttpRequest request;
  request.method = std::string(method);
  request.path = std::string(path);
  return httpRequest(admin_address_, request);
}

base::Status ProxyProcess::waitReady(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    auto response = admin("GET", "/ready");
    if (response && response->status == 200) return base::Status::ok();
    last = response ? "status " + std::to_string(response->status) + ": " + response->body
                    : response.error().message;
    if (!process_.running()) return fail(Error::kIo, "remora-proxy exited while waiting for /ready");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fail(Error::kIo, "GET /ready never answered 200; last: " + last);
}

base::Result<std::string> ProxyProcess::listenerAddress(std::string_view name) {
  auto response = admin("GET", "/listeners");
  if (!response) return response.error();
  if (response->status != 200) {
    return fail(Error::kIo, "GET /listeners answered " + std::to_string(response->status));
  }
  return parseListenerAddress(response->body, name);
}

base::Result<std::map<std::string, std::string>> ProxyProcess::allStats() {
  auto response = admin("GET", "/stats");
  if (!response) return response.error();
  if (response->status != 200) return fail(Error::kIo, "GET /stats answered " + std::to_string(response->status));
  return parseStats(response->body);
}

base::Result<uint64_t> ProxyProcess::stats(std::string_view name) {
  auto all = allStats();
  if (!all) return all.error();
  const auto it = all->find(std::string(name));
  if (it == all->end()) return fail(Error::kNotFound, "no stat named " + std::string(name));
  uint64_t value = 0;
  const std::string& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return fail(Error::kInvalidArgument, "stat " + std::string(name) + " is not a number: " + text);
  }
  return value;
}

base::Result<int> ProxyProcess::stop(std::chrono::milliseconds timeout) {
  if (process_.running()) {
    if (auto sent = process_.signal(SIGTERM); !sent) return sent.error();
  }
  return process_.waitExit(timeout);
}

std::string ProxyProcess::logs() const {
  return "--- remora-proxy stderr ---\n" + process_.readStderr() + "\n--- remora-proxy stdout ---\n" +
         process_.readStdout();
}

base::Result<std::string> parseListenerAddress(std::string_view json, std::string_view name) {
  // One frame per open object: its "name" and "address" string values.
  struct Frame {
    std::string name;
    std::string address;
  };
  std::vector<Frame> stack;
  size_t pos = 0;
  while (pos < json.size()) {
    const char c = json[pos];
    if (c == '{') {
      stack.emplace_back();
      ++pos;
    } else if (c == '}') {
      if (!stack.empty()) {
        if (stack.back().name == name && !stack.back().address.empty()) return stack.back().address;
        stack.pop_back();
      }
      ++pos;
    } else if (c == '"') {
      const std::string key = readJsonString(json, pos);
      skipSpace(json, pos);
      if (pos >= json.size() || json[pos] != ':') continue;  // a string value in an array
      ++pos;
      skipSpace(json, pos);
      if (pos < json.size() && json[pos] == '"') {
        std::string value = readJsonString(json, pos);
        if (!stack.empty() && key == "name") stack.back().name = std::move(value);
        if (!stack.empty() && key == "address") stack.back().address = std::move(value);
      }
    } else {
      ++pos;
    }
  }
  return fail(Error::kNotFound, "no listener named " + std::string(name) + " in " + std::string(json));
}

std::map<std::string, std::string> parseStats(std::string_view text) {
  std::map<std::string, std::string> stats;
  while (!text.empty()) {
    const size_t line_end = text.find('\n');
    const std::string_view line = text.substr(0, line_end);
    text.remove_prefix(line_end == std::string_view::npos ? text.size() : line_end + 1);
    const size_t colon = line.find(": ");
    if (colon == std::string_view::npos) continue;
    stats[std::string(trimSpace(line.substr(0, colon)))] = std::string(trimSpace(line.substr(colon + 2)));
  }
  return stats;
}

uint64_t sumFamily(const std::map<std::string, std::string>& stats, std::string_view family, std::string_view needle) {
  uint64_t total = 0;
  for (const auto& [name, value] : stats) {
    const bool labelled = name.size() > family.size() && name.compare(0, family.size(), family) == 0 &&
                          name[family.size()] == '{';
    if (name != family && !labelled) continue;
    if (!needle.empty() && name.find(needle) == std::string::npos) continue;
    total += std::strtoull(value.c_str(), nullptr, 10);
  }
  return total;
}

std::string fillTemplate(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [key, value] : values) {
    const std::string marker = "{{" + key + "}}";
    for (size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at + value.size())) {
      text.replace(at, marker.size(), value);
    }
  }
  return text;
}

std::string simpleHttpBootstrap(std::string_view backend_address) {
  auto parts = splitHostPort(backend_address);
  const std::string host = parts ? parts->first : std::string(backend_address);
  const std::string port = parts ? std::to_string(parts->second) : "0";
  return fillTemplate(R"(admin:
  address:
    socket_address: { address: 127.0.0.1, port_value: 0 }
static_resources:
  listeners:
  - name: ingress
    address:
      socket_address: { address: 127.0.0.1, port_value: 0 }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            name: local
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: backend }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: backend
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: "{{host}}", port_value: {{port}} }
)",
                      {{"host", host}, {"port", port}});
}

}  // namespace remora::harness
