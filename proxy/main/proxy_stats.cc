#include "proxy/main/proxy_stats.h"

namespace remora::server {

namespace {
// Declaration failures are programming errors; collect the first one.
struct Declarer {
  observability::StatsRegistry& r;
  base::Status status;
  observability::CounterFamily counter(std::string name, std::string help, std::vector<std::string> labels) {
    auto f = r.declareCounter(std::move(name), std::move(help), std::move(labels));
    if (!f) {
      if (status) status = f.error();
      return {};
    }
    return *f;
  }
  observability::GaugeFamily gauge(std::string name, std::string help, std::vector<std::string> labels) {
    auto f = r.declareGauge(std::move(name), std::move(help), std::move(labels));
    if (!f) {
      if (status) status = f.error();
      return {};
    }
    return *f;
  }
  observability::HistogramFamily histogram(std::string name, std::string help, std::vector<std::string> labels) {
    auto f = r.declareHistogram(std::move(name), std::move(help), std::move(labels));
    if (!f) {
      if (status) status = f.error();
      return {};
    }
    return *f;
  }
};
}  // namespace

base::Result<ProxyFamilies> declareProxyFamilies(observability::StatsRegistry& registry) {
  Declarer d{registry, {}};
  ProxyFamilies f;
  const std::vector<std::string> l{"listener"};
  const std::vector<std::string> c{"cluster"};
  f.downstream_connections = d.counter("remora_downstream_connections", "Downstream connections accepted.", l);
  f.downstream_connections_active = d.gauge("remora_downstream_connections_active", "Downstream connections open now.", l);
  f.downstream_requests = d.counter("remora_downstream_requests", "Downstream HTTP requests received.", l);
  f.downstream_requests_active = d.gauge("remora_downstream_requests_active", "Downstream HTTP requests in flight.", l);
  f.downstream_responses = d.counter("remora_downstream_responses", "Downstream HTTP responses sent, by status class.",
                                     {"listener", "code_class"});
  f.downstream_protocol_errors =
      d.counter("remora_downstream_protocol_errors", "Downstream connections closed for breaking HTTP.", l);
  f.downstream_resets = d.counter("remora_downstream_resets", "Downstream streams reset by the client.", l);
  f.downstream_header_timeouts = d.counter("remora_downstream_header_timeouts",
                                           "Downstream connections closed for sending headers too slowly.", l);
  f.downstream_idle_timeouts =
      d.counter("remora_downstream_idle_timeouts", "Downstream connections closed for being idle.", l);
  f.local_replies = d.counter("remora_local_replies",
                              "Responses Remora generated itself, by reason (the x-remora-error value).",
                              {"listener", "reason"});
  f.direct_responses = d.counter("remora_direct_responses", "Requests answered by a direct_response route.", l);
  f.http_requests = d.counter("remora_http_requests",
                              "Finished HTTP requests by direction, cluster, route, status class and caller identity.",
                              {"direction", "cluster", "route", "code_class", "peer"});
  f.http_request_duration = d.histogram("remora_http_request_duration_seconds",
                                        "HTTP request durations, from the request's start to the response's end.",
                                        {"direction", "cluster", "route"});
  f.upstream_attempt_duration = d.histogram(
      "remora_upstream_attempt_duration_seconds",
      "Durations of upstream tries (each retry and hedge is one), from the try's start to its end.", c);
  f.tracing_spans = d.counter("remora_tracing_spans",
                              "Spans by fate: exported, dropped_queue_full (the export queue was full) or "
                              "dropped_export_failed (the collector did not take them after retries).",
                              {"result"});
  f.tracing_export_requests =
      d.counter("remora_tracing_export_requests", "Span export requests to the collector, by result.", {"result"});
  f.tracing_malformed_headers = d.counter(
      "remora_tracing_malformed_headers", "Requests whose trace headers were unreadable (ignored; a new trace began).", l);
  f.access_log_lines = d.counter("remora_access_log_lines",
                                 "Access log lines written, or dropped because the log's buffer was full.",
                                 {"result"});
  f.access_log_write_errors =
      d.counter("remora_access_log_write_errors", "Access log writes that failed (the lines were lost).", {});
  f.no_filter_chain =
      d.counter("remora_listener_no_filter_chain", "Connections closed because no filter chain matched.", l);
  f.sniff_timeouts = d.counter("remora_listener_sniff_timeouts",
                               "Connections that sent nothing before the sniffing timeout (treated as TCP).", l);
  const std::vector<std::string> tls_labels{"direction", "name"};
  f.tls_handshakes = d.counter("remora_tls_handshakes", "TLS handshakes completed with a verified peer.", tls_labels);
  f.tls_resumed = d.counter("remora_tls_handshakes_resumed", "TLS handshakes that resumed an earlier session.", tls_labels);
  f.tls_handshake_failures = d.counter("remora_tls_handshake_failures",
                                       "TLS handshakes that failed, by reason (docs/observability.md lists them).",
                                       {"direction", "name", "reason"});
  f.rbac_denied = d.counter("remora_rbac_denied", "Requests and connections an authorization policy refused.",
                            {"listener", "peer", "policy"});
  f.tls_certificate_expiry = d.gauge("remora_tls_certificate_expiry_timestamp_seconds",
                                     "When a held certificate expires (Unix time), by secret; a bundle by its earliest root.",
                                     {"secret"});
  f.identity_requests = d.counter("remora_identity_certificate_requests",
                                  "Workload certificate requests to the control plane's CA, by result.", {"result"});
  f.listener_original_dst = d.counter(
      "remora_listener_original_dst",
      "Connections accepted on a listener with the original_dst filter, by result: restored (it came through a "
      "redirect) or not_redirected.",
      {"listener", "result"});
  f.upstream_original_dst_refused = d.counter(
      "remora_upstream_original_dst_refused",
      "Requests and TCP sessions an ORIGINAL_DST cluster refused, by reason: no_original_destination or "
      "passthrough_loop.",
      {"cluster", "reason"});
  f.tcp_connections = d.counter("remora_tcp_connections", "TCP proxy sessions started.", l);
  f.tcp_connections_active = d.gauge("remora_tcp_connections_active", "TCP proxy sessions open now.", l);
  f.tcp_connect_failures = d.counter("remora_tcp_connect_failures", "TCP proxy upstream connects that failed.", l);
  f.tcp_no_upstream = d.counter("remora_tcp_no_upstream", "TCP proxy sessions closed for lack of an upstream host.", l);
  f.tcp_idle_timeouts = d.counter("remora_tcp_idle_timeouts", "TCP proxy sessions closed for being idle.", l);
  f.tcp_bytes = d.counter("remora_tcp_bytes", "Bytes relayed by the TCP proxy, by direction.", {"listener", "direction"});
  f.upstream_requests = d.counter("remora_upstream_requests", "Requests sent to the cluster.", c);
  f.upstream_requests_active = d.gauge("remora_upstream_requests_active", "Requests to the cluster in flight.", c);
  f.upstream_connections = d.counter("remora_upstream_connections", "Upstream connections opened.", c);
  f.upstream_connections_active = d.gauge("remora_upstream_connections_active", "Upstream connections open now.", c);
  f.upstream_connect_failures = d.counter("remora_upstream_connect_failures", "Upstream connects that failed.", c);
  f.upstream_connect_timeouts =
      d.counter("remora_upstream_connect_timeouts", "Upstream connects that hit the connect timeout.", c);
  f.upstream_overflows = d.counter("remora_upstream_overflows",
                                   "Requests refused by a circuit breaker or a full pending queue.", c);
  f.upstream_resets = d.counter("remora_upstream_resets",
                                "Upstream streams that failed, before or after the response started.",
                                {"cluster", "when"});
  f.upstream_route_timeouts =
      d.counter("remora_upstream_route_timeouts", "Requests that hit the route timeout.", c);
  f.upstream_retries = d.counter("remora_upstream_retries", "Retries started.", c);
  f.upstream_retry_overflows = d.counter(
      "remora_upstream_retry_overflows", "Retries refused by the retry budget (or max_retries without one).", c);
  f.upstream_retry_unsafe = d.counter(
      "remora_upstream_retry_unsafe",
      "Retries not made because the request was not idempotent and may have reached the upstream.", c);
  f.upstream_retry_body_too_large =
      d.counter("remora_upstream_retry_body_too_large", "Requests not retriable: the body outgrew the replay buffer.", c);
  f.upstream_per_try_timeouts = d.counter("remora_upstream_per_try_timeouts", "Tries that hit the per-try timeout.", c);
  f.outlier_ejections = d.counter("remora_outlier_ejections", "Hosts ejected by outlier detection, by why.",
                                  {"cluster", "reason"});
  f.outlier_ejections_overflow = d.counter(
      "remora_outlier_ejections_overflow", "Ejections max_ejection_percent prevented.", c);
  f.outlier_ejected_hosts = d.gauge("remora_outlier_ejected_hosts", "Hosts ejected now.", c);
  f.health_check_failures = d.counter("remora_health_check_failures", "Times the active health check turned a host unhealthy.", c);
  f.health_check_unhealthy_hosts =
      d.gauge("remora_health_check_unhealthy_hosts", "Hosts the active health check marks unhealthy now.", c);
  f.server_ready = d.gauge("remora_server_ready", "1 when the proxy serves traffic, 0 while starting or draining.", {});
  f.server_draining = d.gauge("remora_server_draining", "1 while the proxy drains before exiting.", {});
  f.server_start_time = d.gauge("remora_server_start_time_seconds", "Unix time the proxy started.", {});
  f.server_workers = d.gauge("remora_server_workers", "Worker threads.", {});
  f.xds_updates = d.counter("remora_xds_updates",
                            "xDS responses accepted (ACK) or rejected (NACK), by resource type.", {"type", "result"});
  f.xds_resources = d.gauge("remora_xds_resources", "xDS resources held, by resource type.", {"type"});
  f.xds_connected = d.gauge("remora_xds_connected", "1 while the ADS stream to the control plane is up.", {});
  f.xds_stream_failures =
      d.counter("remora_xds_stream_failures", "ADS streams that failed or could not be opened.", {});
  f.xds_control_plane = d.gauge("remora_xds_control_plane_info",
                                "1 for the control-plane address the ADS stream is (or was last) up on, 0 for "
                                "addresses it was up on before.",
                                {"address"});
  f.xds_failovers = d.counter("remora_xds_control_plane_failovers",
                              "ADS streams that came up on another control-plane address than the previous one.", {});
  f.xds_last_update = d.gauge("remora_xds_last_update_timestamp_seconds",
                              "Unix time the last xDS update was accepted (0: never).", {});
  f.xds_config_age = d.gauge("remora_xds_config_age_seconds",
                             "Seconds since the last accepted xDS update, refreshed on scrape (-1: none yet).", {});
  if (!d.status) return d.status.error();
  return f;
}

http::manager::ManagerCounters makeManagerCounters(observability::WorkerStats& s, const ProxyFamilies& f,
                                                   const std::string& listener) {
  http::manager::ManagerCounters m;
  m.connections_total = s.counter(f.downstream_connections, {listener});
  m.connections_active = s.gauge(f.downstream_connections_active, {listener});
  m.requests_total = s.counter(f.downstream_requests, {listener});
  m.requests_active = s.gauge(f.downstream_requests_active, {listener});
  static constexpr const char* kClasses[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (int i = 1; i <= 5; ++i) m.responses_by_class[i] = s.counter(f.downstream_responses, {listener, kClasses[i]});
  m.protocol_errors = s.counter(f.downstream_protocol_errors, {listener});
  m.downstream_resets = s.counter(f.downstream_resets, {listener});
  m.header_timeouts = s.counter(f.downstream_header_timeouts, {listener});
  m.idle_timeouts = s.counter(f.downstream_idle_timeouts, {listener});
  m.local_replies = http::manager::LocalReplyCounters(&s, f.local_replies, listener);
  return m;
}

router::RouterCounters makeRouterCounters(observability::WorkerStats& s, const ProxyFamilies& f,
                                          const std::string& listener) {
  router::RouterCounters r;
  r.direct_responses = s.counter(f.direct_responses, {listener});
  r.no_filter_chain = s.counter(f.no_filter_chain, {listener});
  r.sniff_timeouts = s.counter(f.sniff_timeouts, {listener});
  // The listener name is copied: the counters outlive this call.
  r.on_denied = [&s, family = f.rbac_denied, listener](std::string_view peer, std::string_view policy) {
    s.counter(family, {std::string_view(listener), peer, policy}).inc();
  };
  return r;
}

router::TcpProxyCounters makeTcpCounters(observability::WorkerStats& s, const ProxyFamilies& f,
                                         const std::string& listener) {
  router::TcpProxyCounters t;
  t.connections_total = s.counter(f.tcp_connections, {listener});
  t.connections_active = s.gauge(f.tcp_connections_active, {listener});
  t.connect_failures = s.counter(f.tcp_connect_failures, {listener});
  t.no_upstream = s.counter(f.tcp_no_upstream, {listener});
  t.idle_timeouts = s.counter(f.tcp_idle_timeouts, {listener});
  t.bytes_sent_upstream = s.counter(f.tcp_bytes, {listener, "upstream"});
  t.bytes_sent_downstream = s.counter(f.tcp_bytes, {listener, "downstream"});
  return t;
}

namespace {
upstream::TlsCounters makeTlsCounters(observability::WorkerStats& s, const ProxyFamilies& f, std::string_view direction,
                                      const std::string& name) {
  upstream::TlsCounters t;
  t.handshakes = s.counter(f.tls_handshakes, {direction, name});
  t.resumed = s.counter(f.tls_resumed, {direction, name});
  for (size_t i = 1; i < t.failures.size(); ++i) {
    const auto reason = tls::handshakeFailureName(static_cast<tls::HandshakeFailure>(i));
    t.failures[i] = s.counter(f.tls_handshake_failures, {direction, name, reason});
  }
  return t;
}
}  // namespace

upstream::TlsCounters makeListenerTlsCounters(observability::WorkerStats& s, const ProxyFamilies& f,
                                              const std::string& listener) {
  return makeTlsCounters(s, f, "inbound", listener);
}

upstream::TlsCounters makeClusterTlsCounters(observability::WorkerStats& s, const ProxyFamilies& f,
                                             const std::string& cluster) {
  return makeTlsCounters(s, f, "outbound", cluster);
}

upstream::PoolCounters makeClusterCounters(observability::WorkerStats& s, const ProxyFamilies& f,
                                           const std::string& cluster) {
  upstream::PoolCounters p;
  p.streams_total = s.counter(f.upstream_requests, {cluster});
  p.requests_active = s.gauge(f.upstream_requests_active, {cluster});
  p.connections_total = s.counter(f.upstream_connections, {cluster});
  p.connections_active = s.gauge(f.upstream_connections_active, {cluster});
  p.connect_failures = s.counter(f.upstream_connect_failures, {cluster});
  p.connect_timeouts = s.counter(f.upstream_connect_timeouts, {cluster});
  p.overflows = s.counter(f.upstream_overflows, {cluster});
  p.resets_before_response = s.counter(f.upstream_resets, {cluster, "before_response"});
  p.resets_after_response = s.counter(f.upstream_resets, {cluster, "after_response"});
  p.route_timeouts = s.counter(f.upstream_route_timeouts, {cluster});
  p.retries = s.counter(f.upstream_retries, {cluster});
  p.retry_overflows = s.counter(f.upstream_retry_overflows, {cluster});
  p.retry_unsafe = s.counter(f.upstream_retry_unsafe, {cluster});
  p.retry_body_too_large = s.counter(f.upstream_retry_body_too_large, {cluster});
  p.per_try_timeouts = s.counter(f.upstream_per_try_timeouts, {cluster});
  p.attempt_duration = s.histogram(f.upstream_attempt_duration, {cluster});
  // The cluster name is copied: the counters outlive this call.
  p.on_original_dst_refused = [&s, family = f.upstream_original_dst_refused, cluster](std::string_view reason) {
    s.counter(family, {std::string_view(cluster), reason}).inc();
  };
  return p;
}

}  // namespace remora::server
