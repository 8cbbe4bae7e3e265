#include "control-plane/mesh/mesh_state.h"

#include <array>

namespace remora::cp::mesh {

namespace {

// Indexed by ObjectKind, in the variant's order.
constexpr std::array<std::string_view, 5> kKindNames = {"Service", "Endpoint", "TrafficPolicy", "RouteRule",
                                                        "AuthorizationPolicy"};

template <typename Map>
bool eraseKey(Map& map, const ObjectKey& key) {
  return map.erase(key) > 0;
}

}  // namespace

std::string_view kindName(ObjectKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

std::optional<ObjectKind> kindFromName(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<ObjectKind>(i);
  }
  return std::nullopt;
}

std::string supportedKindNames() {
  std::string out;
  for (std::string_view name : kKindNames) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

const v1::Metadata& ParsedObject::metadata() const {
  return std::visit([](const auto& o) -> const v1::Metadata& { return o.metadata(); }, object);
}

void MeshState::put(ParsedObject parsed) {
  ObjectKey key = parsed.key();
  std::visit(
      [&](auto&& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, v1::ServiceObject>) {
          services_[std::move(key)] = std::move(o);
        } else if constexpr (std::is_same_v<T, v1::EndpointObject>) {
          endpoints_[std::move(key)] = std::move(o);
        } else if constexpr (std::is_same_v<T, v1::TrafficPolicyObject>) {
          traffic_policies_[std::move(key)] = std::move(o);
        } else if constexpr (std::is_same_v<T, v1::RouteRuleObject>) {
          route_rules_[std::move(key)] = std::move(o);
        } else {
          authorization_policies_[std::move(key)] = std::move(o);
        }
      },
      std::move(parsed.object));
}

bool MeshState::remove(ObjectKind kind, const ObjectKey& key) {
  switch (kind) {
    case ObjectKind::kService: return eraseKey(services_, key);
    case ObjectKind::kEndpoint: return eraseKey(endpoints_, key);
    case ObjectKind::kTrafficPolicy: return eraseKey(traffic_policies_, key);
    case ObjectKind::kRouteRule: return eraseKey(route_rules_, key);
    case ObjectKind::kAuthorizationPolicy: return eraseKey(authorization_policies_, key);
  }
  return false;
}

const v1::ServiceObject* MeshState::findService(std::string_view namespace_, std::string_view name) const {
  auto it = services_.find(ObjectKey{std::string(namespace_), std::string(name)});
  return it == services_.end() ? nullptr : &it->second;
}

}  // namespace remora::cp::mesh
