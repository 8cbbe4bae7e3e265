// The config model: what remora-proxy runs on, validated and typed, free of
// wire protos. Converters in xds/resources turn xDS / bootstrap protos into
// these structs (and reject what is malformed); the control plane validates
// with the same converters, so both sides refuse the same things.
//
// Plain values. Once built into a Snapshot they are immutable and shared
// across threads through std::shared_ptr<const ...>.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace remora::xds::resources {

using Millis = std::chrono::milliseconds;

struct SocketAddress {
  std::string address;  // a literal IPv4/IPv6 address
  uint32_t port = 0;
  bool operator==(const SocketAddress&) const = default;
};

// ---- Routes -------------------------------------------------------------

struct HeaderMatcher {
  enum class Kind { kExact, kPrefix, kSuffix, kContains, kRegex, kPresent };
  std::string name;  // lower-case
  Kind kind = Kind::kPresent;
  std::string value;      // for everything but kPresent
  bool present = true;    // kPresent: must (true) or must not (false) be there
  bool invert = false;
  bool operator==(const HeaderMatcher&) const = default;
};

struct RouteMatch {
  enum class PathKind { kPrefix, kExact, kRegex };
  PathKind path_kind = PathKind::kPrefix;
  std::string path;  // prefix, exact path, or ECMAScript-compatible regex
  bool case_sensitive = true;
  std::vector<HeaderMatcher> headers;
  bool operator==(const RouteMatch&) const = default;
};

struct WeightedCluster {
  std::string name;
  uint32_t weight = 0;
  bool operator==(const WeightedCluster&) const = default;
};

struct RetryPolicy {
  // "5xx", "gateway-error", "reset", "connect-failure", "refused-stream",
  // "retriable-4xx", "retriable-status-codes", gRPC: "cancelled",
  // "deadline-exceeded", "internal", "resource-exhausted", "unavailable";
  // and Remora's "non-idempotent" (a POST/PATCH/... may be retried after it
  // reached the upstream; without it only when it provably did not).
  std::vector<std::string> retry_on;
  uint32_t num_retries = 1;
  std::optional<Millis> per_try_timeout;
  std::vector<uint32_t> retriable_status_codes;  // for "retriable-status-codes"
  // Exponential backoff with full jitter between attempts (Envoy's defaults:
  // 25 ms base, ten times that at most).
  Millis base_interval{25};
  Millis max_interval{250};
  bool operator==(const RetryPolicy&) const = default;
};

// What a hashing balancer (RING_HASH, MAGLEV) hashes for a request; the first
// policy that yields a value wins (Envoy's hash_policy, without `terminal`).
struct HashPolicy {
  enum class Kind { kHeader, kCookie, kSourceIp };
  Kind kind = Kind::kHeader;
  std::string name;  // the header (lower-case) or cookie name
  bool operator==(const HashPolicy&) const = default;
};

struct RouteAction {
  std::string cluster;                           // one cluster, or
  std::vector<WeightedCluster> weighted_clusters;  // a weighted split
  std::optional<std::string> host_rewrite_literal;
  std::optional<std::string> prefix_rewrite;
  Millis timeout{15000};  // whole request; 0 disables (Envoy's default is 15 s)
  // auto_host_rewrite: the Host header becomes the picked upstream host's
  // address (added with the bootstrap converters; needs the router to honour it).
  bool auto_host_rewrite = false;
  std::optional<Millis> idle_timeout;
  std::optional<RetryPolicy> retry_policy;
  // Hedging (Envoy's hedge_policy.hedge_on_per_try_timeout): when a try times
  // out, a second one starts without cancelling the first; the first response wins.
  bool hedge_on_per_try_timeout = false;
  std::vector<HashPolicy> hash_policy;
  // max_stream_duration.grpc_timeout_header_max: an incoming grpc-timeout
  // bounds the request, capped by this (0: uncapped). Remora honours
  // grpc-timeout even when unset, capped by `timeout`.
  std::optional<Millis> grpc_timeout_header_max;
  bool allow_upgrade_websocket = true;  // overrides the connection manager's upgrade config when set
  bool allow_connect = false;           // CONNECT is refused unless a route enables it
  bool operator==(const RouteAction&) const = default;
};

