#include "proxy/admin/admin_server.h"

#include <memory>
#include <string>

namespace remora::admin {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Collects one admin request and answers it. The `alive` token lets a
// Responder called after the client went away do nothing.
class AdminStreamHandler : public http::manager::StreamHandler {
 public:
  AdminStreamHandler(AdminServer& server, http::manager::DownstreamStream& downstream)
      : server_(server), downstream_(downstream), alive_(std::make_shared<bool>(true)) {}
  ~AdminStreamHandler() override { *alive_ = false; }

  void onRequestHeaders(http::HeaderMapPtr headers, bool end_stream) override {
    request_.method = std::string(headers->method());
    std::string_view path = headers->path();
    const size_t q = path.find('?');
    request_.path = std::string(path.substr(0, q));
    if (q != std::string_view::npos) request_.query = parseQuery(path.substr(q + 1));
    if (end_stream) run();
  }
  void onRequestData(net::Buffer& data, bool end_stream) override {
    // Admin bodies are small; anything past 1 MiB is refused.
    if (request_.body.size() + data.length() > 1024 * 1024) {
      data.clear();
      if (!answered_) {
        answered_ = true;
        downstream_.sendLocalReply(413, base::Error::kBodyTooLarge, "admin request body over 1 MiB");
      }
      return;
    }
    request_.body += data.toString();
    data.clear();
    if (end_stream) run();
  }
  void onRequestTrailers(http::HeaderMapPtr) override { run(); }
  void onDownstreamReset(std::string_view) override { *alive_ = false; }

 private:
  void run() {
    if (answered_) return;
    answered_ = true;
    std::weak_ptr<bool> alive = alive_;
    http::manager::DownstreamStream* downstream = &downstream_;
    server_.serve(request_, [alive, downstream](AdminResponse response) {
      auto token = alive.lock();
      if (!token || !*token) return;
      auto h = std::make_unique<http::HeaderMap>();
      h->add(":status", std::to_string(response.status));
      h->add("content-type", response.content_type);
      h->add("content-length", std::to_string(response.body.size()));
      h->add("cache-control", "no-cache, max-age=0");
      h->add("x-content-type-options", "nosniff");
      downstream->encodeHeaders(std::move(h), response.body.empty());
      if (!response.body.empty() && *token) {
        net::Buffer b(response.body);
        downstream->encodeData(b, true);
      }
    });
  }

  AdminServer& server_;
  http::manager::DownstreamStream& downstream_;
  std::shared_ptr<bool> alive_;
  AdminRequest request_;
  bool answered_ = false;
};

}  // namespace

std::map<std::string, std::string> parseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (!pair.empty()) {
      out[percentDecode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

AdminServer::AdminServer(net::Dispatcher& dispatcher, bool serve_index)
    : dispatcher_(dispatcher), serve_index_(serve_index) {
  // Admin clients are operators and scrapers: short timeouts are fine.
  settings_.request_headers_timeout = std::chrono::milliseconds(10000);
  settings_.idle_timeout = std::chrono::milliseconds(60000);
  settings_.drain_timeout = std::chrono::milliseconds(1000);
}

AdminServer::~AdminServer() { sessions_.clear(); }

void AdminServer::addHandler(std::string path, std::string help, bool mutating, AdminHandler handler) {
  endpoints_[std::move(path)] = Endpoint{std::move(help), mutating, false, std::move(handler)};
}

void AdminServer::addReadWriteHandler(std::string path, std::string help, AdminHandler handler) {
  endpoints_[std::move(path)] = Endpoint{std::move(help), false, true, std::move(handler)};
}

base::Status AdminServer::bind(const net::Address& address) {
  auto bound = net::Listener::bind(dispatcher_, address, *this, /*reuse_port=*/false);
  if (!bound) return base::fail(bound.error().code, "admin.address: " + bound.error().message);
  listener_ = std::move(*bound);
  return {};
}

void AdminServer::shutdown() {
  listener_.reset();
  std::vector<net::DeferredDeletable*> all;
  for (auto& s : sessions_) all.push_back(s.get());
  for (auto* s : all) static_cast<http::manager::ConnectionManager*>(s)->drain();
}

void AdminServer::onAccept(net::ConnectionPtr connection) {
  auto session = std::make_unique<http::manager::ConnectionManager>(
      std::move(connection), http::Protocol::kHttp11, /*auto_detect=*/true, settings_, *this, counters_, *this);
  auto* raw = session.get();
  sessions_.push_back(std::move(session));
  net::Buffer none;
  raw->start(none);
}

void AdminServer::release(net::DeferredDeletable& session) {
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->get() == &session) {
      dispatcher_.deferredDelete(std::move(*it));
      sessions_.erase(it);
      return;
    }
  }
}

std::unique_ptr<http::manager::StreamHandler> AdminServer::createHandler(
    http::manager::DownstreamStream& downstream) {
  return std::make_unique<AdminStreamHandler>(*this, downstream);
}

std::string AdminServer::index() const {
  std::string out = serve_index_ ? "remora-proxy admin endpoints:\n" : "this port serves only:\n";
  for (const auto& [path, ep] : endpoints_) {
    out += "  " + path + (ep.mutating ? " (POST)" : ep.read_write ? " (GET, POST)" : "") + ": " + ep.help + "\n";
  }
  return out;
}

void AdminServer::serve(const AdminRequest& request, Responder responder) {
  if (request.path == "/" && serve_index_) {
    responder(AdminResponse{200, "text/plain; charset=utf-8", index()});
    return;
  }
  auto it = endpoints_.find(request.path);
  if (it == endpoints_.end()) {
    responder(AdminResponse{404, "text/plain; charset=utf-8", "no endpoint " + request.path + "\n" + index()});
    return;
  }
  if (it->second.mutating && request.method != "POST") {
    responder(AdminResponse{405, "text/plain; charset=utf-8", request.path + " changes state: use POST\n"});
    return;
  }
  if (it->second.read_write && request.method != "GET" && request.method != "HEAD" && request.method != "POST") {
    responder(AdminResponse{405, "text/plain; charset=utf-8", request.path + ": use GET to read, POST to change\n"});
    return;
  }
  if (!it->second.mutating && !it->second.read_write && request.method != "GET" && request.method != "HEAD") {
    responder(AdminResponse{405, "text/plain; charset=utf-8", request.path + " is read-only: use GET\n"});
    return;
  }
  it->second.handler(request, std::move(responder));
}

}  // namespace remora::admin
