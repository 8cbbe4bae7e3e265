// AdminServer: the admin endpoint (127.0.0.1:15000 by default): /ready,
// /stats, /stats/prometheus, /config_dump, /listeners, /quitquitquit and
// whatever else the server registers. It speaks HTTP/1.1 and HTTP/2 through
// the same connection manager as the data path, so it shares its limits and
// timeouts. Read-only endpoints answer GET and HEAD, mutating ones only
// POST, and read-write ones (/logging) GET to read and POST to change. The
// same class serves the scrape-only endpoint, built without the index.
//
// Main thread only. Handlers may answer later (after asking the workers for
// their counters): they get a Responder that is safe to call after the
// client went away.
#pragma once

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "proxy/http/manager/connection_manager.h"
#include "proxy/net/listener.h"

namespace remora::admin {

struct AdminRequest {
  std::string method;
  std::string path;                          // without the query string
  std::map<std::string, std::string> query;  // decoded ?a=b&c=d
  std::string body;
};

struct AdminResponse {
  uint32_t status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Responder = std::function<void(AdminResponse)>;
using AdminHandler = std::function<void(const AdminRequest&, Responder)>;

class AdminServer : public net::ListenerCallbacks,
                    public net::ConnectionOwner,
                    public http::manager::StreamHandlerFactory {
 public:
  // serve_index: "/" lists the endpoints (the admin port); false: "/" is a
  // 404 like any unknown path (the scrape-only port exposes nothing else).
  explicit AdminServer(net::Dispatcher& dispatcher, bool serve_index = true);
  ~AdminServer() override;

  // Registers `path`. mutating: only POST is accepted (GET gets 405), so a
  // stray browser prefetch or a curl without -X POST cannot change anything.
  void addHandler(std::string path, std::string help, bool mutating, AdminHandler handler);
  // Registers `path` for GET/HEAD (read) and POST (change); the handler
  // tells them apart by AdminRequest::method. Other methods get 405.
  void addReadWriteHandler(std::string path, std::string help, AdminHandler handler);
  base::Status bind(const net::Address& address);
  const net::Address& localAddress() const { return listener_->localAddress(); }
  // Stops accepting and closes every admin connection.
  void shutdown();

  // net::ListenerCallbacks
  void onAccept(net::ConnectionPtr connection) override;
  // net::ConnectionOwner
  void release(net::DeferredDeletable& session) override;
  // StreamHandlerFactory
  std::unique_ptr<http::manager::StreamHandler> createHandler(http::manager::DownstreamStream& downstream) override;

  // Runs the handler for a complete request (AdminStreamHandler calls it).
  void serve(const AdminRequest& request, Responder responder);

 private:
  struct Endpoint {
    std::string help;
    bool mutating = false;
    bool read_write = false;
    AdminHandler handler;
  };
  std::string index() const;

  net::Dispatcher& dispatcher_;
  bool serve_index_;
  net::ListenerPtr listener_;
  std::map<std::string, Endpoint> endpoints_;
  std::list<std::unique_ptr<net::DeferredDeletable>> sessions_;
  http::manager::ManagerSettings settings_;
  http::manager::ManagerCounters counters_;
};

// Parses "a=b&c=%20d" (percent-decoding, '+' as space).
std::map<std::string, std::string> parseQuery(std::string_view query);

}  // namespace remora::admin
