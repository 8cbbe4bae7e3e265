// ObjectHandlers: the single-object endpoints of the JSON API (list, get,
// create, replace, delete under /api/v1/.../{plural}), written against the
// generic Store with the mesh layer's validation in front of every write.
//
// Called by ApiRoutes on the API server's pool threads, concurrently: it keeps
// no state of its own; the Store serialises writes and its resource versions
// settle races (two updates carrying one version: exactly one wins, the other
// gets 409 Conflict).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "control-plane/api/api_errors.h"
#include "control-plane/mesh/mesh_state.h"
#include "control-plane/store/store.h"

namespace remora::cp::api {

// The mesh as the store holds it now; references in a write are checked
// against it. The control plane must update it from the store's watch
// callback (which runs before a write returns), or an Endpoint applied right
// after its Service would be refused.
using MeshSource = std::function<std::shared_ptr<const mesh::MeshState>()>;

// parseObject, after giving an object without metadata.namespace (or with an
// empty one) `default_namespace`. Malformed JSON is left to parseObject to
// report.
base::Result<mesh::ParsedObject> parseWithNamespace(std::string_view json, std::string_view default_namespace);

// The API form of a stored object (objectJson(fromStored(...))) as a response;
// 500 if the stored JSON does not read back.
ApiResponse storedObjectResponse(const store::StoredObject& stored, int status = 200);

class ObjectHandlers {
 public:
  ObjectHandlers(store::Store& store, MeshSource mesh) : store_(store), mesh_(std::move(mesh)) {}

  // namespace_ "" = every namespace.
  ApiResponse list(mesh::ObjectKind kind, std::string_view namespace_);
  ApiResponse get(mesh::ObjectKind kind, const std::string& namespace_, const std::string& name);
  // POST: 201, or 409 AlreadyExists.
  ApiResponse create(mesh::ObjectKind kind, const std::string& namespace_, std::string_view body);
  // PUT: 200 replaced or 201 created; a non-zero metadata.resourceVersion
  // must equal the stored one (409 Conflict; 404 when the object is gone).
  ApiResponse replace(mesh::ObjectKind kind, const std::string& namespace_, const std::string& name,
                      std::string_view body);
  // DELETE: 200 with the deleted object. `resource_version` is the query
  // parameter, when given.
  ApiResponse remove(mesh::ObjectKind kind, const std::string& namespace_, const std::string& name,
                     const std::optional<std::string>& resource_version);

 private:
  // Parses, checks the body agrees with the path (kind, namespace, and name
  // when the path has one), then checks references.
  base::Result<mesh::ParsedObject> parseForPath(mesh::ObjectKind kind, const std::string& namespace_,
                                                const std::string& name, std::string_view body);

  store::Store& store_;
  MeshSource mesh_;
};

}  // namespace remora::cp::api
