// StreamSession: the server side of one state-of-the-world ADS stream, with
// no I/O. The transport feeds it the stream's requests and the node's
// snapshots and sends the responses it returns, in order. Per type URL it
// tracks the subscribed names (wildcard for Listener/Cluster when the names
// are empty or "*"), the last nonce and version sent, and ACKs and NACKs:
//   - a request whose response_nonce is not the last one sent for its type
//     is stale and ignored (the client has not seen our newest response);
//   - error_detail makes it a NACK: recorded, and the same content is not
//     sent again (only a new snapshot or a change of names sends);
//   - Listener/Cluster responses carry every resource of the type, the
//     other types only the subscribed names, and of those only the ones
//     that changed since the last response (all of them after a change of
//     names or a NACK): the protocol lets a client keep what a Route or
//     Endpoint response leaves out;
//   - a type is sent only when what this proxy would get changed;
//   - resume: a new stream's first wildcard Listener/Cluster request whose
//     version_info equals the snapshot's version (a proxy that held this
//     content, from this or another replica: versions derive from content)
//     is recorded as sent and ACKed, and nothing is sent until it changes.
//     Only wildcard types: their responses carry every resource, so the
//     version alone says what the client holds. A by-name type's version
//     does not cover names subscribed after its last response, so those are
//     sent again.
// version_info is the snapshot's version.
//
// One stream, one thread at a time (the transport serialises calls).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "xds/base/status.h"
#include "xds/server/proxy_registry.h"
#include "xds/server/resource_snapshot.h"

namespace remora::xds::server {

using DiscoveryRequest = envoy::service::discovery::v3::DiscoveryRequest;
using DiscoveryResponse = envoy::service::discovery::v3::DiscoveryResponse;

class StreamSession {
 public:
  using Request = DiscoveryRequest;
  using Response = DiscoveryResponse;

  explicit StreamSession(Clock clock);

  // A request from the proxy. The first one must carry the node (else
  // kInvalidArgument: the stream should end). Returns what to send now.
  base::Result<std::vector<DiscoveryResponse>> onRequest(const DiscoveryRequest& request);
  // The node's snapshot changed (or is known for the first time).
  std::vector<DiscoveryResponse> onSnapshot(std::shared_ptr<const ResourceSnapshot> snapshot);

  // Empty until the first request arrived.
  const std::string& nodeId() const { return status_.node_id; }
  const ProxyStatus& status() const { return status_; }

 private:
  struct TypeState {
    bool wildcard = false;
    std::vector<std::string> names;  // sorted, unique, without "*"
    uint64_t names_generation = 0;  // bumped when `names` changes
    uint64_t names_digest = 0;      // of the request names `names` was made from
    std::string last_nonce;
    std::optional<std::string> sent_content;  // hash of what we last sent
    std::optional<std::string> nacked_content;
    std::string acked_nonce;
    // What the content hash was last computed from (see respond()).
    std::vector<ResourcePartPtr> hashed_parts;
    uint64_t hashed_names_generation = 0;
    // What the last response was cut from, for sending only what changed.
    std::vector<ResourcePartPtr> sent_parts;
    uint64_t sent_names_generation = 0;
    bool hashed_wildcard = false;
    // The version a new stream's first request claims the client holds;
    // consumed by the first respond().
    std::string resume_version;
  };

  // A response for the type when its content differs from what was sent.
  std::optional<DiscoveryResponse> respond(const std::string& type_url, TypeState& type);

  Clock clock_;
  ProxyStatus status_;
  bool node_seen_ = false;
  std::shared_ptr<const ResourceSnapshot> snapshot_;
  std::map<std::string, TypeState> types_;
  uint64_t next_nonce_ = 1;
};

}  // namespace remora::xds::server
