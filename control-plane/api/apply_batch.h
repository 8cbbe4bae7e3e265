// POST /api/v1/apply and POST /api/v1/delete: many objects in one request, in
// one store transaction, so `remoractl apply -f` of a whole mesh file either
// lands completely or not at all.
//
// A batch body is one object, a JSON array of objects, or {"items": [...]}.
// Errors name the item: "items[2].spec.ports[0].port: must be 1..65535" (a
// single-object body keeps the object's own paths). References are checked
// against the current mesh plus every object of the batch, so a Service and
// its Endpoints can be applied together. An object whose normalised JSON
// equals the stored one is "unchanged" and not written.
//
// Stateless functions, called by ApiRoutes on the API server's pool threads.
#pragma once

#include <string_view>

#include "control-plane/api/api_errors.h"
#include "control-plane/api/object_handlers.h"
#include "control-plane/store/store.h"

namespace remora::cp::api {

// 200 {"results":[{"kind","namespace","name","action":"created|configured|unchanged","resourceVersion"}]}
ApiResponse applyBatch(store::Store& store, const MeshSource& mesh, std::string_view body);

// Only kind, metadata.name, metadata.namespace (default "default") and
// optionally metadata.resourceVersion of each item are read.
// 200 {"results":[{..., "action":"deleted","resourceVersion": <the deleted version>}]}
ApiResponse deleteBatch(store::Store& store, std::string_view body);

}  // namespace remora::cp::api
