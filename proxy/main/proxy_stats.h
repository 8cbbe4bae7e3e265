// Every metric family remora-proxy exports, declared in one place (so
// docs/observability.md has one list to mirror), and the builders that turn
// a worker's stats shard into the handle bundles each module writes through.
//
// declare() runs once on the main thread; the make*() builders run on the
// thread that owns `shard` (or before that worker's loop starts).
#pragma once

#include <string>

#include "proxy/http/manager/stream_handler.h"
#include "proxy/observability/stats_registry.h"
#include "proxy/router/router_filter.h"
#include "proxy/router/tcp_proxy.h"
#include "proxy/upstream/connection_pool.h"

namespace remora::server {

struct ProxyFamilies {
  // Downstream, by listener.
  observability::CounterFamily downstream_connections;
  observability::GaugeFamily downstream_connections_active;
  observability::CounterFamily downstream_requests;
  observability::GaugeFamily downstream_requests_active;
  observability::CounterFamily downstream_responses;  // + code_class
  observability::CounterFamily downstream_protocol_errors;
  observability::CounterFamily downstream_resets;
  observability::CounterFamily downstream_header_timeouts;
  observability::CounterFamily downstream_idle_timeouts;
  observability::CounterFamily local_replies;  // + reason
  observability::CounterFamily direct_responses;
  // Per finished request (the request observer).
  observability::CounterFamily http_requests;                // direction, cluster, route, code_class, peer
  observability::HistogramFamily http_request_duration;      // direction, cluster, route
  observability::HistogramFamily upstream_attempt_duration;  // cluster
  // Tracing and access logs (main thread / writer, shared by workers).
  observability::CounterFamily tracing_spans;            // result
  observability::CounterFamily tracing_export_requests;  // result
  observability::CounterFamily tracing_malformed_headers;  // listener
  observability::CounterFamily access_log_lines;         // result
  observability::CounterFamily access_log_write_errors;
  observability::CounterFamily no_filter_chain;
  observability::CounterFamily sniff_timeouts;
  // Transparent interception: listener, result; cluster, reason.
  observability::CounterFamily listener_original_dst;
  observability::CounterFamily upstream_original_dst_refused;
  // TCP proxy, by listener.
  observability::CounterFamily tcp_connections;
  observability::GaugeFamily tcp_connections_active;
  observability::CounterFamily tcp_connect_failures;
  observability::CounterFamily tcp_no_upstream;
  observability::CounterFamily tcp_idle_timeouts;
  observability::CounterFamily tcp_bytes;  // + direction
  // Upstream, by cluster.
  observability::CounterFamily upstream_requests;
  observability::GaugeFamily upstream_requests_active;
  observability::CounterFamily upstream_connections;
  observability::GaugeFamily upstream_connections_active;
  observability::CounterFamily upstream_connect_failures;
  observability::CounterFamily upstream_connect_timeouts;
  observability::CounterFamily upstream_overflows;
  observability::CounterFamily upstream_resets;  // + when
  observability::CounterFamily upstream_route_timeouts;
  observability::CounterFamily upstream_retries;
  observability::CounterFamily upstream_retry_overflows;
  observability::CounterFamily upstream_retry_unsafe;
  observability::CounterFamily upstream_retry_body_too_large;
  observability::CounterFamily upstream_per_try_timeouts;
  // Main thread: outlier detection and active health checks.
  observability::CounterFamily outlier_ejections;  // + reason
  observability::CounterFamily outlier_ejections_overflow;
  observability::GaugeFamily outlier_ejected_hosts;
  observability::CounterFamily health_check_failures;
  observability::GaugeFamily health_check_unhealthy_hosts;
  // TLS, by direction ("inbound": a listener; "outbound": a cluster) and name.
  observability::CounterFamily tls_handshakes;
  observability::CounterFamily tls_resumed;
  observability::CounterFamily tls_handshake_failures;  // + reason
  observability::CounterFamily rbac_denied;              // listener, peer, policy
  observability::GaugeFamily tls_certificate_expiry;     // secret
  observability::CounterFamily identity_requests;        // result
  // Server.
  observability::GaugeFamily server_ready;
  observability::GaugeFamily server_draining;
  observability::GaugeFamily server_start_time;
  observability::GaugeFamily server_workers;
  // The xDS client (main thread).
  observability::CounterFamily xds_updates;  // + type, result
  observability::GaugeFamily xds_resources;  // + type
  observability::GaugeFamily xds_connected;
  observability::CounterFamily xds_stream_failures;
  observability::GaugeFamily xds_control_plane;  // + address
  observability::CounterFamily xds_failovers;
  observability::GaugeFamily xds_last_update;
  observability::GaugeFamily xds_config_age;
};

// Fails only on a programming error (a bad or duplicate name).
base::Result<ProxyFamilies> declareProxyFamilies(observability::StatsRegistry& registry);

http::manager::ManagerCounters makeManagerCounters(observability::WorkerStats& shard, const ProxyFamilies& f,
                                                   const std::string& listener);
router::RouterCounters makeRouterCounters(observability::WorkerStats& shard, const ProxyFamilies& f,
                                          const std::string& listener);
router::TcpProxyCounters makeTcpCounters(observability::WorkerStats& shard, const ProxyFamilies& f,
                                         const std::string& listener);
upstream::TlsCounters makeListenerTlsCounters(observability::WorkerStats& shard, const ProxyFamilies& f,
                                              const std::string& listener);
upstream::TlsCounters makeClusterTlsCounters(observability::WorkerStats& shard, const ProxyFamilies& f,
                                             const std::string& cluster);
upstream::PoolCounters makeClusterCounters(observability::WorkerStats& shard, const ProxyFamilies& f,
                                           const std::string& cluster);

}  // namespace remora::server
