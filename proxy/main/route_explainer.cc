#include "proxy/main/route_explainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "proxy/http/header_map.h"
#include "proxy/main/config_dump.h"
#include "xds/base/json_string.h"

namespace remora::server {
namespace {

using base::jsonString;
using xds::resources::Cluster;
using xds::resources::HeaderMatcher;
using xds::resources::RouteAction;
using xds::resources::RouteMatch;

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()); }

std::string_view lbPolicyName(Cluster::LbPolicy p) {
  switch (p) {
    case Cluster::LbPolicy::kRoundRobin: return "ROUND_ROBIN";
    case Cluster::LbPolicy::kLeastRequest: return "LEAST_REQUEST";
    case Cluster::LbPolicy::kRandom: return "RANDOM";
    case Cluster::LbPolicy::kRingHash: return "RING_HASH";
    case Cluster::LbPolicy::kMaglev: return "MAGLEV";
    case Cluster::LbPolicy::kPeakEwma: return "PEAK_EWMA";
  }
  return "UNKNOWN";
}

std::string_view pathKindName(RouteMatch::PathKind k) {
  switch (k) {
    case RouteMatch::PathKind::kPrefix: return "prefix";
    case RouteMatch::PathKind::kExact: return "path";
    case RouteMatch::PathKind::kRegex: return "regex";
  }
  return "unknown";
}

// "prefix '/api' and header 'x-v' exact 'v2'": the rule that matched.
std::string matchRule(const RouteMatch& m) {
  std::string rule = std::string(pathKindName(m.path_kind)) + " '" + m.path + "'";
  if (!m.case_sensitive && m.path_kind != RouteMatch::PathKind::kRegex) rule += " (case-insensitive)";
  for (const HeaderMatcher& h : m.headers) {
    rule += " and header '" + h.name + "' " +
            (h.kind == HeaderMatcher::Kind::kPresent ? std::string(h.present ? "present" : "absent")
                                                     : std::string(router::matcherKindName(h.kind)) + " '" + h.value + "'");
    if (h.invert) rule += " (inverted)";
  }
  return rule;
}

std::string matchJson(const RouteMatch& m) {
  std::string out = "{" + jsonString(pathKindName(m.path_kind)) + ":" + jsonString(m.path) +
                    ",\"case_sensitive\":" + (m.case_sensitive ? "true" : "false") + ",\"headers\":[";
  for (size_t i = 0; i < m.headers.size(); ++i) {
    const HeaderMatcher& h = m.headers[i];
    out += std::string(i ? "," : "") + "{\"name\":" + jsonString(h.name) + ",\"kind\":" +
           jsonString(router::matcherKindName(h.kind)) + ",\"value\":" +
           jsonString(h.kind == HeaderMatcher::Kind::kPresent ? (h.present ? "present" : "absent") : h.value) +
           ",\"invert\":" + (h.invert ? "true" : "false") + "}";
  }
  return out + "],\"rule\":" + jsonString(matchRule(m)) + "}";
}