struct DirectResponse {
  uint32_t status = 200;
  std::string body;
  bool operator==(const DirectResponse&) const = default;
};

struct HeaderValueOption {
  std::string name;
  std::string value;
  bool append = false;
  bool operator==(const HeaderValueOption&) const = default;
};

struct Route {
  std::string name;
  RouteMatch match;
  std::variant<RouteAction, DirectResponse> action;
  std::vector<HeaderValueOption> request_headers_to_add;
  std::vector<std::string> request_headers_to_remove;
  std::vector<HeaderValueOption> response_headers_to_add;
  std::vector<std::string> response_headers_to_remove;
  bool operator==(const Route&) const = default;
};

struct VirtualHost {
  std::string name;
  std::vector<std::string> domains;  // "*", "*.suffix", "prefix.*", exact; ports ignored on match
  std::vector<Route> routes;
  bool operator==(const VirtualHost&) const = default;
};

struct RouteConfiguration {
  std::string name;
  std::vector<VirtualHost> virtual_hosts;
  bool operator==(const RouteConfiguration&) const = default;
};

// ---- TLS and authorization ---------------------------------------------------

enum class TlsVersion { kTls12, kTls13 };

// A certificate chain and its private key: a secret by name (SDS over ADS;
// the name "default" is the proxy's own workload identity, made locally and
// never sent over the wire), inline PEM, or files the proxy reads itself.
struct CertificateSource {
  std::string sds_name;
  std::string certificate_chain;  // inline PEM
  std::string private_key;        // inline PEM
  std::string certificate_chain_file;
  std::string private_key_file;
  bool empty() const { return sds_name.empty() && certificate_chain.empty() && certificate_chain_file.empty(); }
  bool operator==(const CertificateSource&) const = default;
};

// How a peer's certificate is checked: the roots it must chain to (a secret
// by name, inline PEM or a file; several roots may be concatenated, as during
// a CA rotation) and which identities (URI SANs) are accepted. No SAN
// matcher: any identity the roots vouch for.
struct CertificateValidation {
  std::string sds_name;  // the trust bundle's secret ("ROOTCA" in the mesh)
  std::string trusted_ca;  // inline PEM
  std::string trusted_ca_file;
  std::vector<std::string> uri_san_exact;   // e.g. "spiffe://cluster.local/ns/shop/sa/catalog"
  std::vector<std::string> uri_san_prefix;  // e.g. "spiffe://cluster.local/" (a trust domain)
  bool operator==(const CertificateValidation&) const = default;
};

// A cluster's transport_socket (UpstreamTlsContext): TLS originated to every host.
struct UpstreamTls {
  CertificateSource certificate;  // empty: no client certificate
  std::optional<CertificateValidation> validation;  // absent: the server is not verified (refused by the mesh builder)
  std::string sni;
  std::vector<std::string> alpn;  // offered, in order
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  bool operator==(const UpstreamTls&) const = default;
};

// A filter chain's transport_socket (DownstreamTlsContext): TLS terminated.
struct DownstreamTls {
  CertificateSource certificate;  // required
  std::optional<CertificateValidation> validation;
  bool require_client_certificate = false;
  std::vector<std::string> alpn;  // accepted, in server preference order
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  bool operator==(const DownstreamTls&) const = default;
};

// An SDS resource (extensions.transport_sockets.tls.v3.Secret): a
// certificate with its key, or a trust bundle.
struct Secret {
  std::string name;
  std::optional<CertificateSource> tls_certificate;          // inline PEM only
  std::optional<CertificateValidation> validation_context;   // inline trusted_ca (+ SAN matchers)
  bool operator==(const Secret&) const = default;
};

