#include "control-plane/api/api_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>

namespace remora::cp::api {

namespace {

using base::Result;

// The one route with its own body limit (ApiOptions::max_import_body_bytes).
constexpr std::string_view kImportPath = "/api/v1/store/import";

// Methods become a metric label: anything outside this list is "other", so
// a client cannot grow the label set.
constexpr std::array<std::string_view, 7> kMethods = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};

std::string methodLabel(const std::string& method) {
  for (std::string_view known : kMethods) {
    if (method == known) return method;
  }
  return "other";
}

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

Result<HostPort> parseAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return base::fail(base::Error::kInvalidArgument, "api address \"" + address + "\": expected host:port");
  }
  HostPort out;
  out.host = address.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  const char* begin = address.data() + colon + 1;
  const char* end = address.data() + address.size();
  const auto [ptr, ec] = std::from_chars(begin, end, out.port);
  if (ec != std::errc() || ptr != end || begin == end) {
    return base::fail(base::Error::kInvalidArgument, "api address \"" + address + "\": bad port");
  }
  return out;
}

// Both strings are walked in full whatever their content, so the time taken
// tells an attacker nothing about how much of a guessed token was right.
bool constantTimeEquals(std::string_view presented, std::string_view expected) {
  unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff |= static_cast<unsigned char>(p ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

void writeResponse(const ApiResponse& api, httplib::Response& response) {
  response.status = api.status;
  for (const auto& [name, value] : api.headers) response.set_header(name, value);
  response.set_content(api.body, api.content_type.c_str());
}

ApiRequest toApiRequest(const httplib::Request& request) {
  ApiRequest api{.method = request.method, .path = request.path, .query = {}, .body = request.body};
  for (const auto& [name, value] : request.params) api.query.emplace(name, value);  // first value wins
  return api;
}

}  // namespace

ApiServer::ApiServer(store::Store& store, MeshSource mesh, xds::server::ProxyRegistry& proxies, ApiOptions options)
    : options_(std::move(options)), routes_(store, std::move(mesh), proxies) {}

ApiServer::~ApiServer() { stop(); }

void ApiServer::setMetricsHook(std::function<void(std::string&)> hook) {
  std::lock_guard lock(mutex_);
  metrics_hook_ = std::move(hook);
}

Result<uint16_t> ApiServer::start() {
  if (server_) return base::fail(base::Error::kInternal, "api server already started");
  Result<HostPort> address = parseAddress(options_.address);
  if (!address) return address.error();
  const bool tls = !options_.tls_cert_file.empty() || !options_.tls_key_file.empty();
  if (tls) {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return base::fail(base::Error::kInvalidArgument, "api TLS needs both a certificate and a key file");
    }
    auto server = std::make_unique<httplib::SSLServer>(options_.tls_cert_file.c_str(), options_.tls_key_file.c_str());
    if (!server->is_valid()) {
      return base::fail(base::Error::kIo, "api TLS: cannot load certificate " + options_.tls_cert_file + " and key " +
                                              options_.tls_key_file);
    }
    server_ = std::move(server);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }

  httplib::Server& server = *server_;
  const size_t threads = static_cast<size_t>(options_.threads > 0 ? options_.threads : 1);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(std::max(options_.max_body_bytes, options_.max_import_body_bytes));
  // An idle keep-alive connection holds a pool thread; keep that short.
  server.set_keep_alive_timeout(2);

  const httplib::Server::Handler handler = [this](const httplib::Request& request, httplib::Response& response) {
    serve(request, response);
  };
  server.Get(".*", handler).Post(".*", handler).Put(".*", handler).Delete(".*", handler);
  server.Patch(".*", handler).Options(".*", handler);

  // httplib's own refusals (bad request line, 413, 414) arrive with an empty
  // body; give them the standard JSON error. Ours already have one.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message = response.status == 413 ? "request body is larger than the limit"
                                                     : "request refused by the HTTP layer";
        writeResponse(errorResponse(response.status, message), response);
        return httplib::Server::HandlerResponse::Handled;
      }));
  // The one exception boundary (see the header).
  server.set_exception_handler([](const httplib::Request& request, httplib::Response& response, std::exception_ptr) {
    spdlog::error("api: {} {}: unexpected exception in the HTTP layer", request.method, request.path);
    writeResponse(errorResponse(500, "internal error"), response);
  });
  server.set_logger([this](const httplib::Request& request, const httplib::Response& response) {
    count(request.method, response.status);
    if (response.status >= 500) {
      spdlog::error("api: {} {} -> {}: {}", request.method, request.path, response.status, response.body);
    }
  });

  int port = 0;
  if (address->port == 0) {
    port = server.bind_to_any_port(address->host);
  } else {
    port = server.bind_to_port(address->host, address->port) ? address->port : -1;
  }
  if (port <= 0) {
    server_.reset();
    return base::fail(base::Error::kIo, "api: cannot listen on " + options_.address);
  }

  auto done = std::make_shared<std::atomic<bool>>(false);
  listener_ = std::thread([&server, done] {
    server.listen_after_bind();
    done->store(true);
  });
  // stop() is a no-op until the listener runs, so wait for it: otherwise a
  // stop() right after start() would leave the thread listening forever.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server.is_running() && !done->load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server.is_running()) {
    stop();
    return base::fail(base::Error::kIo, "api: the listener on " + options_.address + " did not start");
  }
  spdlog::info("api: serving {} on {}:{}{}", tls ? "https" : "http", address->host, port,
               options_.token.empty() ? " (no token)" : "");
  return static_cast<uint16_t>(port);
}

