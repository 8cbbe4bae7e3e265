#include "proxy/router/router_filter.h"

#include <algorithm>
#include <string>

#include "proxy/http/manager/active_stream.h"
#include "proxy/router/hash_policy.h"

namespace remora::router {

namespace {
// Wall-clock time of a steady-clock reading, from the request's start (read
// once, by the connection manager): no wall-clock read per try.
int64_t unixNsAt(const observability::RequestRecord& r, std::chrono::steady_clock::time_point t) {
  return r.start_unix_ns + std::chrono::duration_cast<std::chrono::nanoseconds>(t - r.start).count();
}
}  // namespace
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
  if (observability::RequestRecord* r = downstream_.record()) r->route_name = route_->name;
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
  if (observability::RequestRecord* r = downstream_.record()) r->cluster = cluster_->name();

  const std::optional<std::string_view> content_type = request_headers_->get("content-type");
  grpc_ = content_type && content_type->starts_with("application/grpc");
  if (grpc_) {
    // An incoming grpc-timeout bounds the call (capped by the route's
    // grpc_timeout_header_max); the remaining time is passed upstream.
    if (auto value = request_headers_->get("grpc-timeout")) {
      if (std::optional<std::chrono::milliseconds> t = parseGrpcTimeout(*value)) {
        if (action_->grpc_timeout_header_max && action_->grpc_timeout_header_max->count() > 0) {
          t = std::min(*t, *action_->grpc_timeout_header_max);
        }
        deadline_ = downstream_.dispatcher().now() + *t;
      }
    }
  }
  // Retries need the request again: not for upgrades, whose bytes after the
  // handshake are a stream rather than a message.
  if (action_->retry_policy && action_->retry_policy->num_retries > 0 && !upgrade) {
    retry_.emplace(*action_->retry_policy, *match.retry_conditions, request_headers_->method(), grpc_);
  }
  if (!action_->hash_policy.empty()) {
    hash_ = computeHash(action_->hash_policy, *request_headers_, downstream_.remoteAddress());
  }
  cluster_->onRequest();
  rewriteRequest(*action_);
  if (action_->idle_timeout && action_->idle_timeout->count() > 0) touchIdleTimer();
  if (request_done_) startRouteTimer();
  startTry();
}

void RouterFilter::startTry() {
  const upstream::LoadBalancerContext context{hash_, attempts_, std::span(tried_hosts_.data(), tried_count_),
                                              downstream_.originalDestination()};
  upstream::Host* host = cluster_->pickHost(context);
  if (host == nullptr) {
    upstream::NoHostReply why = cluster_->onNoHost(context);
    fail(why.reason, std::move(why.detail), why.status);
    return;
  }
  ++attempts_;
  if (tried_count_ < tried_hosts_.size()) tried_hosts_[tried_count_++] = host;
  upstream::ConnectionPool& pool = cluster_->pool(*host, downstream_.protocol());
  tries_.push_back(std::make_unique<UpstreamRequest>(*this, downstream_.dispatcher(), *host, pool, attempts_));
  if (observability::RequestRecord* r = downstream_.record()) {
    r->attempt_count = attempts_;
    r->upstream_host = host->name();
    if (r->trace.sampled) {
      observability::AttemptRecord& a = r->attempts.emplace_back();
      a.number = attempts_;
      a.upstream_host = host->name();
      a.start_unix_ns = unixNsAt(*r, tries_.back()->preciseStart());
    }
  }
  // May call back (ready or failed) before returning.
  tries_.back()->start();
}