struct StringMatch {
  enum class Kind { kExact, kPrefix, kSuffix, kContains, kRegex };
  Kind kind = Kind::kExact;
  std::string value;
  bool ignore_case = false;
  bool operator==(const StringMatch&) const = default;
};

// One node of an RBAC permission or principal (envoy.config.rbac.v3), the
// subset Remora evaluates. Leaves: any, destination port, URL path, a header
// (":method" for methods), the peer's authenticated principal (its URI SAN).
struct RbacMatch {
  enum class Kind { kAny, kAnd, kOr, kNot, kDestinationPort, kUrlPath, kHeader, kAuthenticated };
  Kind kind = Kind::kAny;
  std::vector<RbacMatch> children;  // kAnd, kOr; kNot has exactly one
  uint32_t destination_port = 0;
  StringMatch string_match;  // kUrlPath (path without query), kAuthenticated (principal name)
  HeaderMatcher header;      // kHeader
  bool operator==(const RbacMatch&) const = default;
};

struct RbacPolicy {
  std::string name;
  std::vector<RbacMatch> permissions;  // any may match
  std::vector<RbacMatch> principals;   // any may match
  bool operator==(const RbacPolicy&) const = default;
};

// One RBAC filter. ALLOW: a request must match a policy; DENY: it must match
// none. Several filters run in order (the mesh emits DENY, then ALLOW).
struct Rbac {
  enum class Action { kAllow, kDeny };
  std::string stat_prefix;
  Action action = Action::kAllow;
  std::vector<RbacPolicy> policies;
  bool operator==(const Rbac&) const = default;
};

// ---- Listeners ------------------------------------------------------------

// HttpConnectionManager.tracing: where this listener's spans go and how many
// requests are traced. The collector is a cluster (as in Envoy); Remora's
// span exporter on the main thread posts batches to one of its endpoints.
struct TracingProvider {
  enum class Format { kOtlpHttp, kZipkinJson };
  Format format = Format::kOtlpHttp;
  std::string cluster;    // the collector's cluster
  std::string path;       // "/v1/traces" (OTLP) or "/api/v2/spans" (Zipkin)
  std::string authority;  // the Host header; "" means the cluster's name
  std::string service_name;  // the resource's service.name; "" means the node's cluster
  Millis timeout{5000};
  bool operator==(const TracingProvider&) const = default;
};

struct Tracing {
  // The share of requests without a caller's decision that are traced, 0..1
  // (random_sampling, a percentage in xDS; Envoy's default is 100 %).
  double sampling = 1.0;
  TracingProvider provider;
  uint32_t max_path_tag_length = 256;
  bool operator==(const Tracing&) const = default;
};

// HttpConnectionManager.access_log: envoy.access_loggers.file (path) or
// envoy.access_loggers.stdout; one line per request.
struct AccessLog {
  enum class Format { kText, kJson };
  Format format = Format::kText;
  std::string path;  // "/dev/stdout" for the stdout logger
  bool operator==(const AccessLog&) const = default;
};

struct HttpConnectionManager {
  enum class CodecType { kAuto, kHttp1, kHttp2 };
  std::string stat_prefix;
  CodecType codec_type = CodecType::kAuto;
  std::optional<RouteConfiguration> route_config;  // inline routes, or
  std::string rds_route_config_name;               // routes by RDS (the xDS issue)
  // Safe defaults against slow and idle clients.
  Millis request_headers_timeout{10000};
  Millis stream_idle_timeout{300000};
  Millis request_timeout{0};     // 0: none
  Millis idle_timeout{3600000};  // connection with no streams
  Millis drain_timeout{5000};
  uint32_t max_request_headers_kb = 60;
  uint32_t max_headers_count = 100;
  uint32_t max_concurrent_streams = 100;
  uint32_t initial_stream_window_size = 256 * 1024;
  uint32_t initial_connection_window_size = 1024 * 1024;
  bool websocket_upgrade = false;  // upgrade_configs: [{upgrade_type: websocket}]
  bool connect_upgrade = false;    // upgrade_configs: [{upgrade_type: CONNECT}]
  // http_filters envoy.filters.http.rbac, in order, before the router.
  std::vector<Rbac> rbac;
  // forward_client_cert_details SANITIZE_SET with set_current_client_cert_details.uri:
  // x-forwarded-client-cert carries the peer's URI SAN to the app; otherwise
  // (SANITIZE, the default) any incoming x-forwarded-client-cert is removed.
  bool forward_client_identity = false;
  std::optional<Tracing> tracing;
  std::vector<AccessLog> access_logs;
  bool operator==(const HttpConnectionManager&) const = default;
};

