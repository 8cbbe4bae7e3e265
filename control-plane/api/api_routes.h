// ApiRoutes: maps a JSON API request (/api/v1/...) to its handler by path and
// method, answering 404 for unknown paths and resource types and 405 (with an
// Allow header) for a known path with the wrong method. Knows nothing of
// HTTP transport, auth or metrics: ApiServer does those around it.
//
// Stateless apart from its references; called concurrently from the API
// server's pool threads.
#pragma once

#include <functional>

#include "control-plane/api/api_errors.h"
#include "control-plane/api/object_handlers.h"
#include "control-plane/api/security_handlers.h"
#include "control-plane/store/store.h"
#include "xds/server/proxy_registry.h"

namespace remora::cp::api {

class ApiRoutes {
 public:
  ApiRoutes(store::Store& store, MeshSource mesh, xds::server::ProxyRegistry& proxies)
      : store_(store), mesh_(mesh), proxies_(proxies), objects_(store, std::move(mesh)) {}

  // Every path under /api/v1/.
  ApiResponse handle(const ApiRequest& request);
  // Before serving: the CA endpoints' backend (none: they answer 404).
  void setSecurity(SecurityBackend backend) { security_.setBackend(std::move(backend)); }
  // Where GET /v1/proxies reads from instead of the local registry: a JSON
  // array of proxy statuses (with replicas over etcd, every replica's).
  void setProxiesSource(std::function<base::Result<std::string>()> source) { proxies_source_ = std::move(source); }

 private:
  ApiResponse proxies() const;
  // /api/v1/store/export (GET) and /api/v1/store/import (POST).
  ApiResponse storeTransfer(const ApiRequest& request, const std::string& action);

  store::Store& store_;
  MeshSource mesh_;
  xds::server::ProxyRegistry& proxies_;
  std::function<base::Result<std::string>()> proxies_source_;
  ObjectHandlers objects_;
  SecurityHandlers security_;
};

}  // namespace remora::cp::api
