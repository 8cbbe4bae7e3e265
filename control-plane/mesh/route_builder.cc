#include "control-plane/mesh/route_builder.h"

#include <map>

#include "control-plane/mesh/snapshot_builder.h"
#include "control-plane/mesh/traffic_policy_builder.h"
#include "envoy/config/route/v3/route.pb.h"

namespace remora::cp::mesh {

namespace route = envoy::config::route::v3;

namespace {

void setMatch(const v1::RouteMatch& in, route::RouteMatch& out) {
  switch (in.path_case()) {
    case v1::RouteMatch::kPathPrefix: out.set_prefix(in.path_prefix()); break;
    case v1::RouteMatch::kPathExact: out.set_path(in.path_exact()); break;
    case v1::RouteMatch::kPathRegex: out.mutable_safe_regex()->set_regex(in.path_regex()); break;
    case v1::RouteMatch::PATH_NOT_SET: out.set_prefix("/"); break;
  }
  for (const v1::HeaderMatch& header : in.headers()) {
    route::HeaderMatcher* matcher = out.add_headers();
    matcher->set_name(header.name());
    switch (header.match_case()) {
      case v1::HeaderMatch::kExact: matcher->mutable_string_match()->set_exact(header.exact()); break;
      case v1::HeaderMatch::kPrefix: matcher->mutable_string_match()->set_prefix(header.prefix()); break;
      case v1::HeaderMatch::kRegex: matcher->mutable_string_match()->mutable_safe_regex()->set_regex(header.regex()); break;
      case v1::HeaderMatch::kPresent: matcher->set_present_match(header.present()); break;
      case v1::HeaderMatch::MATCH_NOT_SET: matcher->set_present_match(true); break;  // refused by validation
    }
  }
}

void setTimeout(const PortPlan& plan, const v1::Route* rule_route, route::RouteAction& action) {
  if (rule_route != nullptr && rule_route->has_timeout()) {
    *action.mutable_timeout() = rule_route->timeout();
  } else if (plan.policy != nullptr && plan.policy->has_request_timeout()) {
    *action.mutable_timeout() = plan.policy->request_timeout();
  }
}

// Splits -> weighted clusters over subsets; a single share is a plain cluster.
void setDestination(const PortPlan& plan, const v1::Route& rule_route, route::RouteAction& action) {
  std::vector<std::pair<std::string, uint32_t>> shares;
  for (const v1::Split& split : rule_route.split()) {
    if (split.weight() == 0) continue;
    const SubsetPlan* subset = plan.subsetFor(split);
    shares.emplace_back(subset != nullptr ? subset->cluster : plan.cluster, split.weight());
  }
  if (shares.empty()) {
    action.set_cluster(plan.cluster);
  } else if (shares.size() == 1) {
    action.set_cluster(shares.front().first);
  } else {
    route::WeightedCluster* weighted = action.mutable_weighted_clusters();
    for (const auto& [cluster, weight] : shares) {
      route::WeightedCluster::ClusterWeight* entry = weighted->add_clusters();
      entry->set_name(cluster);
      entry->mutable_weight()->set_value(weight);
    }
  }
}

void warnUnapplied(const PortPlan& plan, std::vector<std::string>& warnings) {
  const std::string who = "service '" + plan.namespace_ + "/" + plan.service + "': ";
  for (const v1::RouteRule* rule : plan.rules) {
    for (const v1::Route& rule_route : rule->routes()) {
      if (rule_route.has_fault()) {
        warnings.push_back(who + "RouteRule fault injection is not applied yet");
        return;
      }
    }
  }
}

route::VirtualHost virtualHost(const PortPlan& plan, const ProxyIdentity& proxy) {
  route::VirtualHost vhost;
  const std::string port = std::to_string(plan.port.port());
  vhost.set_name(plan.service + "." + plan.namespace_ + ":" + port);
  const std::vector<std::string> hosts = serviceHostNames(plan, proxy);
  if (plan.primary) {
    for (const std::string& host : hosts) vhost.add_domains(host);
  }
  for (const std::string& host : hosts) vhost.add_domains(host + ":" + port);
  for (const v1::RouteRule* rule : plan.rules) {
    for (const v1::Route& rule_route : rule->routes()) {
      route::Route* out = vhost.add_routes();
      setMatch(rule_route.match(), *out->mutable_match());
      setDestination(plan, rule_route, *out->mutable_route());
      setTimeout(plan, &rule_route, *out->mutable_route());
      applyRoutePolicy(plan.policy, *out->mutable_route());
    }
  }
  route::Route* fallback = vhost.add_routes();
  fallback->set_name("default");
  fallback->mutable_match()->set_prefix("/");
  fallback->mutable_route()->set_cluster(plan.cluster);
  setTimeout(plan, nullptr, *fallback->mutable_route());
  applyRoutePolicy(plan.policy, *fallback->mutable_route());
  return vhost;
}

}  // namespace

std::vector<std::string> serviceHostNames(const PortPlan& plan, const ProxyIdentity& proxy) {
  const std::string qualified = plan.service + "." + plan.namespace_;
  std::vector<std::string> names;
  if (plan.namespace_ == proxy.namespace_) names.push_back(plan.service);
  names.push_back(qualified);
  names.push_back(qualified + ".svc");
  names.push_back(qualified + ".svc.cluster.local");
  return names;
}

google::protobuf::Any buildOutboundRoutes(const std::vector<PortPlan>& plans, const ProxyIdentity& proxy,
                                          std::vector<std::string>& warnings, OutboundTrafficPolicy policy) {
  const bool redirect = proxy.interception == InterceptionMode::kRedirect;
  route::RouteConfiguration config;
  config.set_name(std::string(kOutboundRouteName));
  std::map<std::string, std::string> address_owner;  // "<ip>:<port>" -> virtual host
  for (const PortPlan& plan : plans) {
    if (!plan.isHttp()) continue;
    route::VirtualHost* vhost = config.add_virtual_hosts();
    *vhost = virtualHost(plan, proxy);
    if (plan.primary) warnUnapplied(plan, warnings);
    if (!redirect) continue;
    // Two virtual hosts may not share a domain: an address two services
    // claim (a pod behind both) stays with the first by namespace/name.
    for (std::string& domain : addressDomains(plan)) {
      auto [it, inserted] = address_owner.emplace(domain, vhost->name());
      if (!inserted) {
        warnings.push_back("service '" + plan.namespace_ + "/" + plan.service + "' port " +
                           std::to_string(plan.port.port()) + ": domain \"" + domain +
                           "\" is left out: virtual host '" + it->second + "' already answers it");
        continue;
      }
      vhost->add_domains(std::move(domain));
    }
  }
  if (redirect) *config.add_virtual_hosts() = passthroughVirtualHost(policy);
  google::protobuf::Any any;
  any.PackFrom(config);
  return any;
}

}  // namespace remora::cp::mesh
