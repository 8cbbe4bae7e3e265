#include "tests/bench/cp_load/delta_load_stream.h"

namespace remora::bench {

void DeltaLoadStream::call(AdsStub& stub, grpc::ClientContext& context) {
  stub.async()->DeltaAggregatedResources(&context, this);
}

void DeltaLoadStream::sendInitial(const envoy::config::core::v3::Node& node) {
  Request listeners;
  *listeners.mutable_node() = node;
  listeners.set_type_url(kListenerType);
  send(std::move(listeners));
  Request clusters;
  clusters.set_type_url(kClusterType);
  send(std::move(clusters));
}

void DeltaLoadStream::onResponse(const Response& response, int64_t now_ns) {
  const std::string& type_url = response.type_url();
  TypeState& type = types_[type_url];
  type.answered = true;
  for (const auto& name : response.removed_resources()) {
    type.held.erase(name);
    listener_routes_.erase(name);
    cluster_eds_.erase(name);
  }
  const bool listeners = type_url == kListenerType;
  const bool clusters = type_url == kClusterType;
  std::shared_ptr<const WriteWatch> watch = type_url == kEndpointType ? state_.watch() : nullptr;
  for (const auto& resource : response.resources()) {
    type.held[resource.name()] = resource.version();
    if (listeners) {
      listener_routes_[resource.name()] = names_.routeNames(resource.resource());
    } else if (clusters) {
      cluster_eds_[resource.name()] = names_.edsName(resource.resource());
    } else {
      checkWatch(resource.resource().value(), now_ns, watch.get());
    }
  }

  if (listeners) {
    std::set<std::string> wanted;
    for (const auto& [name, routes] : listener_routes_) wanted.insert(routes.begin(), routes.end());
    resubscribe(kRouteType, route_names_, std::move(wanted));
  } else if (clusters) {
    std::set<std::string> wanted;
    for (const auto& [name, eds] : cluster_eds_) {
      if (!eds.empty()) wanted.insert(eds);
    }
    resubscribe(kEndpointType, eds_names_, std::move(wanted));
  }
  Request ack;
  ack.set_type_url(type_url);
  ack.set_response_nonce(response.nonce());
  send(std::move(ack));

  if (!synced() && complete()) markSynced(now_ns);
}

void DeltaLoadStream::resubscribe(const char* type_url, std::set<std::string>& current, std::set<std::string> wanted) {
  Request change;
  change.set_type_url(type_url);
  for (const auto& name : wanted) {
    if (!current.contains(name)) change.add_resource_names_subscribe(name);
  }
  for (const auto& name : current) {
    if (!wanted.contains(name)) change.add_resource_names_unsubscribe(name);
  }
  current = std::move(wanted);
  if (change.resource_names_subscribe_size() > 0 || change.resource_names_unsubscribe_size() > 0) {
    send(std::move(change));
  }
}

bool DeltaLoadStream::complete() {
  auto find = [&](const char* type_url) -> const TypeState* {
    auto it = types_.find(type_url);
    return it == types_.end() ? nullptr : &it->second;
  };
  auto holds = [&](const char* type_url, const std::set<std::string>& wanted) {
    const TypeState* type = find(type_url);
    for (const auto& name : wanted) {
      if (type == nullptr || !type->held.contains(name)) return false;
    }
    return true;
  };
  const TypeState* listeners = find(kListenerType);
  const TypeState* clusters = find(kClusterType);
  const bool have_listeners = listeners != nullptr && listeners->answered;
  const bool have_clusters = clusters != nullptr && clusters->answered;
  const unsigned stages = (have_listeners ? kStageListeners : 0) | (have_clusters ? kStageClusters : 0) |
                          (have_listeners && holds(kRouteType, route_names_) ? kStageRoutes : 0) |
                          (have_clusters && holds(kEndpointType, eds_names_) ? kStageEndpoints : 0);
  record_.stages = stages;
  return stages == (kStageListeners | kStageClusters | kStageRoutes | kStageEndpoints);
}

}  // namespace remora::bench