void RouterFilter::onTryReady(UpstreamRequest& request) {
  report(request, upstream::HostOutcome::kLocalOriginSuccess);
  http::HeaderMap& h = *request_headers_;
  if (retry_ || attempts_ > 1) h.set("x-remora-attempt-count", std::to_string(request.attempt()));
  if (const uint64_t span_id = downstream_.prepareUpstreamAttempt(h); span_id != 0) {
    if (observability::AttemptRecord* a = attemptRecord(request)) a->span_id = span_id;
  }
  if (deadline_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline_ - downstream_.dispatcher().now());
    h.set("grpc-timeout", formatGrpcTimeout(std::max(left, std::chrono::milliseconds(0))));
  }
  // What this try must send: the whole body so far when it is a replay,
  // otherwise what arrived while no stream could take it.
  net::Buffer copy;
  net::Buffer* body = &pending_body_;
  if (retry_ && !replay_.empty()) {
    copy.addCopy(replay_);
    pending_body_.clear();
    body = &copy;
  }
  const bool has_body = !body->empty() || request_trailers_ != nullptr;
  const bool headers_only = request_done_ && !has_body;
  request.encodeHeaders(h, headers_only);
  if (!request.ready()) return;  // reset synchronously
  if (!body->empty() || (request_done_ && request_trailers_ == nullptr && !headers_only)) {
    request.encodeData(*body, request_done_ && request_trailers_ == nullptr);
    if (!request.ready()) return;
  }
  if (request_trailers_ != nullptr) request.encodeTrailers(*request_trailers_);
  if (request_done_ && retry_ && retry_->perTryTimeout()) request.startPerTryTimer(*retry_->perTryTimeout());
  if (downstream_paused_) {
    downstream_paused_ = false;
    downstream_.readDisableDownstream(false);
  }
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
  touchIdleTimer();
  if (retry_) {
    if (replay_.length() + data.length() > kReplayBufferLimit) {
      // Too long to replay: this request gets no retry (and no hedge).
      cluster_->counters().retry_body_too_large.inc();
      disableRetries();
      const bool any_ready = std::any_of(tries_.begin(), tries_.end(), [](const auto& t) { return t->ready(); });
      if (!any_ready && attempts_ > 1) {
        // A retry is waiting for its stream and can no longer send the whole body.
        fail(base::Error::kOverflow, "the request body outgrew the " + std::to_string(kReplayBufferLimit / 1024) +
                                         " KiB replay buffer while a retry was starting");
        data.clear();
        return;
      }
      std::erase_if(tries_, [](const std::unique_ptr<UpstreamRequest>& t) { return !t->ready(); });
    } else {
      replay_.addCopy(data);
    }
  }
  UpstreamRequest* ready = nullptr;
  for (auto& t : tries_) {
    if (!t->ready()) continue;
    if (ready != nullptr) {
      net::Buffer copy;
      copy.addCopy(data);
      ready->encodeData(copy, end_stream);
    }
    ready = t.get();
  }
  if (ready != nullptr) {
    ready->encodeData(data, end_stream);
  } else {
    pending_body_.move(data);
    if (pending_body_.length() > kPendingBodyLimit && !downstream_paused_) {
      downstream_paused_ = true;
      downstream_.readDisableDownstream(true);
    }
  }
  if (end_stream) finishRequestOnTries();
}

void RouterFilter::onRequestTrailers(http::HeaderMapPtr trailers) {
  if (done_) return;
  request_done_ = true;
  request_trailers_ = std::move(trailers);
  for (auto& t : tries_) {
    if (t->ready()) t->encodeTrailers(*request_trailers_);
  }
  finishRequestOnTries();
}

void RouterFilter::finishRequestOnTries() {
  startRouteTimer();
  if (!retry_ || !retry_->perTryTimeout()) return;
  for (auto& t : tries_) {
    if (t->ready()) t->startPerTryTimer(*retry_->perTryTimeout());
  }
}

void RouterFilter::report(UpstreamRequest& request, upstream::HostOutcome outcome) {
  cluster_->reportOutcome(request.host(), outcome);
}

bool RouterFilter::retryAfter(bool reached_upstream, bool grpc_answer) {
  if (!retry_ || !retry_->triesLeft() || done_) return false;
  if (!retry_->mayRepeat(reached_upstream, grpc_answer)) {
    cluster_->counters().retry_unsafe.inc();
    retry_refused_ = "not_idempotent";
    return false;
  }
  if (!cluster_->tryStartRetry()) {  // budget or max_retries; counted there
    retry_refused_ = "budget";
    return false;
  }
  // The retry stays active (for max_retries) until the request ends.
  ++retries_taken_;
  cluster_->counters().retries.inc();
  const std::chrono::milliseconds backoff = retry_->nextBackoff(factory_.random_);
  if (!retry_timer_) retry_timer_ = downstream_.dispatcher().createTimer([this] { startTry(); });
  retry_timer_->enable(backoff);
  return true;
}

void RouterFilter::removeTry(UpstreamRequest& request) {
  for (auto it = tries_.begin(); it != tries_.end(); ++it) {
    if (it->get() != &request) continue;
    std::unique_ptr<UpstreamRequest> gone = std::move(*it);
    tries_.erase(it);
    gone->cancel();
    // It may be the caller up the stack: destroyed after this event.
    downstream_.dispatcher().deferredDelete(std::move(gone));
    return;
  }
}

