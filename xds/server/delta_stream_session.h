// DeltaStreamSession: the server side of one incremental (delta) ADS stream,
// with no I/O; the delta twin of StreamSession, fed the same way. Per type
// URL it tracks the subscription (wildcard for Listener/Cluster when the
// first request subscribes to nothing or to "*", plus explicit names), and
// the version of every resource the client holds, seeded from
// initial_resource_versions on the first request so a reconnecting client is
// not sent what it already has. A response carries the resources whose
// version differs from the client's and removed_resources for those it holds
// that are gone. Nonces, stale requests, ACK and NACK as in StreamSession; a
// NACKed resource version is not sent again (the client's map is updated as
// we send, so only a new version goes out).
//
// One stream, one thread at a time (the transport serialises calls).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "xds/base/status.h"
#include "xds/server/proxy_registry.h"
#include "xds/server/resource_snapshot.h"

namespace remora::xds::server {

using DeltaDiscoveryRequest = envoy::service::discovery::v3::DeltaDiscoveryRequest;
using DeltaDiscoveryResponse = envoy::service::discovery::v3::DeltaDiscoveryResponse;

class DeltaStreamSession {
 public:
  using Request = DeltaDiscoveryRequest;
  using Response = DeltaDiscoveryResponse;

  explicit DeltaStreamSession(Clock clock);

  // The first request must carry the node (else kInvalidArgument).
  base::Result<std::vector<DeltaDiscoveryResponse>> onRequest(const DeltaDiscoveryRequest& request);
  std::vector<DeltaDiscoveryResponse> onSnapshot(std::shared_ptr<const ResourceSnapshot> snapshot);

  const std::string& nodeId() const { return status_.node_id; }
  const ProxyStatus& status() const { return status_; }

 private:
  struct TypeState {
    bool wildcard = false;
    std::set<std::string> names;
    // What the client holds (or was last sent): name -> version.
    std::map<std::string, std::string> client_versions;
    std::string last_nonce;
    std::string acked_nonce;
    // A wildcard type is answered once even when empty: the client waits for
    // a first response to know the set is complete.
    bool answered = false;
  };

  std::optional<DeltaDiscoveryResponse> respond(const std::string& type_url, TypeState& type);

  Clock clock_;
  ProxyStatus status_;
  bool node_seen_ = false;
  std::shared_ptr<const ResourceSnapshot> snapshot_;
  std::map<std::string, TypeState> types_;
  uint64_t next_nonce_ = 1;
};

}  // namespace remora::xds::server
