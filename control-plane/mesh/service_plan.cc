#include "control-plane/mesh/service_plan.h"

#include <algorithm>

#include "control-plane/mesh/spec_checks.h"

namespace remora::cp::mesh {

namespace {

uint32_t targetPort(const v1::ServicePort& port) { return port.target_port() != 0 ? port.target_port() : port.port(); }

// Which port of `service` an endpoint serves, and on which host port; the
// same rules validation checks (validation.cc), applied leniently: an endpoint
// that matches no port (its service changed after it was stored) is left out.
bool endpointServes(const v1::Endpoint& endpoint, const v1::Service& service, const v1::ServicePort& port,
                    uint32_t& host_port) {
  if (!endpoint.port_name().empty()) {
    if (endpoint.port_name() != port.name()) return false;
    host_port = endpoint.port() != 0 ? endpoint.port() : targetPort(port);
    return true;
  }
  if (endpoint.port() == 0) return false;
  if (service.ports_size() == 1 || endpoint.port() == targetPort(port)) {
    host_port = endpoint.port();
    return true;
  }
  return false;
}

bool matchesLabels(const HostPlan& host, const std::map<std::string, std::string>& labels) {
  for (const auto& [key, value] : labels) {
    auto it = host.labels->find(key);
    if (it == host.labels->end() || it->second != value) return false;
  }
  return true;
}

void addSubsets(PortPlan& plan) {
  for (const v1::RouteRule* rule : plan.rules) {
    for (const v1::Route& route : rule->routes()) {
      for (const v1::Split& split : route.split()) {
        std::string name = subsetName(split);
        if (name.empty()) continue;
        auto same = [&](const SubsetPlan& s) { return s.name == name; };
        if (std::find_if(plan.subsets.begin(), plan.subsets.end(), same) != plan.subsets.end()) continue;
        SubsetPlan subset;
        subset.cluster = outboundClusterName(plan.port.port(), name, plan.service, plan.namespace_);
        subset.name = std::move(name);
        subset.labels = subsetLabels(split);
        plan.subsets.push_back(std::move(subset));
      }
    }
  }
  std::sort(plan.subsets.begin(), plan.subsets.end(),
            [](const SubsetPlan& a, const SubsetPlan& b) { return a.name < b.name; });
}

}  // namespace

std::string outboundClusterName(uint32_t port, std::string_view subset, std::string_view name,
                                std::string_view namespace_) {
  std::string out = "outbound|" + std::to_string(port) + "|";
  out += subset;
  out += '|';
  out += name;
  out += '.';
  out += namespace_;
  return out;
}

std::string inboundClusterName(uint32_t app_port) { return "inbound|" + std::to_string(app_port); }

std::string subsetName(const v1::Split& split) {
  if (!split.version().empty()) return split.version();
  std::map<std::string, std::string> labels = subsetLabels(split);
  std::string out;
  for (const auto& [key, value] : labels) {
    if (!out.empty()) out += ',';
    out += key + "=" + value;
  }
  return out;
}

std::map<std::string, std::string> subsetLabels(const v1::Split& split) {
  if (!split.version().empty()) return {{"version", split.version()}};
  return {split.labels().begin(), split.labels().end()};
}

const SubsetPlan* PortPlan::subsetFor(const v1::Split& split) const {
  const std::string name = subsetName(split);
  if (name.empty()) return nullptr;
  for (const SubsetPlan& subset : subsets) {
    if (subset.name == name) return &subset;
  }
  return nullptr;
}

std::vector<PortPlan> planServices(const MeshState& state) {
  // What names each service, indexed once: scanning every policy, rule and
  // endpoint per service is quadratic, and a thousand services are normal.
  using ServiceKey = std::pair<std::string_view, std::string_view>;  // namespace, service
  std::map<ServiceKey, const v1::TrafficPolicy*> policies;
  for (const auto& [policy_key, object] : state.trafficPolicies()) {
    policies.emplace(ServiceKey{policy_key.namespace_, object.spec().service()}, &object.spec());  // first by name wins
  }
  std::map<ServiceKey, std::vector<const v1::RouteRule*>> rules_of;
  for (const auto& [rule_key, object] : state.routeRules()) {
    rules_of[ServiceKey{rule_key.namespace_, object.spec().service()}].push_back(&object.spec());
  }
  std::map<ServiceKey, std::vector<const v1::Endpoint*>> endpoints_of;
  for (const auto& [endpoint_key, endpoint] : state.endpoints()) {
    endpoints_of[ServiceKey{endpoint_key.namespace_, endpoint.spec().service()}].push_back(&endpoint.spec());
  }
  std::map<ServiceKey, std::vector<AuthorizationPlan>> authorization_of;
  for (const auto& [policy_key, object] : state.authorizationPolicies()) {
    authorization_of[ServiceKey{policy_key.namespace_, object.spec().service()}].push_back(
        AuthorizationPlan{policy_key.name, &object.spec()});
  }
  static const std::vector<const v1::RouteRule*> kNoRules;
  static const std::vector<AuthorizationPlan> kNoAuthorization;
  static const std::vector<const v1::Endpoint*> kNoEndpoints;

  std::vector<PortPlan> plans;
  for (const auto& [key, service] : state.services()) {
    const ServiceKey service_key{key.namespace_, key.name};
    const auto policy_it = policies.find(service_key);
    const v1::TrafficPolicy* policy = policy_it == policies.end() ? nullptr : policy_it->second;
    const auto rules_it = rules_of.find(service_key);
    const std::vector<const v1::RouteRule*>& rules = rules_it == rules_of.end() ? kNoRules : rules_it->second;
    const auto endpoints_it = endpoints_of.find(service_key);
    const std::vector<const v1::Endpoint*>& endpoints =
        endpoints_it == endpoints_of.end() ? kNoEndpoints : endpoints_it->second;
    const auto authorization_it = authorization_of.find(service_key);
    const std::vector<AuthorizationPlan>& authorization =
        authorization_it == authorization_of.end() ? kNoAuthorization : authorization_it->second;
    const v1::Service::Mtls mtls =
        service.spec().mtls() == v1::Service::MTLS_UNSPECIFIED ? v1::Service::STRICT : service.spec().mtls();
    std::vector<std::string> accounts(service.spec().service_accounts().begin(),
                                      service.spec().service_accounts().end());
    if (accounts.empty()) accounts.push_back(key.name);
    std::vector<std::string> addresses;
    for (const std::string& address : service.spec().addresses()) {
      std::string canonical = canonicalIp(address);
      if (!canonical.empty()) addresses.push_back(std::move(canonical));  // validation refused the others
    }
    bool primary_taken = false;
    for (const v1::ServicePort& port : service.spec().ports()) {
      PortPlan plan;
      plan.service = key.name;
      plan.namespace_ = key.namespace_;
      plan.port = port;
      plan.addresses = addresses;
      plan.cluster = outboundClusterName(port.port(), "", key.name, key.namespace_);
      plan.policy = policy;
      plan.mtls = mtls;
      plan.service_accounts = accounts;
      plan.authorization = authorization;
      if (plan.isHttp()) {
        plan.primary = !primary_taken;
        primary_taken = true;
        plan.rules = rules;
      }
      for (const v1::Endpoint* spec : endpoints) {
        uint32_t host_port = 0;
        if (!endpointServes(*spec, service.spec(), port, host_port)) continue;
        HostPlan host;
        host.address = spec->address();
        host.port = host_port;
        host.weight = spec->weight() == 0 ? 1 : spec->weight();
        host.health = spec->health() == v1::Endpoint::HEALTH_UNSPECIFIED ? v1::Endpoint::HEALTHY : spec->health();
        host.locality = spec->locality();
        host.labels = &spec->labels();
        plan.hosts.push_back(std::move(host));
      }
      addSubsets(plan);
      plans.push_back(std::move(plan));
    }
  }
  return plans;
}

bool hostInSubset(const HostPlan& host, const SubsetPlan& subset) { return matchesLabels(host, subset.labels); }

}  // namespace remora::cp::mesh