struct TcpProxy {
  std::string stat_prefix;
  std::string cluster;
  Millis idle_timeout{3600000};
  bool operator==(const TcpProxy&) const = default;
};

// An IP prefix (FilterChainMatch.prefix_ranges): `address` is a literal IP
// in its canonical text form, `prefix_len` at most 32 (IPv4) or 128 (IPv6).
struct CidrRange {
  std::string address;
  uint32_t prefix_len = 0;
  bool operator==(const CidrRange&) const = default;
};

struct FilterChainMatch {
  std::string transport_protocol;               // "", "raw_buffer" or "tls"
  std::vector<std::string> application_protocols;  // "http/1.1", "h2c", ...
  // The connection's (original) destination port must equal this when set.
  // Added with the bootstrap converters; listener selection must honour it.
  std::optional<uint32_t> destination_port;
  // The connection's (original) destination IP must fall in one of these;
  // empty matches any IP. The longest matching prefix wins (Envoy's order).
  std::vector<CidrRange> prefix_ranges;
  bool operator==(const FilterChainMatch&) const = default;
};

struct FilterChain {
  std::string name;
  FilterChainMatch match;
  std::variant<HttpConnectionManager, TcpProxy> filter;
  // transport_socket "tls": TLS is terminated before the filters run.
  std::optional<DownstreamTls> tls;
  // network filters envoy.filters.network.rbac before the last filter, in
  // order: judged once the handshake is done, before any upstream connection.
  std::vector<Rbac> network_rbac;
  bool operator==(const FilterChain&) const = default;
};

struct Listener {
  enum class Direction { kUnspecified, kInbound, kOutbound };  // traffic_direction
  std::string name;
  SocketAddress address;
  Direction direction = Direction::kUnspecified;
  std::vector<FilterChain> filter_chains;
  std::optional<FilterChain> default_filter_chain;
  // Sniffing (listener_filters http_inspector / tls_inspector) is on when a
  // filter chain matches on protocols. A silent client is treated as opaque
  // TCP after this long, so server-first protocols do not stall.
  Millis listener_filters_timeout{1000};
  uint32_t per_connection_buffer_limit_bytes = 1024 * 1024;
  // Listener filter envoy.filters.listener.original_dst: an accepted
  // connection's local address becomes the destination it had before an
  // iptables REDIRECT, before its filter chain is chosen.
  bool original_dst = false;
  // Config changes are detected by value: equal configs keep their runtime state.
  bool operator==(const Listener&) const = default;
};

// ---- Clusters and endpoints -------------------------------------------------

enum class HealthStatus { kUnknown, kHealthy, kUnhealthy, kDraining, kTimeout, kDegraded };

struct Locality {
  std::string region;
  std::string zone;
  std::string sub_zone;
  bool operator==(const Locality&) const = default;
};

struct Endpoint {
  SocketAddress address;
  uint32_t weight = 1;
  HealthStatus health = HealthStatus::kUnknown;
  // From the LocalityLbEndpoints the endpoint came in: its locality and
  // priority (0 is tried first; the control plane puts the caller's own zone
  // at 0 and farther ones after it).
  Locality locality;
  uint32_t priority = 0;
  bool operator==(const Endpoint&) const = default;
};

