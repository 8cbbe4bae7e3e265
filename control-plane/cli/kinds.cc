#include "control-plane/cli/kinds.h"

#include <array>
#include <cctype>

#include "remora/mesh/v1/mesh.pb.h"

namespace remora::cli {

namespace {

namespace meshv1 = remora::mesh::v1;

const std::array<KindInfo, 5> kKinds = {{
    {"Service", "services", "service", [] { return meshv1::ServiceObject::descriptor(); }},
    {"Endpoint", "endpoints", "endpoint", [] { return meshv1::EndpointObject::descriptor(); }},
    {"TrafficPolicy", "trafficpolicies", "trafficpolicy", [] { return meshv1::TrafficPolicyObject::descriptor(); }},
    {"RouteRule", "routerules", "routerule", [] { return meshv1::RouteRuleObject::descriptor(); }},
    {"AuthorizationPolicy", "authorizationpolicies", "authorizationpolicy",
     [] { return meshv1::AuthorizationPolicyObject::descriptor(); }},
}};

// Short names follow kubectl's where it has one (svc, ep).
const std::array<std::string_view, 5> kShortNames = {"svc", "ep", "tp", "rr", "authz"};

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::span<const KindInfo> allKinds() { return kKinds; }

const KindInfo* kindFromArgument(std::string_view argument) {
  const std::string arg = lowered(argument);
  for (size_t i = 0; i < kKinds.size(); ++i) {
    const KindInfo& k = kKinds[i];
    if (arg == k.lower || arg == k.plural || arg == kShortNames[i]) return &k;
  }
  return nullptr;
}

const KindInfo* kindFromName(std::string_view kind) {
  for (const KindInfo& k : kKinds) {
    if (kind == k.kind) return &k;
  }
  return nullptr;
}

std::string kindArgumentsHelp() {
  std::string out;
  for (size_t i = 0; i < kKinds.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::string(kKinds[i].lower) + " (" + std::string(kShortNames[i]) + ")";
  }
  return out;
}

}  // namespace remora::cli