std::string actionJson(const RouteAction& a) {
  std::string out = "{";
  if (!a.weighted_clusters.empty()) {
    out += "\"weighted_clusters\":[";
    for (size_t i = 0; i < a.weighted_clusters.size(); ++i) {
      out += std::string(i ? "," : "") + "{\"name\":" + jsonString(a.weighted_clusters[i].name) +
             ",\"weight\":" + std::to_string(a.weighted_clusters[i].weight) + "}";
    }
    out += "]";
  } else {
    out += "\"cluster\":" + jsonString(a.cluster);
  }
  out += ",\"timeout_ms\":" + ms(a.timeout);
  if (a.idle_timeout) out += ",\"idle_timeout_ms\":" + ms(*a.idle_timeout);
  if (a.prefix_rewrite) out += ",\"prefix_rewrite\":" + jsonString(*a.prefix_rewrite);
  if (a.host_rewrite_literal) out += ",\"host_rewrite\":" + jsonString(*a.host_rewrite_literal);
  out += ",\"retry_policy\":";
  if (a.retry_policy) {
    const auto& r = *a.retry_policy;
    out += "{\"retry_on\":[";
    for (size_t i = 0; i < r.retry_on.size(); ++i) out += (i ? "," : "") + jsonString(r.retry_on[i]);
    out += "],\"num_retries\":" + std::to_string(r.num_retries);
    if (r.per_try_timeout) out += ",\"per_try_timeout_ms\":" + ms(*r.per_try_timeout);
    out += ",\"retriable_status_codes\":[";
    for (size_t i = 0; i < r.retriable_status_codes.size(); ++i) {
      out += (i ? "," : "") + std::to_string(r.retriable_status_codes[i]);
    }
    out += "],\"base_interval_ms\":" + ms(r.base_interval) + ",\"max_interval_ms\":" + ms(r.max_interval) + "}";
  } else {
    out += "null";
  }
  out += ",\"hedge_on_per_try_timeout\":" + std::string(a.hedge_on_per_try_timeout ? "true" : "false");
  out += ",\"hash_policy\":[";
  for (size_t i = 0; i < a.hash_policy.size(); ++i) {
    const auto& h = a.hash_policy[i];
    const char* kind = h.kind == xds::resources::HashPolicy::Kind::kHeader   ? "header"
                       : h.kind == xds::resources::HashPolicy::Kind::kCookie ? "cookie"
                                                                             : "source_ip";
    out += std::string(i ? "," : "") + "{" + jsonString(kind) + ":" + jsonString(h.name) + "}";
  }
  return out + "]}";
}

std::string policiesJson(const Cluster& c) {
  const auto& cb = c.circuit_breakers;
  std::string out = "\"type\":" + jsonString(c.type == Cluster::DiscoveryType::kEds ? "EDS" : "STATIC") +
                    ",\"lb_policy\":" + jsonString(lbPolicyName(c.lb_policy)) +
                    ",\"connect_timeout_ms\":" + ms(c.connect_timeout) +
                    ",\"healthy_panic_threshold\":" + fmt::format("{}", c.healthy_panic_threshold) +
                    ",\"circuit_breakers\":{\"max_connections\":" + std::to_string(cb.max_connections) +
                    ",\"max_pending_requests\":" + std::to_string(cb.max_pending_requests) +
                    ",\"max_requests\":" + std::to_string(cb.max_requests) +
                    ",\"max_retries\":" + std::to_string(cb.max_retries) + ",\"retry_budget\":";
  if (cb.retry_budget) {
    out += fmt::format("{{\"budget_percent\":{},\"min_retries_per_second\":{},\"window_ms\":{}}}",
                       cb.retry_budget->budget_percent, cb.retry_budget->min_retries_per_second,
                       cb.retry_budget->window.count());
  } else {
    out += "null";
  }
  out += "},\"outlier_detection\":";
  if (c.outlier_detection) {
    const auto& o = *c.outlier_detection;
    out += fmt::format(
        "{{\"consecutive_5xx\":{},\"consecutive_gateway_failure\":{},\"consecutive_local_origin_failure\":{},"
        "\"interval_ms\":{},\"base_ejection_time_ms\":{},\"max_ejection_percent\":{},"
        "\"enforcing_consecutive_5xx\":{},\"enforcing_consecutive_gateway_failure\":{},"
        "\"enforcing_success_rate\":{},\"enforcing_failure_percentage\":{}}}",
        o.consecutive_5xx, o.consecutive_gateway_failure, o.consecutive_local_origin_failure, o.interval.count(),
        o.base_ejection_time.count(), o.max_ejection_percent, o.enforcing_consecutive_5xx,
        o.enforcing_consecutive_gateway_failure, o.enforcing_success_rate, o.enforcing_failure_percentage);
  } else {
    out += "null";
  }
  out += ",\"health_check\":";
  if (c.health_check) {
    const auto& h = *c.health_check;
    const char* kind = h.kind == xds::resources::HealthCheck::Kind::kHttp   ? "http"
                       : h.kind == xds::resources::HealthCheck::Kind::kTcp ? "tcp"
                                                                           : "grpc";
    out += fmt::format("{{\"kind\":\"{}\",\"interval_ms\":{},\"timeout_ms\":{},\"unhealthy_threshold\":{},"
                       "\"healthy_threshold\":{}}}",
                       kind, h.interval.count(), h.timeout.count(), h.unhealthy_threshold, h.healthy_threshold);
  } else {
    out += "null";
  }
  return out;
}

