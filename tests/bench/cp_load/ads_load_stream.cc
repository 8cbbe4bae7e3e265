#include "tests/bench/cp_load/ads_load_stream.h"

#include <algorithm>

namespace remora::bench {

void AdsLoadStream::call(AdsStub& stub, grpc::ClientContext& context) {
  stub.async()->StreamAggregatedResources(&context, this);
}

void AdsLoadStream::sendInitial(const envoy::config::core::v3::Node& node) {
  Request listeners = request(kListenerType, nullptr);
  *listeners.mutable_node() = node;
  send(std::move(listeners));
  send(request(kClusterType, nullptr));
}

AdsLoadStream::Request AdsLoadStream::request(const std::string& type_url, const std::set<std::string>* names) const {
  Request out;
  out.set_type_url(type_url);
  auto it = types_.find(type_url);
  if (it != types_.end()) {
    out.set_version_info(it->second.version);
    out.set_response_nonce(it->second.nonce);
  }
  if (names != nullptr) {
    for (const auto& name : *names) out.add_resource_names(name);
  }
  return out;
}

void AdsLoadStream::onResponse(const Response& response, int64_t now_ns) {
  const std::string& type_url = response.type_url();
  TypeState& type = types_[type_url];
  type.version = response.version_info();
  type.nonce = response.nonce();
  type.answered = true;

  if (type_url == kListenerType) {
    std::set<std::string> routes;
    for (const auto& listener : response.resources()) {
      for (auto& name : names_.routeNames(listener)) routes.insert(std::move(name));
    }
    // Like Envoy: the new RDS subscription goes out before the LDS ACK.
    if (routes != route_names_) {
      route_names_ = std::move(routes);
      send(request(kRouteType, &route_names_));
    }
    send(request(kListenerType, nullptr));
  } else if (type_url == kClusterType) {
    std::set<std::string> eds;
    for (const auto& cluster : response.resources()) {
      std::string name = names_.edsName(cluster);
      if (!name.empty()) eds.insert(std::move(name));
    }
    if (eds != eds_names_) {
      eds_names_ = std::move(eds);
      send(request(kEndpointType, &eds_names_));
    }
    send(request(kClusterType, nullptr));
  } else {
    const bool endpoints = type_url == kEndpointType;
    std::shared_ptr<const WriteWatch> watch = endpoints ? state_.watch() : nullptr;
    for (const auto& resource : response.resources()) {
      if (!synced()) type.held.insert(resourceName(resource.value()));
      checkWatch(resource.value(), now_ns, watch.get());
    }
    send(request(type_url, endpoints ? &eds_names_ : &route_names_));
  }

  if (!synced() && complete()) {
    markSynced(now_ns);
    for (auto& [url, state] : types_) state.held.clear();
  }
}

bool AdsLoadStream::complete() {
  auto holds = [&](const char* type_url, const std::set<std::string>& wanted) {
    auto it = types_.find(type_url);
    if (it == types_.end()) return wanted.empty();
    return std::includes(it->second.held.begin(), it->second.held.end(), wanted.begin(), wanted.end());
  };
  auto answered = [&](const char* type_url) {
    auto it = types_.find(type_url);
    return it != types_.end() && it->second.answered;
  };
  const unsigned stages = (answered(kListenerType) ? kStageListeners : 0) |
                          (answered(kClusterType) ? kStageClusters : 0) |
                          (answered(kListenerType) && holds(kRouteType, route_names_) ? kStageRoutes : 0) |
                          (answered(kClusterType) && holds(kEndpointType, eds_names_) ? kStageEndpoints : 0);
  record_.stages = stages;
  return stages == (kStageListeners | kStageClusters | kStageRoutes | kStageEndpoints);
}

}  // namespace remora::bench