// Retries as a share of recent requests (Finagle's and Linkerd's budget, on
// Envoy's thresholds.retry_budget fields): over the last `window`, retries may
// be at most budget_percent of the requests plus min_retries_per_second of
// the window. Remora turns it on by default: a failing service must not be
// buried under retries. xDS: budget_percent is Envoy's; min_retry_concurrency
// is read as min_retries_per_second (docs/decisions/009-resilience.md).
struct RetryBudget {
  double budget_percent = 20.0;
  uint32_t min_retries_per_second = 3;
  Millis window{10000};
  bool operator==(const RetryBudget&) const = default;
};

struct CircuitBreakers {
  uint32_t max_connections = 1024;
  uint32_t max_pending_requests = 1024;
  uint32_t max_requests = 1024;
  uint32_t max_retries = 3;
  // nullopt: no budget, only max_retries (xDS: budget_percent of 100 or more).
  std::optional<RetryBudget> retry_budget = RetryBudget{};
  bool operator==(const CircuitBreakers&) const = default;
};

// Passive health: hosts that fail are ejected for a while (Envoy's
// OutlierDetection, same defaults). Percentages are 0..100; the stdev factor
// is in thousandths (1900 = 1.9).
struct OutlierDetection {
  uint32_t consecutive_5xx = 5;
  uint32_t consecutive_gateway_failure = 5;
  uint32_t consecutive_local_origin_failure = 5;
  Millis interval{10000};
  Millis base_ejection_time{30000};
  Millis max_ejection_time{300000};
  uint32_t max_ejection_percent = 10;
  uint32_t enforcing_consecutive_5xx = 100;
  uint32_t enforcing_consecutive_gateway_failure = 0;
  uint32_t enforcing_consecutive_local_origin_failure = 100;
  // Connect failures, timeouts and resets count apart from the upstream's
  // own 5xx (otherwise both feed the 5xx/gateway counters).
  bool split_external_local_origin_errors = false;
  uint32_t enforcing_success_rate = 100;
  uint32_t success_rate_minimum_hosts = 5;
  uint32_t success_rate_request_volume = 100;
  uint32_t success_rate_stdev_factor = 1900;
  uint32_t failure_percentage_threshold = 85;
  uint32_t enforcing_failure_percentage = 0;
  uint32_t enforcing_failure_percentage_local_origin = 0;
  uint32_t failure_percentage_minimum_hosts = 5;
  uint32_t failure_percentage_request_volume = 50;
  bool operator==(const OutlierDetection&) const = default;
};

// Active health checking of every host of a cluster (Envoy's HealthCheck,
// one per cluster).
struct HealthCheck {
  enum class Kind { kHttp, kTcp, kGrpc };
  Kind kind = Kind::kHttp;
  Millis timeout{1000};
  Millis interval{5000};
  Millis interval_jitter{0};          // up to this much added to each interval
  uint32_t interval_jitter_percent = 0;  // and up to this share of the interval
  uint32_t unhealthy_threshold = 3;
  uint32_t healthy_threshold = 2;
  // kHttp
  std::string host;  // :authority; the cluster's name when empty
  std::string path;
  bool http2 = false;  // codec_client_type HTTP2
  // [start, end) status ranges that pass; [200, 201) when empty.
  std::vector<std::pair<uint32_t, uint32_t>> expected_statuses;
  // kTcp: bytes to send after connecting, and bytes the answer must contain
  // (in order); a bare connect when both are empty.
  std::string send;
  std::vector<std::string> receive;
  // kGrpc: grpc.health.v1.Health/Check for this service ("" = the server).
  std::string service_name;
  std::string authority;
  bool operator==(const HealthCheck&) const = default;
};