// "all 3 endpoints ejected: 5 consecutive gateway failures" or
// "2 outlier_ejected, 1 failed_active_health_check".
std::string unavailableSummary(const std::map<std::string, size_t>& by_flag, size_t unavailable, size_t total,
                               const std::string& first_reason) {
  if (by_flag.size() == 1 && unavailable == total) {
    const std::string& flag = by_flag.begin()->first;
    std::string what = flag == "outlier_ejected"               ? "ejected"
                       : flag == "failed_active_health_check" ? "failing their health check"
                       : flag == "eds_draining"               ? "draining"
                                                              : "unhealthy (control plane)";
    std::string out = (total == 1 ? "the only endpoint " : "all " + std::to_string(total) + " endpoints ") +
                      (total == 1 && what == "failing their health check" ? "failing its health check" : what);
    if (!first_reason.empty()) out += ": " + first_reason;
    return out;
  }
  std::string out;
  for (const auto& [flag, n] : by_flag) out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + flag;
  if (!first_reason.empty()) out += "; " + first_reason;
  return out;
}

}  // namespace

std::string_view verdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kRoute: return "route";
    case Verdict::kRoutePanic: return "route_panic";
    case Verdict::kDirectResponse: return "direct_response";
    case Verdict::kNoVirtualHost: return "no_virtual_host";
    case Verdict::kNoRoute: return "no_route";
    case Verdict::kNoCluster: return "no_cluster";
    case Verdict::kNoHealthyUpstream: return "no_healthy_upstream";
    case Verdict::kRoutesNotReady: return "routes_not_ready";
  }
  return "unknown";
}

