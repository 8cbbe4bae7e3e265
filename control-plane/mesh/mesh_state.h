// MeshState: every mesh object the control plane knows (Services, Endpoints,
// TrafficPolicies, RouteRules, AuthorizationPolicies), keyed by kind,
// namespace and name. It is what validation checks references against and
// what the snapshot builder reads.
//
// A plain value: the store/xDS layer builds or updates one on the control
// plane's main thread and may share it read-only (std::shared_ptr<const
// MeshState>) with snapshot builds on other threads. Not internally locked.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "remora/mesh/v1/mesh.pb.h"

namespace remora::cp::mesh {

namespace v1 = ::remora::mesh::v1;

enum class ObjectKind { kService, kEndpoint, kTrafficPolicy, kRouteRule, kAuthorizationPolicy };

// "Service", "Endpoint", ...: the `kind` field's value.
std::string_view kindName(ObjectKind kind);
// The kind a `kind` string names (exact, case-sensitive), or nullopt.
std::optional<ObjectKind> kindFromName(std::string_view name);
// "Service, Endpoint, TrafficPolicy, RouteRule, AuthorizationPolicy".
std::string supportedKindNames();

// Namespace and name; ordered so maps iterate deterministically (the builder's
// output must not depend on insertion order, or every rebuild looks like a change).
struct ObjectKey {
  std::string namespace_;
  std::string name;
  auto operator<=>(const ObjectKey&) const = default;
  bool operator==(const ObjectKey&) const = default;
};

// One validated object, as parseObject returns it. Its metadata.namespace is
// always set (defaulted to "default").
struct ParsedObject {
  std::variant<v1::ServiceObject, v1::EndpointObject, v1::TrafficPolicyObject, v1::RouteRuleObject,
               v1::AuthorizationPolicyObject>
      object;

  ObjectKind kind() const { return static_cast<ObjectKind>(object.index()); }
  const v1::Metadata& metadata() const;
  ObjectKey key() const { return ObjectKey{metadata().namespace_(), metadata().name()}; }
};

class MeshState {
 public:
  template <typename T>
  using Objects = std::map<ObjectKey, T>;

  // Inserts or replaces the object with the same kind, namespace and name.
  void put(ParsedObject object);
  // Removes an object; false when there was none.
  bool remove(ObjectKind kind, const ObjectKey& key);

  const v1::ServiceObject* findService(std::string_view namespace_, std::string_view name) const;

  const Objects<v1::ServiceObject>& services() const { return services_; }
  const Objects<v1::EndpointObject>& endpoints() const { return endpoints_; }
  const Objects<v1::TrafficPolicyObject>& trafficPolicies() const { return traffic_policies_; }
  const Objects<v1::RouteRuleObject>& routeRules() const { return route_rules_; }
  const Objects<v1::AuthorizationPolicyObject>& authorizationPolicies() const { return authorization_policies_; }

 private:
  Objects<v1::ServiceObject> services_;
  Objects<v1::EndpointObject> endpoints_;
  Objects<v1::TrafficPolicyObject> traffic_policies_;
  Objects<v1::RouteRuleObject> route_rules_;
  Objects<v1::AuthorizationPolicyObject> authorization_policies_;
};

}  // namespace remora::cp::mesh
