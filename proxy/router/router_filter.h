// RouterFilter: serves one downstream request by routing it to an upstream
// cluster and streaming the exchange both ways: matches the route, applies the
// route's rewrites, picks a host, takes a stream from that host's pool, and
// relays headers, body and trailers with back-pressure in both directions.
// Every failure on the way becomes a local reply with its reason (or a reset
// once the response has started).
//
// Worker-local; created per request by RouterFilterFactory and owned by the
// connection manager's ActiveStream.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/http/manager/stream_handler.h"
#include "proxy/router/retry_state.h"
#include "proxy/router/route_table.h"
#include "proxy/router/upstream_request.h"
#include "proxy/security/authorizer.h"
#include "proxy/upstream/cluster_manager.h"
#include "proxy/upstream/connection_pool.h"
#include "proxy/upstream/outlier_detector.h"

namespace remora::router {

// Listener-level router metric handles (worker-local; merged on scrape).
// Per-cluster figures live in the cluster's PoolCounters.
struct RouterCounters {
  observability::Counter direct_responses;
  observability::Counter no_filter_chain;
  observability::Counter sniff_timeouts;
  // Counts a request or connection an RBAC filter refused, by peer identity
  // and policy (series made on first use; worker-local).
  std::function<void(std::string_view peer, std::string_view policy)> on_denied;
};

// The connection manager's security settings for the router: the RBAC
// filters (compiled once, shared by every worker) and whether the caller's
// identity is passed to the app in x-forwarded-client-cert.
struct HttpSecurity {
  std::shared_ptr<const security::Authorizer> authorizer;  // null or empty: everyone is allowed
  bool forward_client_identity = false;
};

// Weighted cluster picks use the worker's PRNG (one per worker).
using Random = upstream::Random;

class RouterFilterFactory : public http::manager::StreamHandlerFactory {
 public:
  RouterFilterFactory(std::shared_ptr<const RouteTable> routes, upstream::ClusterManager& clusters, Random& random,
                      RouterCounters& counters, bool websocket_upgrade, bool connect_upgrade, HttpSecurity security = {})
      : routes_(std::move(routes)), clusters_(clusters), random_(random), counters_(counters),
        websocket_upgrade_(websocket_upgrade), connect_upgrade_(connect_upgrade), security_(std::move(security)) {}
  std::unique_ptr<http::manager::StreamHandler> createHandler(http::manager::DownstreamStream& downstream) override;
  // New route tables (RDS) for requests that start from now on; requests in
  // flight keep the table they matched against.
  void setRoutes(std::shared_ptr<const RouteTable> routes) { routes_ = std::move(routes); }
  // New RBAC filters for requests that start from now on: a policy change
  // applies to the next request, also on connections already open.
  void setSecurity(HttpSecurity security) { security_ = std::move(security); }

 private:
  friend class RouterFilter;
  std::shared_ptr<const RouteTable> routes_;
  upstream::ClusterManager& clusters_;
  Random& random_;
  RouterCounters& counters_;
  bool websocket_upgrade_;
  bool connect_upgrade_;
  HttpSecurity security_;
};

class RouterFilter : public http::manager::StreamHandler, public UpstreamRequestOwner {
 public:
  RouterFilter(RouterFilterFactory& factory, http::manager::DownstreamStream& downstream);
  ~RouterFilter() override;

  // StreamHandler: the downstream request.
  void onRequestHeaders(http::HeaderMapPtr headers, bool end_stream) override;
  void onRequestData(net::Buffer& data, bool end_stream) override;
  void onRequestTrailers(http::HeaderMapPtr trailers) override;
  void onDownstreamReset(std::string_view reason) override;
  void onDownstreamAboveWriteBufferHighWatermark() override;
  void onDownstreamBelowWriteBufferLowWatermark() override;

