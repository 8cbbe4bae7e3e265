#include "control-plane/main/sidecar_endpoints.h"

#include <algorithm>

namespace remora::cp {

namespace v1 = ::remora::mesh::v1;

namespace {

bool servesSomething(const mesh::ProxyIdentity& identity) {
  return !identity.service.empty() && !identity.pod_ip.empty() && !identity.app_ports.empty();
}

}  // namespace

bool SidecarEndpoints::connected(const std::string& node_id, const mesh::ProxyIdentity& identity) {
  if (!servesSomething(identity)) return false;
  auto [it, inserted] = sidecars_.try_emplace(node_id);
  Sidecar& sidecar = it->second;
  sidecar.gone_since.reset();
  const bool changed = inserted || !(sidecar.identity == identity);
  sidecar.identity = identity;
  return changed;
}

void SidecarEndpoints::disconnected(const std::string& node_id, TimePoint now) {
  auto it = sidecars_.find(node_id);
  if (it != sidecars_.end()) it->second.gone_since = now;
}

bool SidecarEndpoints::left(const std::string& node_id) { return sidecars_.erase(node_id) > 0; }

std::vector<std::string> SidecarEndpoints::expire(TimePoint now) {
  std::vector<std::string> expired;
  std::erase_if(sidecars_, [&](const auto& kv) {
    if (!kv.second.gone_since || now - *kv.second.gone_since < grace_) return false;
    expired.push_back(kv.first);
    return true;
  });
  return expired;
}

std::optional<SidecarEndpoints::TimePoint> SidecarEndpoints::nextExpiry() const {
  std::optional<TimePoint> next;
  for (const auto& [id, sidecar] : sidecars_) {
    if (!sidecar.gone_since) continue;
    const TimePoint at = *sidecar.gone_since + grace_;
    if (!next || at < *next) next = at;
  }
  return next;
}

void SidecarEndpoints::addTo(mesh::MeshState& state) const {
  for (const auto& [node_id, sidecar] : sidecars_) {
    const mesh::ProxyIdentity& id = sidecar.identity;
    const v1::ServiceObject* service = state.findService(id.namespace_, id.service);
    if (service == nullptr) continue;
    for (const v1::ServicePort& port : service->spec().ports()) {
      const uint32_t target = port.target_port() != 0 ? port.target_port() : port.port();
      if (std::find(id.app_ports.begin(), id.app_ports.end(), target) == id.app_ports.end()) continue;
      v1::EndpointObject endpoint;
      endpoint.set_kind("Endpoint");
      endpoint.mutable_metadata()->set_name("sidecar:" + node_id + ":" + std::to_string(target));
      endpoint.mutable_metadata()->set_namespace_(id.namespace_);
      v1::Endpoint& spec = *endpoint.mutable_spec();
      spec.set_service(id.service);
      spec.set_address(id.pod_ip);
      spec.set_port(target);
      spec.set_port_name(port.name());
      spec.mutable_locality()->set_region(id.region);
      spec.mutable_locality()->set_zone(id.zone);
      spec.set_health(v1::Endpoint::HEALTHY);
      for (const auto& [key, value] : id.labels) (*spec.mutable_labels())[key] = value;
      state.put(mesh::ParsedObject{std::move(endpoint)});
    }
  }
}

}  // namespace remora::cp
