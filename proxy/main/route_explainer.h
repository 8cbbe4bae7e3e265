// RouteExplainer: the answer of the admin endpoint's /explain — for a request
// described by authority, path, method and headers, which virtual host and
// route each HTTP listener would pick and why (through the real route table's
// RouteTable::explain()), what the route does (cluster or weighted clusters,
// direct response, timeouts, retry and hash policies), the cluster's policies
// (type, balancer, circuit breakers, outlier detection, health check), its
// endpoints with their health as the main thread decided it, and a verdict
// ("would route to cluster 'x': 2 of 3 endpoints available", "would fail: no
// healthy upstream (...)", "would get 404: no route ...").
//
// Main thread only: it reads the running snapshot and HostHealth, which live
// there. It sends nothing and changes nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "proxy/config/snapshot.h"
#include "proxy/main/host_health.h"
#include "xds/base/status.h"

namespace remora::server {

// The request to explain, from /explain's query parameters.
struct ExplainQuery {
  std::string authority;  // required
  std::string path = "/";
  std::string method = "GET";
  // headers=name:value;name2:value2 (names lower-cased).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string listener;  // empty: every HTTP listener and filter chain
};

// Reads authority, path, method, headers and listener. Fails with
// kInvalidArgument (a message for the 400 body) when authority is missing or
// a headers item has no ':' or an empty name.
base::Result<ExplainQuery> parseExplainQuery(const std::map<std::string, std::string>& params);

// What one listener's filter chain would do with the request.
enum class Verdict : uint8_t {
  kRoute,              // a cluster with available endpoints
  kRoutePanic,         // no endpoint is healthy; the panic threshold sends to all of them anyway
  kDirectResponse,     // the route answers itself
  kNoVirtualHost,      // 404
  kNoRoute,            // 404
  kNoCluster,          // 503: the route names a cluster the config does not have
  kNoHealthyUpstream,  // 503: no endpoint, or none healthy and panic disabled
  kRoutesNotReady,     // the listener waits for its RDS routes
};
std::string_view verdictName(Verdict verdict);

struct ExplainResult {
  uint32_t status = 200;  // 404: the named listener does not exist or has no HTTP chain
  std::string json;       // the whole answer
  std::string text;       // the same for people: one "why" line per chain, then the details
};

class RouteExplainer {
 public:
  // `health` may be null (no cluster asks for health checking); `active` is
  // the merged remora_upstream_requests_active per cluster, or null.
  RouteExplainer(const config::Snapshot& snapshot, const HostHealth* health,
                 const std::map<std::string, double, std::less<>>* active);

  ExplainResult explain(const ExplainQuery& query) const;

 private:
  struct ClusterVerdict {
    Verdict verdict = Verdict::kRoute;
    std::string why;
  };
  // One filter chain's answer as a JSON object; `why` gets its verdict line.
  std::string explainChain(const ExplainQuery& query, const router::RouteTable* table, std::string& why,
                           Verdict& verdict) const;
  std::string clusterJson(const std::string& name, ClusterVerdict& verdict) const;
  const xds::resources::Cluster* findCluster(std::string_view name) const;

  const config::Snapshot& snapshot_;
  const HostHealth* health_;
  const std::map<std::string, double, std::less<>>* active_;
};

}  // namespace remora::server