  // UpstreamRequestOwner: what each try reports.
  void onTryReady(UpstreamRequest& request) override;
  void onTryFailed(UpstreamRequest& request, TryFailure failure, base::Error error, std::string detail) override;
  void onTryHeaders(UpstreamRequest& request, http::HeaderMapPtr headers, bool end_stream) override;
  void onTryData(UpstreamRequest& request, net::Buffer& data, bool end_stream) override;
  void onTryTrailers(UpstreamRequest& request, http::HeaderMapPtr trailers) override;
  void onTryResetAfterHeaders(UpstreamRequest& request, http::StreamResetReason reason,
                              std::string_view detail) override;
  void onTryAboveWriteBufferHighWatermark() override;
  void onTryBelowWriteBufferLowWatermark() override;

  // The request body a retry can replay; a longer body turns retries off.
  static constexpr size_t kReplayBufferLimit = 64 * 1024;

 private:
  // Fails the request with a local reply and releases everything upstream.
  void fail(base::Error reason, std::string detail, uint32_t status = 0);
  // Picks a host (another one than before, when there is one) and starts a try.
  void startTry();
  // Another try after a failed one, within the policy, the method's rules
  // and the cluster's budget; false when none may start.
  bool retryAfter(bool reached_upstream, bool grpc_answer);
  void removeTry(UpstreamRequest& request);
  void finishRequestOnTries();
  void startRouteTimer();
  void onRouteTimeout();
  void touchIdleTimer();
  void cleanup();
  void rewriteRequest(const xds::resources::RouteAction& action);
  bool allowUpgrade(const xds::resources::RouteAction& action);
  // RBAC and x-forwarded-client-cert; false when the request was refused.
  bool authorize();
  // Reports how a try ended to the cluster's outlier detection.
  void report(UpstreamRequest& request, upstream::HostOutcome outcome);
  // Notes how a try ended (once per try): the attempt histogram and, when
  // the request is traced, the try's span; `error` is "" for an answer.
  void endTry(UpstreamRequest& request, std::string_view error);
  observability::AttemptRecord* attemptRecord(const UpstreamRequest& request);
  void disableRetries() {
    retry_.reset();
    replay_.clear();
  }

  RouterFilterFactory& factory_;
  http::manager::DownstreamStream& downstream_;
  // Keeps the route table (and so the matched route) alive for this request
  // even if a new config replaces it meanwhile.
  std::shared_ptr<const RouteTable> routes_;
  const xds::resources::RouteAction* action_ = nullptr;
  const xds::resources::Route* route_ = nullptr;
  upstream::Cluster* cluster_ = nullptr;
  http::HeaderMapPtr request_headers_;
  http::HeaderMapPtr request_trailers_;
  // Request body that arrived while no try had a stream to take it.
  net::Buffer pending_body_;
  // The whole request body so far, while a retry may still replay it.
  net::Buffer replay_;
  // Live tries: one, or two while hedging. The first to answer wins.
  std::vector<std::unique_ptr<UpstreamRequest>> tries_;
  UpstreamRequest* winner_ = nullptr;
  std::optional<RetryState> retry_;
  // The hosts tried so far (the first few: enough to steer retries away).
  std::array<const upstream::Host*, 8> tried_hosts_{};
  uint32_t tried_count_ = 0;
  std::optional<uint64_t> hash_;
  uint32_t attempts_ = 0;
  uint32_t retries_taken_ = 0;  // retries counted against the cluster's limits
  // Why a wanted retry was not made ("budget", "not_idempotent"); the
  // client sees it in x-remora-retry-refused on the answer it gets.
  const char* retry_refused_ = nullptr;
  // Why the request failed (fail()'s reason), for the tries it cut short.
  std::string_view end_reason_;
  // gRPC: the call's deadline from its grpc-timeout, propagated upstream.
  bool grpc_ = false;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  net::TimerPtr route_timer_;
  net::TimerPtr retry_timer_;
  net::TimerPtr idle_timer_;
  bool request_done_ = false;
  bool response_started_ = false;
  bool done_ = false;
  bool counted_request_ = false;
  bool downstream_paused_ = false;
};

}  // namespace remora::router
