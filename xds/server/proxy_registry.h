// ProxyStatus: what one connected proxy has been sent, ACKed and NACKed, per
// type URL; the sessions record it as they go. ProxyRegistry: the statuses of
// every open ADS stream, for `remoractl proxy-status` and tests. The registry
// is thread-safe (gRPC threads update it, the API reads it); a ProxyStatus is
// a plain value.
#pragma once

#include <google/protobuf/struct.pb.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "envoy/config/core/v3/base.pb.h"
#include "xds/base/status.h"

namespace remora::xds::server {

using TimePoint = std::chrono::system_clock::time_point;
// Injected so tests control "connected since" and NACK times.
using Clock = std::function<TimePoint()>;
Clock systemClock();

struct NackRecord {
  std::string version;  // the version of the response that was rejected
  std::string nonce;
  std::string error;    // error_detail.message
  TimePoint time;
};

struct TypeStatus {
  std::string version_sent;
  std::string nonce_sent;
  std::string version_acked;
  std::optional<NackRecord> last_nack;
  uint64_t responses = 0;
  uint64_t acks = 0;
  uint64_t nacks = 0;
};

struct ProxyStatus {
  std::string node_id;
  std::string cluster;
  google::protobuf::Struct metadata;
  bool delta = false;
  TimePoint connected_since;
  TimePoint last_seen;
  std::map<std::string, TypeStatus> types;  // by type URL
};

// Used by both session kinds so SotW and delta record alike.
void recordSent(ProxyStatus& status, const std::string& type_url, const std::string& version,
                const std::string& nonce);
void recordAck(ProxyStatus& status, const std::string& type_url, const std::string& version);
void recordNack(ProxyStatus& status, const std::string& type_url, NackRecord nack);

// What every request of a stream (SotW or delta) updates first: the first one
// must name the node, which is recorded (`node_seen` then becomes true); each
// refreshes last_seen; a request without a type URL is refused.
base::Status recordRequest(ProxyStatus& status, bool& node_seen, const envoy::config::core::v3::Node* node,
                           const std::string& type_url, TimePoint now);

// One JSON object per proxy in a JSON array; times in RFC 3339 UTC.
std::string proxyStatusJson(const std::vector<ProxyStatus>& statuses);

class ProxyRegistry {
 public:
  using StreamId = uint64_t;

  StreamId add(const ProxyStatus& status);
  void update(StreamId id, const ProxyStatus& status);
  void remove(StreamId id);
  // Every open stream's status, oldest stream first.
  std::vector<ProxyStatus> list() const;

 private:
  mutable std::mutex mutex_;
  std::map<StreamId, ProxyStatus> streams_;
  StreamId next_id_ = 1;
};

}  // namespace remora::xds::server
