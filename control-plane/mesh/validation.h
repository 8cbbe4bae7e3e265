// Mesh objects in, validated objects out: the one gate every object passes
// before the store keeps it (the JSON API, remoractl apply) and the reason a
// bad object is refused, with the JSON field path the user wrote:
//   "spec.ports[1].port: must be 1..65535"
//   "metadata.name: must be a DNS-1123 label (lower-case letters, digits and '-', at most 63)"
//   "spec.routes[0].split: weights must sum to 100"
//   "spec.service: service 'default/reviews' does not exist"        (kNotFound)
//
// Pure functions; any thread.
#pragma once

#include <string_view>

#include "control-plane/mesh/mesh_state.h"
#include "xds/base/status.h"

namespace remora::cp::mesh {

// Parses one kubectl-style object ({"kind", "metadata", "spec"}) with
// protobuf's JSON mapping, refusing unknown fields, and checks each field on
// its own (ranges, names, formats). Defaults metadata.namespace to "default".
// Does not look at other objects. Fails with kInvalidArgument; an unknown or
// missing kind names the supported ones.
base::Result<ParsedObject> parseObject(std::string_view json);

// Checks what `object` says about other objects: the service an Endpoint,
// TrafficPolicy, RouteRule or AuthorizationPolicy names exists in its
// namespace (kNotFound otherwise), an Endpoint's port matches a port of that
// service, a RouteRule's service has an HTTP port (kInvalidArgument).
base::Status checkReferences(const ParsedObject& object, const MeshState& state);

// parseObject, then checkReferences against `state`.
base::Result<ParsedObject> parseObject(std::string_view json, const MeshState& state);

}  // namespace remora::cp::mesh
