// ObjectCodec: how a validated mesh object (ParsedObject) travels between the
// JSON API, the store and back. The store is generic (store.h): its spec_json
// column holds the WHOLE normalised object (apiVersion, kind, metadata without
// output fields, spec), and the store's own columns (resource version, uid,
// timestamps) fill the output fields back in on the way out.
//
// Normalised means deterministic: the same object always gives the same bytes
// (map keys sorted, defaults omitted, lowerCamelCase names), so the API can
// tell an `apply` that changes nothing ("unchanged") by comparing strings.
//
// Used by the JSON API (control-plane/api) and by the control plane when it
// loads the store into a MeshState. Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "control-plane/mesh/mesh_state.h"
#include "control-plane/store/store.h"
#include "xds/base/status.h"

namespace remora::cp::mesh {

// The form kept in store::StoredObject::spec_json: output fields
// (resource_version, uid, timestamps) cleared, apiVersion and kind set.
std::string storedJson(const ParsedObject& object);

// Reads a stored object back, without re-validating it (a rule tightened by a
// newer binary must not make existing objects unreadable), and fills in the
// output fields from the store's columns. The key's namespace and name win
// over the JSON's. kInvalidArgument when the JSON does not parse as its kind.
base::Result<ParsedObject> fromStored(const store::StoredObject& stored);

// The API form: stored form plus output fields (resourceVersion as a string,
// RFC 3339 timestamps), lowerCamelCase, apiVersion "remora.dev/v1".
std::string objectJson(const ParsedObject& object);

// {kindName(kind), metadata.namespace, metadata.name}.
store::ObjectKey storeKey(const ParsedObject& object);

// "services" -> kService, ... (exact, lower-case); nullopt for anything else.
std::optional<ObjectKind> kindFromPlural(std::string_view plural);
// kService -> "services", ...: the API's path segment.
std::string_view pluralName(ObjectKind kind);

}  // namespace remora::cp::mesh
