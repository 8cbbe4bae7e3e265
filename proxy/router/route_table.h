// RouteTable: one RouteConfiguration compiled for matching requests. The
// router filter on a worker calls match() once per request to pick the
// virtual host and route (then pickCluster() for weighted splits); the admin
// endpoint calls explain() to say why a request would or would not match.
//
// Built once on the main thread (build() compiles every regex and indexes the
// domains), then immutable and shared across worker threads through
// std::shared_ptr<const RouteTable>: match() takes no lock, never allocates,
// and runs a regex only for routes that use one.
//
// Matching follows Envoy's route semantics:
//  - virtual host by :authority (or host), port stripped, case-insensitive:
//    exact domain, then the longest "*suffix" wildcard, then the longest
//    "prefix*" wildcard, then "*"; a wildcard matches at least one character;
//  - routes in order, the first match wins;
//  - the path is matched without its query string or fragment; prefix and
//    exact honour case_sensitive, regex is an RE2 full match (case_sensitive
//    is ignored for regex, as in Envoy: use (?i) in the pattern);
//  - every header matcher must match; several values of one header are
//    matched as one comma-joined value; an absent header fails every matcher
//    except present=false, and invert flips the result after that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/http/header_map.h"
#include "proxy/router/retry_state.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::router {

using xds::resources::Route;
using xds::resources::RouteAction;
using xds::resources::RouteConfiguration;
using xds::resources::VirtualHost;

// What a request matched. Both views point into the request's HeaderMap and
// live as long as it does.
struct MatchResult {
  const VirtualHost* virtual_host = nullptr;  // null: no virtual host for the authority
  const Route* route = nullptr;               // null: no route matched (or no virtual host)
  // The route's retry_on, compiled with the table (set when it has a retry policy).
  const RetryConditions* retry_conditions = nullptr;
  std::string_view host;                      // the authority without its port
  std::string_view path;                      // :path without query string or fragment
  explicit operator bool() const { return route != nullptr; }
};

// Why a request found no route, for the 404 local reply and the access log:
// "no virtual host for authority 'x'" or "no route in virtual host 'y' for
// path '/z'". Request text is truncated and non-printable bytes replaced, so
// the reason is safe to put in a response header. Allocates: miss path only.
std::string noRouteReason(const MatchResult& result);

// How the virtual host was chosen.
enum class DomainMatch : uint8_t { kNone, kExact, kSuffixWildcard, kPrefixWildcard, kDefault };
std::string_view domainMatchName(DomainMatch how);

// One route tried by explain(), in table order, up to the first match.
struct RouteStep {
  size_t index = 0;
  std::string route_name;
  bool matched = false;
  std::string reason;  // why it did not match; empty when it did
};

// The whole decision for one request, for the admin /explain endpoint.
struct Explanation {
  std::string host;
  std::string path;
  const VirtualHost* virtual_host = nullptr;
  DomainMatch domain_match = DomainMatch::kNone;
  std::string domain_pattern;  // the configured domain that selected the virtual host
  std::vector<RouteStep> steps;
  const Route* route = nullptr;
  // Multi-line, human-readable.
  std::string toString() const;
};

namespace detail {
// ASCII case-insensitive hashing and equality, transparent so lookups by
// string_view do not build a std::string.
struct CaseInsensitiveHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept;
};
struct CaseInsensitiveEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept;
};
using DomainIndex = std::unordered_map<std::string, size_t, CaseInsensitiveHash, CaseInsensitiveEqual>;
}  // namespace detail

class RouteTable {
 public:
  // Compiles `config`: copies it (the returned table owns every Route it
  // hands out), compiles regexes, indexes domains. Fails with
  // kInvalidArgument naming the virtual host, route and bad value (bad regex,
  // bad domain, a route action with no cluster or zero total weight), or
  // kAlreadyExists for a domain or virtual host name used twice.
  static base::Result<std::shared_ptr<const RouteTable>> build(const RouteConfiguration& config);

  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;
  ~RouteTable();

  // The per-request lookup: no allocation, no lock.
  MatchResult match(const http::HeaderMap& request_headers) const;

  // The same decision as match(), with the reason for every route tried.
  Explanation explain(const http::HeaderMap& request_headers) const;

  const RouteConfiguration& config() const { return config_; }
  const std::string& name() const { return config_.name; }

 private:
  struct CompiledVirtualHost;  // defined in route_table.cc, holds compiled regexes
  static constexpr size_t kNoVirtualHost = static_cast<size_t>(-1);
  struct VirtualHostLookup {
    const CompiledVirtualHost* vhost = nullptr;
    DomainMatch how = DomainMatch::kNone;
    std::string_view pattern;
  };
  // Wildcard patterns of one length, so a lookup probes one hash map per
  // distinct length, longest first.
  struct WildcardGroup {
    size_t length = 0;
    detail::DomainIndex patterns;  // the pattern without '*' -> vhost index
  };

  explicit RouteTable(const RouteConfiguration& config);
  base::Status compile();
  base::Status indexDomain(size_t vhost_index, std::string_view domain);
  VirtualHostLookup findVirtualHost(std::string_view host, bool use_default = true) const;
  // The request's authority as Envoy matches it, port included ("b:9000"
  // and "b:8080" are different virtual hosts); then, as before ports
  // counted, without its port, so a domain "reviews" answers "reviews:9080".
  VirtualHostLookup lookupAuthority(std::string_view authority) const;

  RouteConfiguration config_;
  std::vector<CompiledVirtualHost> vhosts_;
  detail::DomainIndex exact_;
  std::vector<WildcardGroup> suffix_wildcards_;  // longest first
  std::vector<WildcardGroup> prefix_wildcards_;  // longest first
  size_t default_vhost_ = kNoVirtualHost;  // the virtual host of domain "*"
};

// The cluster a request on `action` goes to: action.cluster, or one of the
// weighted clusters chosen by `random` (any uniformly drawn 64-bit value;
// the same value always picks the same cluster). Each cluster gets
// weight/total of the random space. Allocation-free.
const std::string& pickCluster(const RouteAction& action, uint64_t random);

// Helpers shared by matching and tests: the authority without its port
// ("a.com:80" -> "a.com", "[::1]:80" -> "[::1]"), and the path without its
// query string or fragment.
std::string_view stripPort(std::string_view authority);
std::string_view pathWithoutQuery(std::string_view path);

// A header matcher's kind as config and /explain name it ("exact", "prefix", ...).
std::string_view matcherKindName(xds::resources::HeaderMatcher::Kind kind);

}  // namespace remora::router