void RouterFilter::onTryFailed(UpstreamRequest& request, TryFailure failure, base::Error error, std::string detail) {
  if (done_) return;
  const bool never_reached = failure == TryFailure::kConnectFailure || failure == TryFailure::kRefusedStream;
  if (error == base::Error::kOverflow) {
    // A pool limit is a circuit breaker, not a host failure: no retry.
    endTry(request, base::errorName(error));
    removeTry(request);
    if (tries_.empty()) fail(error, std::move(detail));
    return;
  }
  report(request, upstream::HostOutcome::kLocalOriginFailure);
  if (failure == TryFailure::kPerTryTimeout) {
    cluster_->counters().per_try_timeouts.inc();
    if (action_->hedge_on_per_try_timeout && retry_ && retry_->retriableFailure(failure) && tries_.size() == 1) {
      // Hedge: a second try races the slow one; the first answer wins.
      if (retryAfter(true, false)) return;
    }
  }
  if (failure == TryFailure::kReset || failure == TryFailure::kRefusedStream) {
    cluster_->counters().resets_before_response.inc();
  }
  const bool reached = request.reachedUpstream() && !never_reached;
  endTry(request, base::errorName(error));
  removeTry(request);
  if (!tries_.empty()) return;  // a hedged try is still running
  if (retry_ && retry_->retriableFailure(failure) && retryAfter(reached, false)) return;
  if (attempts_ > 1) detail += " (after " + std::to_string(attempts_) + " tries)";
  fail(error, std::move(detail));
}

void RouterFilter::onTryHeaders(UpstreamRequest& request, http::HeaderMapPtr headers, bool end_stream) {
  if (done_) return;
  const uint32_t status = headers->status();
  std::optional<uint32_t> grpc_status;
  if (grpc_) {
    if (auto g = headers->get("grpc-status")) {
      uint32_t v = 0;
      if (!g->empty() && g->size() <= 2 && std::all_of(g->begin(), g->end(), [](char c) { return c >= '0' && c <= '9'; })) {
        for (char c : *g) v = v * 10 + static_cast<uint32_t>(c - '0');
        grpc_status = v;
      }
    }
  }
  request.host().recordLatency(downstream_.dispatcher().now(), downstream_.dispatcher().now() - request.startedAt());
  request.setStatus(status);
  if (status == 502 || status == 503 || status == 504) report(request, upstream::HostOutcome::kGatewayFailure);
  else if (status >= 500) report(request, upstream::HostOutcome::kUpstream5xx);
  else report(request, upstream::HostOutcome::kSuccess);

  if (retry_ && retry_->retriableAnswer(status, grpc_status)) {
    if (tries_.size() > 1) {
      // A hedged try failed while the other still runs: let that one answer.
      endTry(request, {});
      removeTry(request);
      return;
    }
    if (retryAfter(true, grpc_status.has_value())) {
      endTry(request, {});
      removeTry(request);
      return;
    }
  }
  winner_ = &request;
  if (observability::RequestRecord* r = downstream_.record()) {
    r->upstream_first_byte = std::chrono::steady_clock::now();
    r->upstream_host = request.host().name();
  }
  for (auto& t : tries_) {
    if (t.get() != &request) {
      endTry(*t, "hedge_lost");
      t->cancel();
    }
  }
  std::erase_if(tries_, [&](const std::unique_ptr<UpstreamRequest>& t) { return t.get() != &request; });
  if (retry_timer_) retry_timer_->disable();
  response_started_ = true;
  // The answer is a failure a retry could have hidden: say why it did not.
  if (retry_refused_ != nullptr) headers->set("x-remora-retry-refused", retry_refused_);
  for (const auto& name : route_->response_headers_to_remove) headers->remove(name);
  for (const auto& add : route_->response_headers_to_add) {
    if (add.append) headers->add(add.name, add.value);
    else headers->set(add.name, add.value);
  }
  if (end_stream) {
    done_ = true;
    cleanup();
  }
  downstream_.encodeHeaders(std::move(headers), end_stream);
}

void RouterFilter::onTryData(UpstreamRequest& request, net::Buffer& data, bool end_stream) {
  if (done_ || &request != winner_) {
    data.clear();
    return;
  }
  touchIdleTimer();
  if (end_stream) {
    done_ = true;
    cleanup();
  }
  downstream_.encodeData(data, end_stream);
}

void RouterFilter::onTryTrailers(UpstreamRequest& request, http::HeaderMapPtr trailers) {
  if (done_ || &request != winner_) return;
  done_ = true;
  cleanup();
  downstream_.encodeTrailers(std::move(trailers));
}

void RouterFilter::onTryResetAfterHeaders(UpstreamRequest& request, http::StreamResetReason reason,
                                          std::string_view detail) {
  if (done_ || &request != winner_) return;
  cluster_->counters().resets_after_response.inc();
  const base::Error code = reason == http::StreamResetReason::kProtocolError ? base::Error::kUpstreamProtocol
                                                                              : base::Error::kUpstreamReset;
  fail(code, std::string(detail));
}

