// ApiServer: remora-cp's JSON management API over HTTP(S) (docs/api.md):
// CRUD and list for every mesh object, batch apply/delete, proxy status,
// /healthz and /metrics. Built and started by the control plane's composition
// root; it serves on its own threads (cpp-httplib's listener thread plus a
// pool of `threads` workers), so every handler and the Store run concurrently.
//
// Auth: with a token configured, every path but /healthz needs
// "Authorization: Bearer <token>" (compared in constant time), else 401.
// TLS: when cert and key files are given, the same routes are served over
// HTTPS only.
//
// Exceptions: product code here throws none. cpp-httplib itself may (e.g.
// std::bad_alloc, std::regex); its set_exception_handler is the one boundary
// where that becomes a 500 JSON error instead of a dead worker thread. No
// other try/catch exists in control-plane/api.
//
// Thread-safety: start()/stop() from the owning thread; setMetricsHook() from
// any thread; the hook runs on a pool thread for each /metrics scrape.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "control-plane/api/api_routes.h"
#include "control-plane/api/object_handlers.h"
#include "control-plane/store/store.h"
#include "xds/base/status.h"
#include "xds/server/proxy_registry.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace remora::cp::api {

struct ApiOptions {
  std::string address = "127.0.0.1:15080";  // "host:port", "[v6]:port"; port 0 picks a free one
  std::string token;                        // empty = no auth
  std::string tls_cert_file, tls_key_file;  // both or neither
  size_t max_body_bytes = 1 << 20;          // larger bodies get 413
  // POST /api/v1/store/import carries the whole store, so it has its own,
  // larger limit. The HTTP layer reads up to the larger of the two before
  // the route is known; other routes then refuse what exceeds theirs.
  size_t max_import_body_bytes = 64 << 20;
  int threads = 4;
};

class ApiServer {
 public:
  ApiServer(store::Store& store, MeshSource mesh, xds::server::ProxyRegistry& proxies, ApiOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds (kIo when the address is taken or unusable, kInvalidArgument for a
  // malformed address or half a TLS pair), starts serving, returns the port.
  base::Result<uint16_t> start();
  // Stops accepting, finishes in-flight requests and joins the threads.
  // Idempotent; also run by the destructor.
  void stop();

  // Appends more Prometheus text (the control plane's own metrics) to every
  // /metrics answer, after the API's counters.
  void setMetricsHook(std::function<void(std::string&)> hook);
  // Before start(): serve the token, identity and CA endpoints from `backend`.
  void setSecurity(SecurityBackend backend) { routes_.setSecurity(std::move(backend)); }
  void setProxiesSource(std::function<base::Result<std::string>()> source) {
    routes_.setProxiesSource(std::move(source));
  }

 private:
  void serve(const httplib::Request& request, httplib::Response& response);
  bool authorized(const httplib::Request& request) const;
  void count(const std::string& method, int status);
  std::string metricsText();

  ApiOptions options_;
  ApiRoutes routes_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;

  std::mutex mutex_;  // guards counters_ and metrics_hook_
  // (method from a fixed list, status code) -> responses: bounded labels.
  std::map<std::pair<std::string, int>, uint64_t> counters_;
  std::function<void(std::string&)> metrics_hook_;
};

}  // namespace remora::cp::api
