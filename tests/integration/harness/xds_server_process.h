// The xDS management server of tests/integration/xds_server/server.js (Node,
// @grpc/grpc-js, Envoy's official protos) as a child process: a control plane
// that is not ours, for remora-proxy's ADS interop tests. Test thread only.
//
// The test sets resources as proto3 JSON (each with "@type") through the
// server's control API, and reads back every ADS request the server got:
// subscriptions, ACKs and NACKs with their error_detail. The server answers
// on 127.0.0.1 only; its node modules come from scripts/deps.sh (npm ci).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"
#include "xds/base/status.h"

namespace remora::harness {

// The type URLs of the kinds setResources() takes.
inline constexpr std::string_view kXdsListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener";
inline constexpr std::string_view kXdsRouteType = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
inline constexpr std::string_view kXdsClusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr std::string_view kXdsEndpointType =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
inline constexpr std::string_view kXdsSecretType = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

struct XdsErrorDetail {
  int code = 0;
  std::string message;
};

// One DiscoveryRequest or DeltaDiscoveryRequest as the server received it
// (an element of GET /requests).
struct XdsRequest {
  int index = 0;     // position in the server's log since the last resetRequests()
  int stream = 0;    // the server's id of the ADS stream, 1, 2, ... across reconnects
  bool delta = false;
  bool stale = false;  // SotW: the nonce was not the last one sent, so the server ignored it
  std::string type_url;
  std::string version_info;  // SotW only ("" for delta)
  std::string response_nonce;
  // SotW: resource_names; delta: resource_names_subscribe.
  std::vector<std::string> resource_names;
  std::vector<std::string> resource_names_unsubscribe;  // delta only
  std::map<std::string, std::string> initial_resource_versions;  // delta only
  std::optional<XdsErrorDetail> error_detail;
  std::string node_id;  // from the stream's first request

  bool isNack() const { return error_detail.has_value(); }
  bool isAck() const { return !response_nonce.empty() && !error_detail && !stale; }
};

// Parses GET /requests (a JSON array) into XdsRequests.
base::Result<std::vector<XdsRequest>> parseXdsRequests(std::string_view json);

class XdsServerProcess {
 public:
  // Starts `node server.js` with its port file and logs in `dir` (which must
  // outlive this object). xds_port 0: the kernel picks; a given port is bound
  // exactly, so starting again with a killed server's xdsPort() takes its
  // place. Fails with "run scripts/deps.sh" when node or the node modules
  // are missing.
  static base::Result<XdsServerProcess> start(const TempDir& dir, uint16_t xds_port = 0);

  uint16_t xdsPort() const { return xds_port_; }
  uint16_t controlPort() const { return control_port_; }
  // "127.0.0.1:PORT" of the ADS endpoint, for a bootstrap's ads cluster.
  std::string xdsAddress() const { return "127.0.0.1:" + std::to_string(xds_port_); }

  // PUT /resources/<kind> (listeners, routes, clusters, endpoints, secrets):
  // replaces the whole set of that kind with `resources_json_array` (a JSON
  // array of proto3 JSON objects with "@type") and pushes it to every stream.
  // Returns the version; `version` "" lets the server count up (1, 2, ...).
  // A resource that does not fit the official protos fails with the server's
  // message, which names the JSON path.
  base::Result<std::string> setResources(std::string_view kind, std::string_view resources_json_array,
                                         std::string_view version = "");

  // PUT /raw/<kind>: like setResources(), but an element may also be
  // {"type_url": "...", "value_base64": "...", "name": "..."}: bytes sent as
  // they are, e.g. not a valid message, or a type URL of another kind.
  base::Result<std::string> setRawResources(std::string_view kind, std::string_view resources_json_array,
                                            std::string_view version = "");

  // GET /requests, /streams, /state: the raw JSON.
  base::Result<std::string> requestsJson();
  base::Result<std::string> streamsJson();
  base::Result<std::string> stateJson();
  // GET /requests, parsed.
  base::Result<std::vector<XdsRequest>> requests();
  // Polls GET /requests until one matches; returns the first that does.
  base::Result<XdsRequest> waitForRequest(const std::function<bool(const XdsRequest&)>& match,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // POST /reset-requests.
  base::Status resetRequests();
  // POST /close-streams: ends every ADS stream with UNAVAILABLE (the server
  // keeps running); returns how many were open.
  base::Result<int> closeStreams();

  // SIGKILL and reap: the control plane vanishes without a goodbye.
  void kill();
  // Starts the server again in the same dir on the same xDS port (after
  // kill(), or kills it first). The control port may change.
  base::Status restart();
  bool running() { return process_.running(); }

  Process& process() { return process_; }
  // stderr so far: attach to failure messages with INFO().
  std::string logs() const { return process_.readStderr(); }

 private:
  XdsServerProcess(std::string dir, Process process, uint16_t xds_port, uint16_t control_port)
      : dir_(std::move(dir)), process_(std::move(process)), xds_port_(xds_port), control_port_(control_port) {}

  base::Result<std::string> control(std::string_view method, std::string_view path, std::string body = "");
  base::Result<std::string> put(std::string_view section, std::string_view kind, std::string_view array,
                                std::string_view version);

  std::string dir_;
  Process process_;
  uint16_t xds_port_ = 0;
  uint16_t control_port_ = 0;
};

}  // namespace remora::harness
