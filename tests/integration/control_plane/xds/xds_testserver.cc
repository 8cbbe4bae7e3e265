// remora-xds-testserver: remora-cp's ADS service (control-plane/xds) serving
// one snapshot, the default for every node, read from a JSON file:
//   {"version": "v1", "resources": [{"@type": "...Listener", ...}, ...]}
// SIGHUP reloads the file (a bad file keeps the old snapshot and says why on
// stderr); SIGUSR1 writes every connected proxy's status as JSON to
// --status-file (via a temp file and rename, so readers never see half).
// For the integration tests only.
//
//   remora-xds-testserver --resources FILE --status-file FILE --port-file FILE
//                         [--debounce-ms N]
#include <google/protobuf/util/json_util.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "control-plane/xds/xds_server.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"
#include "xds/server/resource_snapshot.h"

namespace {

namespace server = remora::xds::server;

// The JSON parser resolves "@type" through the generated pool, which only
// holds the types the linker kept: reference every one a test may use.
void keepTypes() {
  (void)envoy::config::listener::v3::Listener::descriptor();
  (void)envoy::config::route::v3::RouteConfiguration::descriptor();
  (void)envoy::config::cluster::v3::Cluster::descriptor();
  (void)envoy::config::endpoint::v3::ClusterLoadAssignment::descriptor();
  (void)envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager::descriptor();
  (void)envoy::extensions::filters::http::router::v3::Router::descriptor();
  (void)envoy::extensions::upstreams::http::v3::HttpProtocolOptions::descriptor();
}

remora::base::Result<std::shared_ptr<const server::ResourceSnapshot>> load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return remora::base::fail(remora::base::Error::kIo, "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return remora::base::fail(remora::base::Error::kInvalidArgument, path + ": not a JSON object");
  }
  std::vector<server::NamedResource> resources;
  for (const auto& item : doc.value("resources", nlohmann::json::array())) {
    google::protobuf::Any any;
    auto status = google::protobuf::util::JsonStringToMessage(item.dump(), &any);
    if (!status.ok()) {
      return remora::base::fail(remora::base::Error::kInvalidArgument,
                                path + ": " + std::string(status.message()));
    }
    auto name = server::resourceName(any);
    if (!name) return name.error();
    resources.push_back({*name, std::move(any)});
  }
  return server::ResourceSnapshot::create(doc.value("version", ""), std::move(resources));
}

bool writeStatus(const std::string& path, const std::string& json) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) return false;
    out << json;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string resources_path, status_path, port_path;
  int debounce_ms = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--resources") resources_path = argv[i + 1];
    else if (flag == "--status-file") status_path = argv[i + 1];
    else if (flag == "--port-file") port_path = argv[i + 1];
    else if (flag == "--debounce-ms") debounce_ms = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (resources_path.empty() || port_path.empty()) {
    std::fprintf(stderr, "usage: remora-xds-testserver --resources FILE --port-file FILE [--status-file FILE]\n");
    return 2;
  }
  keepTypes();
  // Blocked before gRPC starts its threads, so only sigwait() sees them.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGUSR1, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  server::SnapshotCache cache;
  server::ProxyRegistry registry;
  auto first = load(resources_path);
  if (!first) {
    std::fprintf(stderr, "%s\n", first.error().message.c_str());
    return 1;
  }
  cache.setSnapshot("", *first);
  remora::cp::xds::AdsServiceOptions options;
  options.debounce = std::chrono::milliseconds(debounce_ms);
  remora::cp::xds::XdsServer xds(cache, registry, options);
  auto port = xds.start("127.0.0.1:0");
  if (!port) {
    std::fprintf(stderr, "%s\n", port.error().message.c_str());
    return 1;
  }
  if (!writeStatus(port_path, std::to_string(*port))) return 1;
  std::fprintf(stderr, "serving xDS on 127.0.0.1:%u, snapshot %s\n", *port, (*first)->version().c_str());

  for (;;) {
    int signo = 0;
    if (sigwait(&signals, &signo) != 0) continue;
    if (signo == SIGHUP) {
      auto next = load(resources_path);
      if (!next) {
        std::fprintf(stderr, "reload failed: %s\n", next.error().message.c_str());
        continue;
      }
      cache.setSnapshot("", *next);
      std::fprintf(stderr, "snapshot %s\n", (*next)->version().c_str());
    } else if (signo == SIGUSR1) {
      if (!status_path.empty()) writeStatus(status_path, server::proxyStatusJson(registry.list()));
    } else {
      break;
    }
  }
  xds.shutdown();
  return 0;
}