base::Result<ExplainQuery> parseExplainQuery(const std::map<std::string, std::string>& params) {
  ExplainQuery q;
  auto get = [&](const char* key) -> const std::string* {
    auto it = params.find(key);
    return it == params.end() ? nullptr : &it->second;
  };
  if (const std::string* a = get("authority"); a && !a->empty()) {
    q.authority = *a;
  } else {
    return base::fail(base::Error::kInvalidArgument,
                      "/explain needs authority=HOST (and optionally path=, method=, headers=name:value;..., "
                      "listener=NAME)");
  }
  if (const std::string* p = get("path"); p && !p->empty()) q.path = *p;
  if (q.path.front() != '/') q.path = "/" + q.path;
  if (const std::string* m = get("method"); m && !m->empty()) {
    q.method = *m;
    for (char& c : q.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (const std::string* l = get("listener")) q.listener = *l;
  if (const std::string* h = get("headers")) {
    std::string_view rest = *h;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view item = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      if (item.empty()) continue;
      const size_t colon = item.find(':', 1);  // a leading ':' belongs to a pseudo-header name
      if (colon == std::string_view::npos || colon == 0) {
        return base::fail(base::Error::kInvalidArgument,
                          "/explain headers: '" + std::string(item) + "' is not name:value (items are separated by ';')");
      }
      std::string name(item.substr(0, colon));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view value = item.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      q.headers.emplace_back(std::move(name), std::string(value));
    }
  }
  return q;
}

RouteExplainer::RouteExplainer(const config::Snapshot& snapshot, const HostHealth* health,
                               const std::map<std::string, double, std::less<>>* active)
    : snapshot_(snapshot), health_(health), active_(active) {}

const Cluster* RouteExplainer::findCluster(std::string_view name) const {
  for (const auto& c : snapshot_.clusters) {
    if (c->name == name) return c.get();
  }
  return nullptr;
}

std::string RouteExplainer::clusterJson(const std::string& name, ClusterVerdict& verdict) const {
  const Cluster* c = findCluster(name);
  if (c == nullptr) {
    verdict = {Verdict::kNoCluster, "would get 503: cluster '" + name + "' is not in the running config"};
    return "{\"name\":" + jsonString(name) + ",\"exists\":false,\"verdict\":\"no_cluster\",\"why\":" +
           jsonString(verdict.why) + "}";
  }
  std::string out = "{\"name\":" + jsonString(name) + ",\"exists\":true," + policiesJson(*c);
  if (active_ != nullptr) {
    auto a = active_->find(name);
    out += ",\"active_requests\":" + fmt::format("{}", a == active_->end() ? 0.0 : a->second);
  }
  out += ",\"endpoints\":[";
  size_t available = 0;
  std::map<std::string, size_t> by_flag;
  std::string first_reason;
  const bool tallied = health_ != nullptr && health_->tracksOutcomes(name);
  for (size_t i = 0; i < c->endpoints.size(); ++i) {
    const auto& ep = c->endpoints[i];
    const std::string address = hostKey(ep);
    const HostHealth::HostReport* report = health_ ? health_->host(name, address) : nullptr;
    const std::vector<std::string> flags = hostFlagNames(ep, report);
    if (flags.empty()) ++available;
    for (const auto& f : flags) ++by_flag[f];
    if (!flags.empty() && first_reason.empty() && report != nullptr) first_reason = report->reason;
    out += std::string(i ? "," : "") + "{\"address\":" + jsonString(address) +
           ",\"weight\":" + std::to_string(ep.weight) + ",\"priority\":" + std::to_string(ep.priority) +
           ",\"healthy\":" + (flags.empty() ? "true" : "false") + ",\"flags\":[";
    for (size_t k = 0; k < flags.size(); ++k) out += (k ? "," : "") + jsonString(flags[k]);
    out += "]";
    if (report && (report->flags & static_cast<uint8_t>(upstream::HostHealthFlag::kOutlierEjected))) {
      out += ",\"ejected_until\":" + jsonString(rfc3339Utc(report->ejected_until));
    }
    if (report && !report->reason.empty()) out += ",\"reason\":" + jsonString(report->reason);
    if (tallied && report != nullptr) {
      const double rate = lastIntervalSuccessRate(*report);
      out += ",\"success_rate\":" + (rate < 0 ? std::string("null") : fmt::format("{:.4g}", rate));
    }
    out += "}";
  }
  const size_t total = c->endpoints.size();
  out += "],\"available\":" + std::to_string(available) + ",\"total\":" + std::to_string(total);
  const std::string counts = std::to_string(available) + " of " + std::to_string(total) + " endpoint" +
                             (total == 1 ? "" : "s") + " available";
  if (total == 0) {
    verdict = {Verdict::kNoHealthyUpstream, "would fail: no healthy upstream (cluster '" + name + "' has no endpoints)"};
  } else if (available == 0 && c->healthy_panic_threshold <= 0) {
    verdict = {Verdict::kNoHealthyUpstream,
               "would fail: no healthy upstream (" + unavailableSummary(by_flag, total, total, first_reason) + ")"};
  } else if (available == 0) {
    verdict = {Verdict::kRoutePanic,
               "would route to cluster '" + name + "' in panic mode: 0 of " + std::to_string(total) +
                   " endpoints healthy (" + unavailableSummary(by_flag, total, total, first_reason) +
                   "), so the balancer uses every endpoint (healthy_panic_threshold " +
                   fmt::format("{}", c->healthy_panic_threshold) + "%)"};
  } else {
    std::string why = "would route to cluster '" + name + "': " + counts;
    if (available < total) why += " (" + unavailableSummary(by_flag, total - available, total, first_reason) + ")";
    if (100.0 * static_cast<double>(available) / static_cast<double>(total) < c->healthy_panic_threshold) {
      why += "; below the " + fmt::format("{}", c->healthy_panic_threshold) +
             "% panic threshold, the balancer may use every endpoint";
    }
    verdict = {Verdict::kRoute, why};
  }
  return out + ",\"verdict\":" + jsonString(verdictName(verdict.verdict)) + ",\"why\":" + jsonString(verdict.why) +
         "}";
}

std::string RouteExplainer::explainChain(const ExplainQuery& query, const router::RouteTable* table,
                                         std::string& why, Verdict& verdict) const {
  if (table == nullptr) {
    verdict = Verdict::kRoutesNotReady;
    why = "would not serve yet: the listener waits for its routes (RDS)";
    return "\"verdict\":\"routes_not_ready\",\"why\":" + jsonString(why);
  }
  http::HeaderMap headers;
  headers.add(":method", query.method);
  headers.add(":authority", query.authority);
  headers.add(":path", query.path);
  headers.add(":scheme", "http");
  for (const auto& [name, value] : query.headers) headers.add(name, value);
  const router::Explanation e = table->explain(headers);

  std::string out = "\"route_config\":" + jsonString(table->name()) + ",\"virtual_host\":";
  if (e.virtual_host == nullptr) {
    out += "null,\"domains\":[";
    std::string listed;
    bool first = true;
    for (const auto& vh : table->config().virtual_hosts) {
      for (const auto& d : vh.domains) {
        out += (first ? "" : ",") + jsonString(d);
        listed += (first ? "" : ", ") + d;
        first = false;
      }
    }
    out += "]";
    verdict = Verdict::kNoVirtualHost;
    why = "would get 404: no virtual host for authority '" + e.host + "' (domains: " +
          (listed.empty() ? std::string("none") : listed) + ")";
  } else {
    out += "{\"name\":" + jsonString(e.virtual_host->name) + ",\"matched_domain\":" + jsonString(e.domain_pattern) +
           ",\"domain_match\":" + jsonString(router::domainMatchName(e.domain_match)) + "}";
  }
  out += ",\"routes_tried\":[";
  for (size_t i = 0; i < e.steps.size(); ++i) {
    const auto& s = e.steps[i];
    out += std::string(i ? "," : "") + "{\"index\":" + std::to_string(s.index) + ",\"name\":" +
           jsonString(s.route_name) + ",\"matched\":" + (s.matched ? "true" : "false");
    if (!s.matched) out += ",\"reason\":" + jsonString(s.reason);
    out += "}";
  }
  out += "],\"route\":";
  if (e.route == nullptr) {
    out += "null";
    if (e.virtual_host != nullptr) {
      verdict = Verdict::kNoRoute;
      why = "would get 404: no route in virtual host '" + e.virtual_host->name + "' for path '" + e.path + "'";
    }
    return out + ",\"verdict\":" + jsonString(verdictName(verdict)) + ",\"why\":" + jsonString(why);
  }
  const xds::resources::Route& r = *e.route;
  const std::string matched_by = "virtual host '" + e.virtual_host->name + "' (" +
                                 std::string(router::domainMatchName(e.domain_match)) + " '" + e.domain_pattern +
                                 "'), route '" + r.name + "' (" + matchRule(r.match) + ")";
  out += "{\"name\":" + jsonString(r.name) + ",\"match\":" + matchJson(r.match) + ",\"action\":";
  if (const auto* direct = std::get_if<xds::resources::DirectResponse>(&r.action)) {
    out += "{\"direct_response\":{\"status\":" + std::to_string(direct->status) +
           ",\"body_bytes\":" + std::to_string(direct->body.size()) + "}}},\"clusters\":[]";
    verdict = Verdict::kDirectResponse;
    why = "would get a direct response " + std::to_string(direct->status) + " from " + matched_by;
    return out + ",\"verdict\":\"direct_response\",\"why\":" + jsonString(why);
  }
  const auto& action = std::get<RouteAction>(r.action);
  out += actionJson(action) + "},\"clusters\":[";
  std::vector<std::pair<std::string, uint32_t>> targets;
  if (action.weighted_clusters.empty()) {
    targets.emplace_back(action.cluster, 0);
  } else {
    for (const auto& w : action.weighted_clusters) targets.emplace_back(w.name, w.weight);
  }
  // The chain's verdict is the best any target gets: a weighted split still
  // routes while one of its clusters can take requests.
  verdict = Verdict::kNoHealthyUpstream;
  std::string detail;
  for (size_t i = 0; i < targets.size(); ++i) {
    ClusterVerdict cv;
    out += (i ? "," : "") + clusterJson(targets[i].first, cv);
    if (i == 0 || static_cast<int>(cv.verdict) < static_cast<int>(verdict)) verdict = cv.verdict;
    if (targets.size() > 1) {
      detail += (i ? "; " : "") + targets[i].first + " (weight " + std::to_string(targets[i].second) + "): " + cv.why;
    } else {
      detail = cv.why;
    }
  }
  why = (targets.size() > 1 ? "weighted split: " + detail : detail) + "; matched by " + matched_by;
  return out + "],\"verdict\":" + jsonString(verdictName(verdict)) + ",\"why\":" + jsonString(why);
}

ExplainResult RouteExplainer::explain(const ExplainQuery& query) const {
  ExplainResult result;
  std::string chains;
  std::string whys;
  std::vector<std::string> http_listeners;
  size_t count = 0;
  for (const auto& ls : snapshot_.listeners) {
    const auto& l = *ls.config;
    for (size_t i = 0; i < ls.route_tables.size(); ++i) {
      const bool is_default = i == l.filter_chains.size();
      const xds::resources::FilterChain& chain = is_default ? *l.default_filter_chain : l.filter_chains[i];
      if (!std::holds_alternative<xds::resources::HttpConnectionManager>(chain.filter)) continue;
      if (std::find(http_listeners.begin(), http_listeners.end(), l.name) == http_listeners.end()) {
        http_listeners.push_back(l.name);
      }
      if (!query.listener.empty() && query.listener != l.name) continue;
      const std::string chain_name = !chain.name.empty() ? chain.name : is_default ? "default" : std::to_string(i);
      std::string why;
      Verdict verdict = Verdict::kNoRoute;
      const std::string body = explainChain(query, ls.route_tables[i].get(), why, verdict);
      chains += std::string(count ? "," : "") + "{\"listener\":" + jsonString(l.name) +
                ",\"filter_chain\":" + jsonString(chain_name) + "," + body + "}";
      whys += "listener '" + l.name + "' chain '" + chain_name + "': " + why + "\n";
      if (count == 0) result.text = why;
      ++count;
    }
  }
  std::string request = "{\"authority\":" + jsonString(query.authority) + ",\"path\":" + jsonString(query.path) +
                        ",\"method\":" + jsonString(query.method) + ",\"headers\":{";
  for (size_t i = 0; i < query.headers.size(); ++i) {
    request += (i ? "," : "") + jsonString(query.headers[i].first) + ":" + jsonString(query.headers[i].second);
  }
  request += "}}";
  if (count == 0) {
    result.status = 404;
    std::string names;
    for (const auto& n : http_listeners) names += (names.empty() ? "" : ", ") + n;
    const std::string why = query.listener.empty()
                                ? "no HTTP listener to explain"
                                : "no HTTP listener named '" + query.listener + "' (HTTP listeners: " +
                                      (names.empty() ? std::string("none") : names) + ")";
    result.json = "{\"request\":" + request + ",\"why\":" + jsonString(why) + ",\"listeners\":[]}\n";
    result.text = why + "\n";
    return result;
  }
  // One chain: its line is the answer. Several: one line per chain.
  const std::string why = count == 1 ? result.text : whys.substr(0, whys.size() - 1);
  result.json = "{\"request\":" + request + ",\"why\":" + jsonString(why) + ",\"listeners\":[" + chains + "]}\n";
  result.text = whys;
  return result;
}

}  // namespace remora::server