void ApiServer::stop() {
  if (server_) server_->stop();
  if (listener_.joinable()) listener_.join();
  server_.reset();
}

bool ApiServer::authorized(const httplib::Request& request) const {
  if (options_.token.empty()) return true;
  return constantTimeEquals(request.get_header_value("Authorization"), "Bearer " + options_.token);
}

void ApiServer::serve(const httplib::Request& request, httplib::Response& response) {
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (request.path == "/healthz") {
    if (!get) return writeResponse(errorResponse(405, "/healthz only answers GET"), response);
    return writeResponse(ApiResponse(200, "ok", "text/plain"), response);
  }
  const size_t limit = request.path == kImportPath ? options_.max_import_body_bytes : options_.max_body_bytes;
  if (request.body.size() > limit) {
    return writeResponse(errorResponse(413, "request body is larger than the limit of " + std::to_string(limit) +
                                                " bytes for " + request.path),
                         response);
  }
  if (!authorized(request)) {
    spdlog::warn("api: {} {} from {}: {} bearer token", request.method, request.path, request.remote_addr,
                 request.has_header("Authorization") ? "wrong" : "no");
    ApiResponse refused = errorResponse(401, "a valid bearer token is required (Authorization: Bearer <token>)");
    refused.headers.emplace_back("WWW-Authenticate", "Bearer");
    return writeResponse(refused, response);
  }
  if (request.path == "/metrics") {
    if (!get) return writeResponse(errorResponse(405, "/metrics only answers GET"), response);
    return writeResponse(
ApiResponse(200, metricsText(), "text/plain; version=0.0.4"), response);
  }
  writeResponse(routes_.handle(toApiRequest(request)), response);
}

void ApiServer::count(const std::string& method, int status) {
  std::lock_guard lock(mutex_);
  ++counters_[{methodLabel(method), status}];
}

std::string ApiServer::metricsText() {
  std::string out =
      "# HELP remora_cp_api_requests_total Responses of the JSON management API, by request method and status "
      "code.\n# TYPE remora_cp_api_requests_total counter\n";
  std::function<void(std::string&)> hook;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, value] : counters_) {
      out += "remora_cp_api_requests_total{method=\"" + key.first + "\",code=\"" + std::to_string(key.second) +
             "\"} " + std::to_string(value) + "\n";
    }
    hook = metrics_hook_;
  }
  if (hook) hook(out);  // outside the lock: the hook may take its own
  return out;
}

}  // namespace remora::cp::api
