#include "tests/bench/cp_load/resource_names.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"

namespace remora::bench {

namespace {

using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;

void addRds(const google::protobuf::Any& typed_config, std::vector<std::string>& out) {
  HttpConnectionManager hcm;
  if (!typed_config.Is<HttpConnectionManager>() || !typed_config.UnpackTo(&hcm)) return;
  if (hcm.has_rds() && !hcm.rds().route_config_name().empty()) out.push_back(hcm.rds().route_config_name());
}

void addChain(const envoy::config::listener::v3::FilterChain& chain, std::vector<std::string>& out) {
  for (const auto& filter : chain.filters()) {
    if (filter.has_typed_config()) addRds(filter.typed_config(), out);
  }
}

std::vector<std::string> decodeRouteNames(const google::protobuf::Any& any) {
  std::vector<std::string> out;
  envoy::config::listener::v3::Listener listener;
  if (!any.UnpackTo(&listener)) return out;
  for (const auto& chain : listener.filter_chains()) addChain(chain, out);
  if (listener.has_default_filter_chain()) addChain(listener.default_filter_chain(), out);
  if (listener.has_api_listener()) addRds(listener.api_listener().api_listener(), out);
  return out;
}

std::string decodeEdsName(const google::protobuf::Any& any) {
  envoy::config::cluster::v3::Cluster cluster;
  if (!any.UnpackTo(&cluster)) return {};
  if (cluster.type() != envoy::config::cluster::v3::Cluster::EDS && !cluster.has_eds_cluster_config()) return {};
  const std::string& service_name = cluster.eds_cluster_config().service_name();
  return service_name.empty() ? cluster.name() : service_name;
}

}  // namespace

std::vector<std::string> ResourceNameCache::routeNames(const google::protobuf::Any& listener) {
  {
    std::lock_guard lock(mutex_);
    auto it = routes_.find(listener.value());
    if (it != routes_.end()) return it->second;
  }
  // Decoded outside the lock: two streams may decode the same bytes once
  // each, which is cheaper than serialising every decode.
  std::vector<std::string> names = decodeRouteNames(listener);
  std::lock_guard lock(mutex_);
  routes_.emplace(listener.value(), names);
  return names;
}

std::string ResourceNameCache::edsName(const google::protobuf::Any& cluster) {
  {
    std::lock_guard lock(mutex_);
    auto it = eds_.find(cluster.value());
    if (it != eds_.end()) return it->second;
  }
  std::string name = decodeEdsName(cluster);
  std::lock_guard lock(mutex_);
  eds_.emplace(cluster.value(), name);
  return name;
}

bool assignmentHasAddress(std::string_view assignment_bytes, std::string_view address) {
  // "10.250.0.3" is also a substring of "10.250.0.30": the search only
  // filters, the decode decides.
  if (address.empty() || assignment_bytes.find(address) == std::string_view::npos) return false;
  envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
  if (!assignment.ParseFromArray(assignment_bytes.data(), static_cast<int>(assignment_bytes.size()))) return false;
  for (const auto& locality : assignment.endpoints()) {
    for (const auto& lb_endpoint : locality.lb_endpoints()) {
      const auto& socket = lb_endpoint.endpoint().address().socket_address();
      if (socket.address() == address) return true;
    }
  }
  return false;
}

std::string resourceName(const std::string& bytes) {
  // Only field 1 is read: decoding whole assignments for 1,000 proxies x
  // 1,000 clusters per push would cost the load tool more CPU than the
  // control plane it measures (they share the machine).
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data()),
                                               static_cast<int>(bytes.size()));
  while (uint32_t tag = input.ReadTag()) {
    if (google::protobuf::internal::WireFormatLite::GetTagFieldNumber(tag) == 1 &&
        google::protobuf::internal::WireFormatLite::GetTagWireType(tag) ==
            google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string name;
      uint32_t length = 0;
      if (!input.ReadVarint32(&length) || !input.ReadString(&name, static_cast<int>(length))) return {};
      return name;
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(&input, tag)) return {};
  }
  return {};
}

}  // namespace remora::bench