void RouterFilter::onTryAboveWriteBufferHighWatermark() {
  // The upstream is not taking the request body as fast as the client sends.
  downstream_.readDisableDownstream(true);
}

void RouterFilter::onTryBelowWriteBufferLowWatermark() { downstream_.readDisableDownstream(false); }

void RouterFilter::onDownstreamAboveWriteBufferHighWatermark() {
  if (winner_ != nullptr) winner_->readDisable(true);
}

void RouterFilter::onDownstreamBelowWriteBufferLowWatermark() {
  if (winner_ != nullptr) winner_->readDisable(false);
}

void RouterFilter::onDownstreamReset(std::string_view reason) {
  done_ = true;
  cleanup();
}

void RouterFilter::startRouteTimer() {
  if (action_ == nullptr || route_timer_ || done_) return;
  std::chrono::milliseconds timeout = action_->timeout;
  if (deadline_) {
    const auto left = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   *deadline_ - downstream_.dispatcher().now()),
                               std::chrono::milliseconds(0));
    if (timeout.count() == 0 || left < timeout) timeout = left;
  } else if (timeout.count() == 0) {
    return;
  }
  route_timer_ = downstream_.dispatcher().createTimer([this] { onRouteTimeout(); });
  route_timer_->enable(timeout);
}

void RouterFilter::onRouteTimeout() {
  cluster_->counters().route_timeouts.inc();
  for (auto& t : tries_) report(*t, upstream::HostOutcome::kLocalOriginFailure);
  std::string detail =
      deadline_ ? std::string("the call's grpc-timeout expired before the upstream answered")
                : "upstream did not answer within the route timeout of " + std::to_string(action_->timeout.count()) + " ms";
  if (attempts_ > 1) detail += " (after " + std::to_string(attempts_) + " tries)";
  fail(base::Error::kRouteTimeout, std::move(detail));
}

void RouterFilter::touchIdleTimer() {
  if (action_ == nullptr || !action_->idle_timeout || action_->idle_timeout->count() == 0 || done_) return;
  if (!idle_timer_) {
    idle_timer_ = downstream_.dispatcher().createTimer([this] {
      fail(base::Error::kStreamIdleTimeout, "no bytes in either direction for the route's idle timeout of " +
                                                std::to_string(action_->idle_timeout->count()) + " ms");
    });
  }
  idle_timer_->enable(*action_->idle_timeout);
}

void RouterFilter::fail(base::Error reason, std::string detail, uint32_t status) {
  done_ = true;
  end_reason_ = base::errorName(reason);
  cleanup();
  if (status == 0) status = http::manager::localReplyStatus(reason);
  downstream_.sendLocalReply(status, reason, detail);
}

void RouterFilter::cleanup() {
  if (route_timer_) route_timer_->disable();
  if (idle_timer_) idle_timer_->disable();
  if (retry_timer_) retry_timer_->disable();
  if (retries_taken_ > 0 && cluster_ != nullptr) {
    cluster_->finishRetries(retries_taken_);
    retries_taken_ = 0;
  }
  for (auto& t : tries_) {
    // The winner that completed ended well; any other try was cut short.
    const bool answered = t.get() == winner_ && t->complete();
    endTry(*t, answered ? std::string_view() : (end_reason_.empty() ? std::string_view("cancelled") : end_reason_));
    t->cancel();
    downstream_.dispatcher().deferredDelete(std::move(t));
  }
  tries_.clear();
  winner_ = nullptr;
  if (counted_request_ && cluster_ != nullptr) {
    cluster_->finishRequest();
    counted_request_ = false;
  }
}

observability::AttemptRecord* RouterFilter::attemptRecord(const UpstreamRequest& request) {
  observability::RequestRecord* r = downstream_.record();
  if (r == nullptr || !r->trace.sampled) return nullptr;
  for (auto& a : r->attempts) {
    if (a.number == request.attempt()) return &a;
  }
  return nullptr;
}

void RouterFilter::endTry(UpstreamRequest& request, std::string_view error) {
  if (!request.markEnded()) return;
  const auto now = std::chrono::steady_clock::now();
  if (cluster_ != nullptr) cluster_->counters().attempt_duration.recordDuration(now - request.preciseStart());
  if (observability::AttemptRecord* a = attemptRecord(request)) {
    a->end_unix_ns = unixNsAt(*downstream_.record(), now);
    a->status = request.status();
    a->error = error;
  }
}

}  // namespace remora::router
