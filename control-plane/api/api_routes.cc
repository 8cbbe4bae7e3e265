#include "control-plane/api/api_routes.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "control-plane/api/apply_batch.h"
#include "control-plane/api/store_export.h"
#include "control-plane/mesh/object_codec.h"

namespace remora::cp::api {

namespace {

constexpr std::string_view kPrefix = "/api/v1/";

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    segments.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return segments;
}

ApiResponse methodNotAllowed(const ApiRequest& request, std::string_view allow) {
  ApiResponse response =
      errorResponse(405, request.method + " is not allowed on " + request.path + "; allowed: " + std::string(allow));
  response.headers.emplace_back("Allow", std::string(allow));
  return response;
}

ApiResponse notFound(const ApiRequest& request) { return errorResponse(404, "no such API path: " + request.path); }

ApiResponse unknownPlural(std::string_view plural) {
  return errorResponse(404, "unknown resource type \"" + std::string(plural) +
                                "\"; one of services, endpoints, trafficpolicies, routerules, authorizationpolicies");
}

std::optional<std::string> queryParam(const ApiRequest& request, const std::string& name) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return std::nullopt;
  return it->second;
}

bool isGet(const ApiRequest& request) { return request.method == "GET" || request.method == "HEAD"; }

}  // namespace

ApiResponse ApiRoutes::proxies() const {
  if (proxies_source_) {
    auto items = proxies_source_();
    if (!items) return failureResponse(items.error());
    return jsonResponse("{\"items\":" + *items + "}");
  }
  return jsonResponse("{\"items\":" + xds::server::proxyStatusJson(proxies_.list()) + "}");
}

ApiResponse ApiRoutes::storeTransfer(const ApiRequest& request, const std::string& action) {
  if (action == "export") {
    if (!isGet(request)) return methodNotAllowed(request, "GET");
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    return exportStore(store_, now.count());
  }
  if (action == "import") {
    if (request.method != "POST") return methodNotAllowed(request, "POST");
    return importStore(store_, request.body);
  }
  return notFound(request);
}

ApiResponse ApiRoutes::handle(const ApiRequest& request) {
  if (!request.path.starts_with(kPrefix)) return notFound(request);
  std::vector<std::string> parts = splitPath(std::string_view(request.path).substr(kPrefix.size()));
  if (parts.empty() || parts.back().empty()) return notFound(request);  // also rejects a trailing '/'
  if (SecurityHandlers::owns(parts)) return security_.handle(request, parts);

  if (parts.size() == 1) {
    const std::string& first = parts[0];
    if (first == "apply" || first == "delete") {
      if (request.method != "POST") return methodNotAllowed(request, "POST");
      return first == "apply" ? applyBatch(store_, mesh_, request.body) : deleteBatch(store_, request.body);
    }
    if (first == "proxies") {
      if (!isGet(request)) return methodNotAllowed(request, "GET");
      return proxies();
    }
    std::optional<mesh::ObjectKind> kind = mesh::kindFromPlural(first);
    if (!kind) return unknownPlural(first);
    if (!isGet(request)) return methodNotAllowed(request, "GET");
    return objects_.list(*kind, queryParam(request, "namespace").value_or(""));
  }

  if (parts.size() == 2 && parts[0] == "store") return storeTransfer(request, parts[1]);

  if (parts[0] != "namespaces" || parts.size() < 3 || parts.size() > 4) return notFound(request);
  const std::string& namespace_ = parts[1];
  std::optional<mesh::ObjectKind> kind = mesh::kindFromPlural(parts[2]);
  if (!kind) return unknownPlural(parts[2]);
  if (namespace_.empty()) return notFound(request);

  if (parts.size() == 3) {
    if (isGet(request)) return objects_.list(*kind, namespace_);
    if (request.method == "POST") return objects_.create(*kind, namespace_, request.body);
    return methodNotAllowed(request, "GET, POST");
  }
  const std::string& name = parts[3];
  if (isGet(request)) return objects_.get(*kind, namespace_, name);
  if (request.method == "PUT") return objects_.replace(*kind, namespace_, name, request.body);
  if (request.method == "DELETE") return objects_.remove(*kind, namespace_, name, queryParam(request, "resourceVersion"));
  return methodNotAllowed(request, "GET, PUT, DELETE");
}

}  // namespace remora::cp::api
