#include "proxy/router/router_filter.h"

#include <string>

#include "proxy/http/manager/active_stream.h"

namespace remora::router {
namespace {

// Body bytes we hold per request while the upstream connection is set up,
// before we stop reading the client.
constexpr size_t kPendingBodyLimit = 1024 * 1024;

bool isUpgradeRequest(const http::HeaderMap& h) {
  auto upgrade = h.get("upgrade");
  return upgrade.has_value() && !upgrade->empty();
}

bool isWebSocket(const http::HeaderMap& h) {
  auto upgrade = h.get("upgrade");
  if (!upgrade) return false;
  std::string v(*upgrade);
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "websocket";
}

}  // namespace

std::unique_ptr<http::manager::StreamHandler> RouterFilterFactory::createHandler(
    http::manager::DownstreamStream& downstream) {
  return std::make_unique<RouterFilter>(*this, downstream);
}

RouterFilter::RouterFilter(RouterFilterFactory& factory, http::manager::DownstreamStream& downstream)
    : factory_(factory), downstream_(downstream), routes_(factory.routes_) {}

RouterFilter::~RouterFilter() { cleanup(); }

bool RouterFilter::allowUpgrade(const xds::resources::RouteAction& action) {
  if (request_headers_->method() == "CONNECT") return factory_.connect_upgrade_ && action.allow_connect;
  if (isWebSocket(*request_headers_)) return factory_.websocket_upgrade_ && action.allow_upgrade_websocket;
  return false;  // other upgrade protocols (h2c, TLS) are never tunnelled
}

bool RouterFilter::authorize() {
  const HttpSecurity& security = factory_.security_;
  const std::string_view peer = downstream_.peerIdentity();
  // Only our own sidecar may say who the caller is: whatever the client sent
  // is dropped (Envoy's SANITIZE), then set from the verified certificate.
  request_headers_->remove("x-forwarded-client-cert");
  if (security.forward_client_identity && !peer.empty()) {
    request_headers_->add("x-forwarded-client-cert", "URI=" + std::string(peer));
  }
  if (!security.authorizer || security.authorizer->empty()) return true;
  std::string_view path = request_headers_->path();
  if (const size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  const security::Decision decision = security.authorizer->evaluate(security::RequestFacts{
      peer, downstream_.localAddress().port(), path, request_headers_->method(), request_headers_.get()});
  if (decision.allowed) return true;
  if (factory_.counters_.on_denied) factory_.counters_.on_denied(peer, decision.policy);
  fail(base::Error::kRbacDenied,
       "caller " + (peer.empty() ? std::string("(no client certificate)") : "'" + std::string(peer) + "'") +
           " is not allowed: " + std::string(decision.reason),
       403);
  return false;
}

void RouterFilter::onRequestHeaders(http::HeaderMapPtr headers, bool end_stream) {
  request_headers_ = std::move(headers);
  request_done_ = end_stream;
  if (!authorize()) return;
  if (request_headers_->method() == "CONNECT" && !factory_.connect_upgrade_) {
    // CONNECT carries no path to route on: refuse it before matching.
    fail(base::Error::kUnsupported, "CONNECT is not enabled on this listener", 403);
    return;
  }
  const MatchResult match = routes_->match(*request_headers_);
  if (!match) {
    fail(base::Error::kNoRoute, noRouteReason(match));
    return;
  }
  route_ = match.route;
  if (const auto* direct = std::get_if<xds::resources::DirectResponse>(&route_->action)) {
    factory_.counters_.direct_responses.inc();
    done_ = true;
    auto h = std::make_unique<http::HeaderMap>();
    h->add(":status", std::to_string(direct->status));
    if (!direct->body.empty()) h->add("content-type", "text/plain");
    h->add("content-length", std::to_string(direct->body.size()));
    for (const auto& add : route_->response_headers_to_add) {
      if (add.append) h->add(add.name, add.value);
      else h->set(add.name, add.value);
    }
    const bool no_body = direct->body.empty() || request_headers_->method() == "HEAD";
    downstream_.encodeHeaders(std::move(h), no_body);
    if (!no_body) {
      net::Buffer body(direct->body);
      downstream_.encodeData(body, true);
    }
    return;
  }
  action_ = &std::get<xds::resources::RouteAction>(route_->action);

  const bool upgrade = isUpgradeRequest(*request_headers_) || request_headers_->method() == "CONNECT";
  if (upgrade && !allowUpgrade(*action_)) {
    const std::string what =
        request_headers_->method() == "CONNECT" ? std::string("CONNECT") : "upgrade to '" +
                                                                               std::string(*request_headers_->get("upgrade")) + "'";
    fail(base::Error::kUnsupported, what + " is not enabled on this listener and route", 403);
    return;
  }

  const std::string& cluster_name = pickCluster(*action_, factory_.random_.next());
  cluster_ = factory_.clusters_.get(cluster_name);
  if (cluster_ == nullptr) {
    fail(base::Error::kNoCluster, "route '" + route_->name + "' names cluster '" + cluster_name + "', which does not exist");
    return;
  }
  if (!cluster_->tryStartRequest()) {
    cluster_ = nullptr;
    fail(base::Error::kOverflow, "cluster '" + cluster_name + "' is at its max_requests limit");
    return;
  }
  counted_request_ = true;
  host_ = cluster_->pickHost(upstream::LoadBalancerContext{});
  if (host_ == nullptr) {
    fail(base::Error::kNoHealthyUpstream, "cluster '" + cluster_name + "' has no healthy endpoint");
    return;
  }
  host_->requestStarted();
  rewriteRequest(*action_);
  if (request_done_) startRouteTimer();

  pool_ = &cluster_->pool(*host_, downstream_.protocol());
  upstream::ConnectionPool::PendingHandle handle;
  if (pool_->newStream(*this, *this, handle)) pending_ = handle;
}

void RouterFilter::rewriteRequest(const xds::resources::RouteAction& action) {
  http::HeaderMap& h = *request_headers_;
  const bool upgrade = isUpgradeRequest(h);
  // Hop-by-hop fields describe the client's connection, not ours; an upgrade
  // keeps Connection/Upgrade so the upstream sees the handshake.
  for (std::string_view name : {"keep-alive", "proxy-connection", "transfer-encoding", "proxy-authorization"}) {
    h.remove(name);
  }
  if (!upgrade) {
    h.remove("connection");
    h.remove("upgrade");
  }
  if (auto te = h.get("te"); te && *te != "trailers") h.remove("te");
  if (action.host_rewrite_literal) h.set(":authority", *action.host_rewrite_literal);
  if (action.prefix_rewrite) {
    // The matched prefix (or, for an exact path match, the whole path) is
    // replaced; the query string stays. Regex routes cannot carry one (the
    // converter refuses it).
    std::string path(h.path());
    const size_t matched = route_->match.path_kind == xds::resources::RouteMatch::PathKind::kExact
                               ? std::min(path.find('?'), path.size())
                               : route_->match.path.size();
    if (matched <= path.size()) h.set(":path", *action.prefix_rewrite + path.substr(matched));
  }
  for (const auto& name : route_->request_headers_to_remove) h.remove(name);
  for (const auto& add : route_->request_headers_to_add) {
    if (add.append) h.add(add.name, add.value);
    else h.set(add.name, add.value);
  }
  // An HTTP/2 upstream needs :scheme; an HTTP/1 client never sends it.
  if (!h.has(":scheme")) h.add(":scheme", "http");
}

void RouterFilter::onRequestData(net::Buffer& data, bool end_stream) {
  if (done_) {
    data.clear();
    return;
  }
  if (end_stream) request_done_ = true;
  if (upstream_ != nullptr) {
    upstream_->encodeData(data, end_stream);
  } else {
    pending_body_.move(data);
    if (pending_body_.length() > kPendingBodyLimit && !downstream_paused_) {
      downstream_paused_ = true;
      downstream_.readDisableDownstream(true);
    }
  }
  if (end_stream) startRouteTimer();
}

void RouterFilter::onRequestTrailers(http::HeaderMapPtr trailers) {
  if (done_) return;
  request_done_ = true;
  if (upstream_ != nullptr) {
    upstream_->encodeTrailers(*trailers);
  } else {
    pending_trailers_ = std::move(trailers);
  }
  startRouteTimer();
}

void RouterFilter::onPoolReady(http::Stream& stream, upstream::Host& host) {
  pending_.reset();
  upstream_ = &stream;
  const bool has_body = !pending_body_.empty() || pending_trailers_ != nullptr;
  const bool headers_only = request_done_ && !has_body;
  upstream_->encodeHeaders(*request_headers_, headers_only);
  if (upstream_ == nullptr) return;  // reset synchronously
  if (!pending_body_.empty() || (request_done_ && pending_trailers_ == nullptr && !headers_only)) {
    upstream_->encodeData(pending_body_, request_done_ && pending_trailers_ == nullptr);
  }
  if (upstream_ != nullptr && pending_trailers_ != nullptr) upstream_->encodeTrailers(*pending_trailers_);
  if (downstream_paused_) {
    downstream_paused_ = false;
    downstream_.readDisableDownstream(false);
  }
}

void RouterFilter::onPoolFailure(base::Error reason, std::string_view detail) {
  pending_.reset();
  fail(reason, std::string(detail));
}

void RouterFilter::onHeaders(http::HeaderMapPtr headers, bool end_stream) {
  if (done_) return;
  response_started_ = true;
  for (const auto& name : route_->response_headers_to_remove) headers->remove(name);
  for (const auto& add : route_->response_headers_to_add) {
    if (add.append) headers->add(add.name, add.value);
    else headers->set(add.name, add.value);
  }
  if (end_stream) {
    upstream_complete_ = true;
    done_ = true;
    cleanup();
  }
  downstream_.encodeHeaders(std::move(headers), end_stream);
}

void RouterFilter::onData(net::Buffer& data, bool end_stream) {
  if (done_) {
    data.clear();
    return;
  }
  if (end_stream) {
    upstream_complete_ = true;
    done_ = true;
    cleanup();
  }
  downstream_.encodeData(data, end_stream);
}

void RouterFilter::onTrailers(http::HeaderMapPtr trailers) {
  if (done_) return;
  upstream_complete_ = true;
  done_ = true;
  cleanup();
  downstream_.encodeTrailers(std::move(trailers));
}

void RouterFilter::onInformational(http::HeaderMapPtr headers) {
  // 100 Continue was already answered to the client by the connection manager.
}

void RouterFilter::onReset(http::StreamResetReason reason, std::string_view detail) {
  upstream_ = nullptr;
  if (done_) return;
  std::string why = "upstream " + std::string(http::resetReasonName(reason));
  if (!detail.empty()) why += ": " + std::string(detail);
  if (response_started_) cluster_->counters().resets_after_response.inc();
  else cluster_->counters().resets_before_response.inc();
  const base::Error code = reason == http::StreamResetReason::kProtocolError ? base::Error::kUpstreamProtocol
                                                                              : base::Error::kUpstreamReset;
  fail(code, why);
}

void RouterFilter::onAboveWriteBufferHighWatermark() {
  // The upstream is not taking the request body as fast as the client sends.
  downstream_.readDisableDownstream(true);
}

void RouterFilter::onBelowWriteBufferLowWatermark() { downstream_.readDisableDownstream(false); }

void RouterFilter::onDownstreamAboveWriteBufferHighWatermark() {
  if (upstream_ != nullptr) upstream_->readDisable(true);
}

void RouterFilter::onDownstreamBelowWriteBufferLowWatermark() {
  if (upstream_ != nullptr) upstream_->readDisable(false);
}

void RouterFilter::onDownstreamReset(std::string_view reason) {
  done_ = true;
  cleanup();
}

void RouterFilter::startRouteTimer() {
  if (action_ == nullptr || action_->timeout.count() == 0 || route_timer_ || done_) return;
  route_timer_ = downstream_.dispatcher().createTimer([this] { onRouteTimeout(); });
  route_timer_->enable(action_->timeout);
}

void RouterFilter::onRouteTimeout() {
  cluster_->counters().route_timeouts.inc();
  fail(base::Error::kRouteTimeout,
       "upstream did not answer within the route timeout of " + std::to_string(action_->timeout.count()) + " ms");
}

void RouterFilter::fail(base::Error reason, std::string detail, uint32_t status) {
  done_ = true;
  cleanup();
  if (status == 0) status = http::manager::localReplyStatus(reason);
  downstream_.sendLocalReply(status, reason, detail);
}

void RouterFilter::cleanup() {
  if (route_timer_) route_timer_->disable();
  if (pending_) {
    pool_->cancel(*pending_);
    pending_.reset();
  }
  if (upstream_ != nullptr) {
    http::Stream* s = upstream_;
    upstream_ = nullptr;
    // Only an unfinished exchange is reset; a complete one is left to the pool.
    if (!upstream_complete_ || !request_done_) s->resetStream(http::StreamResetReason::kLocalReset);
  }
  if (host_ != nullptr) {
    host_->requestFinished();
    host_ = nullptr;
  }
  if (counted_request_ && cluster_ != nullptr) {
    cluster_->finishRequest();
    counted_request_ = false;
  }
}

}  // namespace remora::router