struct Cluster {
  // kOriginalDst: no endpoints; the host is the downstream connection's
  // original destination (lb_policy CLUSTER_PROVIDED, kept as the default
  // lb_policy here since no balancer runs).
  enum class DiscoveryType { kStatic, kEds, kOriginalDst };
  // kPeakEwma: Remora's latency-aware power of two choices (Linkerd's
  // default), selected in xDS with load_balancing_policy (see docs/bootstrap.md).
  enum class LbPolicy { kRoundRobin, kLeastRequest, kRandom, kRingHash, kMaglev, kPeakEwma };
  enum class UpstreamProtocol { kHttp1, kHttp2, kUseDownstream };
  std::string name;
  DiscoveryType type = DiscoveryType::kStatic;
  Millis connect_timeout{5000};
  LbPolicy lb_policy = LbPolicy::kRoundRobin;
  std::vector<Endpoint> endpoints;  // load_assignment (static) or EDS
  std::string eds_service_name;
  UpstreamProtocol protocol = UpstreamProtocol::kHttp1;
  uint32_t max_requests_per_connection = 0;  // 0: unlimited
  Millis pool_idle_timeout{60000};           // an idle upstream connection is closed after this
  uint32_t http2_max_concurrent_streams = 100;
  uint32_t per_connection_buffer_limit_bytes = 1024 * 1024;
  CircuitBreakers circuit_breakers;
  uint32_t least_request_choice_count = 2;
  uint64_t ring_hash_minimum_size = 1024;
  uint64_t ring_hash_maximum_size = 8 * 1024 * 1024;
  uint64_t maglev_table_size = 65537;  // a prime
  Millis peak_ewma_decay{10000};       // how fast old latencies fade
  // common_lb_config.healthy_panic_threshold: below this share of healthy
  // hosts (in a priority) the balancer uses every host. 0 disables panic.
  double healthy_panic_threshold = 50.0;
  // policy.overprovisioning_factor of the load assignment, in percent: a
  // priority keeps all its traffic until fewer than 100/140 of its hosts are healthy.
  uint32_t overprovisioning_factor = 140;
  std::optional<OutlierDetection> outlier_detection;
  std::optional<HealthCheck> health_check;
  std::optional<UpstreamTls> tls;  // transport_socket "tls"
  // kOriginalDst: a host unused for this long is removed (Envoy's default 5 s),
  // and the port every host is dialled on instead of the original one.
  Millis cleanup_interval{5000};
  std::optional<uint32_t> upstream_port_override;
  // Config changes are detected by value: equal configs keep their runtime state.
  bool operator==(const Cluster&) const = default;
};

// An EDS resource: the endpoints of the cluster (or eds_service_name) it names.
struct ClusterLoadAssignment {
  std::string cluster_name;
  std::vector<Endpoint> endpoints;
  uint32_t overprovisioning_factor = 140;
  bool operator==(const ClusterLoadAssignment&) const = default;
};

// ---- Bootstrap ------------------------------------------------------------

struct Node {
  std::string id;
  std::string cluster;
  Locality locality;  // where this proxy runs; the control plane ranks endpoints by it
};

struct Admin {
  SocketAddress address{"127.0.0.1", 15000};
};

// The bootstrap's dynamic_resources: one ADS stream to a static cluster, and
// which of LDS/CDS ride on it (RDS and EDS follow from the listeners and
// clusters that name them).
struct DynamicResources {
  enum class ApiType { kSotw, kDelta };  // GRPC (state of the world) or DELTA_GRPC
  ApiType api_type = ApiType::kSotw;
  std::string ads_cluster;  // a STATIC, HTTP/2 cluster in static_resources
  bool lds = false;
  bool cds = false;
  // How long start-up waits for the first LDS/CDS response before serving
  // with what it has (config_source.initial_fetch_timeout; Envoy's default).
  Millis initial_fetch_timeout{15000};
  bool operator==(const DynamicResources&) const = default;
};

struct Bootstrap {
  Node node;
  Admin admin;
  std::vector<Listener> listeners;
  std::vector<Cluster> clusters;
  std::optional<DynamicResources> dynamic;  // set when the bootstrap has dynamic_resources
};

}  // namespace remora::xds::resources
