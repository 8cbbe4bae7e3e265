// ResourceNameCache: what a simulated proxy must learn from the Listeners and
// Clusters it receives to subscribe like a real Envoy: the route
// configurations its HTTP connection managers load by RDS, and the EDS names
// of its clusters. Every simulated proxy receives the same resources, so the
// decoding is done once per distinct serialized resource and shared.
//
// Called from gRPC's callback threads by every stream at once; thread-safe.
#pragma once

#include <google/protobuf/any.pb.h>

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace remora::bench {

class ResourceNameCache {
 public:
  // RDS route configuration names used by the listener's HTTP connection
  // managers (filter chains, default chain, API listener); empty when none
  // or when the bytes do not decode.
  std::vector<std::string> routeNames(const google::protobuf::Any& listener);
  // The name an EDS cluster's endpoints are requested by (its service_name,
  // else the cluster name); empty for a cluster that is not EDS.
  std::string edsName(const google::protobuf::Any& cluster);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::vector<std::string>> routes_;  // listener bytes -> names
  std::unordered_map<std::string, std::string> eds_;                  // cluster bytes -> name
};

// True when the serialized ClusterLoadAssignment has an endpoint whose socket
// address is exactly `address`. Cheap for the common miss: the bytes are
// searched before anything is decoded.
bool assignmentHasAddress(std::string_view assignment_bytes, std::string_view address);

// Field 1 of a serialized resource: the name of a Listener, Cluster or
// RouteConfiguration, the cluster_name of a ClusterLoadAssignment ("" when
// malformed).
std::string resourceName(const std::string& bytes);

}  // namespace remora::bench
