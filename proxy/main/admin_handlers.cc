#include "proxy/main/admin_handlers.h"

#include <spdlog/spdlog.h>

#include <map>

#include "proxy/main/route_explainer.h"
#include "xds/base/json_string.h"

namespace remora::server {
namespace {

constexpr const char* kText = "text/plain; charset=utf-8";
constexpr const char* kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

// The merged remora_upstream_requests_active series, by cluster: in-flight
// requests are counted on the workers, and this is what the main thread can
// read without asking them.
std::map<std::string, double, std::less<>> activeRequestsByCluster(const observability::StatsRegistry& stats) {
  std::map<std::string, double, std::less<>> out;
  const observability::StatsSnapshot snapshot = stats.snapshot();
  for (const auto& f : snapshot.families) {
    if (f.family.name != "remora_upstream_requests_active" || f.family.label_names.size() != 1) continue;
    for (const auto& s : f.series) out[s.label_values[0]] = s.gauge;
  }
  return out;
}

// /clusters: HostHealth's document, with each cluster's active requests
// added after its name.
std::string clustersBody(const AdminSources& src, const HostHealth::ActiveRequests* per_host) {
  const HostHealth* health = src.host_health();
  if (health == nullptr) return "{\"clusters\":[]}\n";
  std::string body = health->clustersJson(*src.snapshot(), per_host);
  if (src.stats == nullptr) return body;
  for (const auto& [cluster, active] : activeRequestsByCluster(*src.stats)) {
    const std::string key = "{\"name\":" + base::jsonString(cluster) + ",";
    const size_t at = body.find(key);
    if (at == std::string::npos) continue;
    body.insert(at + key.size(), "\"active_requests\":" + std::to_string(static_cast<uint64_t>(active)) + ",");
  }
  return body;
}

std::string_view levelName(spdlog::level::level_enum level) {
  const auto name = spdlog::level::to_string_view(level);
  return std::string_view(name.data(), name.size());
}

void logging(const admin::AdminRequest& request, admin::Responder respond) {
  const auto before = spdlog::default_logger()->level();
  if (request.method != "POST") {
    respond({200, kText, "level: " + std::string(levelName(before)) + "\n"});
    return;
  }
  auto it = request.query.find("level");
  if (it == request.query.end()) {
    respond({400, kText,
             "POST /logging needs ?level=LEVEL (trace, debug, info, warn, error, critical or off)\n"});
    return;
  }
  auto level = parseLogLevel(it->second);
  if (!level) {
    respond({400, kText, level.error().message + "\n"});
    return;
  }
  const auto after = static_cast<spdlog::level::level_enum>(*level);
  spdlog::set_level(after);
  spdlog::info("admin /logging: log level {} -> {}", levelName(before), levelName(after));
  respond({200, kText,
           "level: " + std::string(levelName(after)) + " (was " + std::string(levelName(before)) + ")\n"});
}

void explain(const AdminSources& src, const admin::AdminRequest& request, admin::Responder respond) {
  auto query = parseExplainQuery(request.query);
  if (!query) {
    respond({400, kText, query.error().message + "\n"});
    return;
  }
  const std::shared_ptr<const config::Snapshot> snapshot = src.snapshot();
  std::map<std::string, double, std::less<>> active;
  if (src.stats != nullptr) active = activeRequestsByCluster(*src.stats);
  const RouteExplainer explainer(*snapshot, src.host_health(), src.stats ? &active : nullptr);
  ExplainResult result = explainer.explain(*query);
  auto format = request.query.find("format");
  if (format != request.query.end() && format->second == "text") {
    respond({result.status, kText, std::move(result.text)});
    return;
  }
  respond({result.status, "application/json", std::move(result.json)});
}

}  // namespace

base::Result<int> parseLogLevel(std::string_view name) {
  static const std::map<std::string_view, spdlog::level::level_enum> kLevels = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},   {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},   {"warning", spdlog::level::warn},  {"error", spdlog::level::err},
      {"err", spdlog::level::err},     {"critical", spdlog::level::critical}, {"off", spdlog::level::off}};
  auto it = kLevels.find(name);
  if (it == kLevels.end()) {
    return base::fail(base::Error::kInvalidArgument,
                      "unknown log level '" + std::string(name.substr(0, 32)) +
                          "': use trace, debug, info, warn, error, critical or off");
  }
  return static_cast<int>(it->second);
}

void registerAdminHandlers(admin::AdminServer& admin, AdminSources src) {
  auto s = std::make_shared<const AdminSources>(std::move(src));
  admin.addHandler("/ready", "200 when serving, 503 while starting or draining", false,
                   [s](const admin::AdminRequest&, admin::Responder respond) {
                     respond({s->ready() ? 200u : 503u, kText, s->readiness_text()});
                   });
  // Answering at all is the proof: the main loop runs. Draining included.
  admin.addHandler("/live", "200 while the process runs its main loop", false,
                   [](const admin::AdminRequest&, admin::Responder respond) { respond({200, kText, "ALIVE\n"}); });
  admin.addHandler("/listeners", "listeners and their bound addresses (JSON)", false,
                   [s](const admin::AdminRequest&, admin::Responder respond) {
                     const auto snapshot = s->snapshot();
                     const auto& addresses = s->listener_addresses();
                     std::string body = "{\"listeners\":[";
                     bool first = true;
                     for (const auto& ls : snapshot->listeners) {
                       auto bound = addresses.find(ls.config->name);
                       if (bound == addresses.end()) continue;
                       body += std::string(first ? "" : ",") + "{\"name\":" + base::jsonString(ls.config->name) +
                               ",\"address\":\"" + bound->second.toString() + "\"}";
                       first = false;
                     }
                     respond({200, "application/json", body + "]}\n"});
                   });
  admin.addHandler("/clusters", "clusters and their hosts: health, ejections, success rate (JSON)", false,
                   [s](const admin::AdminRequest&, admin::Responder respond) {
                     if (!s->gather_active_requests) {
                       respond({200, "application/json", clustersBody(*s, nullptr)});
                       return;
                     }
                     s->gather_active_requests([s, respond](HostHealth::ActiveRequests active) {
                       respond({200, "application/json", clustersBody(*s, &active)});
                     });
                   });
  admin.addHandler("/config_dump", "the running configuration (JSON)", false,
                   [s](const admin::AdminRequest&, admin::Responder respond) {
                     respond({200, "application/json", s->config_dump()});
                   });
  admin.addHandler("/explain",
                   "which route and cluster a request would get, and why: ?authority=&path=&method=&headers= (JSON)",
                   false, [s](const admin::AdminRequest& request, admin::Responder respond) {
                     explain(*s, request, std::move(respond));
                   });
  admin.addReadWriteHandler("/logging", "the log level: GET shows it, POST ?level=debug changes it", logging);
  admin.addHandler("/stats", "counters and gauges, one per line", false,
                   [s](const admin::AdminRequest&, admin::Responder respond) {
                     s->refresh_gauges();
                     respond({200, kText, s->stats->renderPlain()});
                   });
  admin.addHandler("/stats/prometheus", "metrics in Prometheus text format", false,
                   [s](const admin::AdminRequest&, admin::Responder respond) {
                     s->refresh_gauges();
                     respond({200, kPrometheusText, s->stats->renderPrometheus()});
                   });
  admin.addHandler("/quitquitquit", "drain and exit", true, [s](const admin::AdminRequest&, admin::Responder respond) {
    respond({200, kText, "OK\n"});
    s->quit();
  });
}

void registerScrapeHandlers(admin::AdminServer& scrape, AdminSources src) {
  auto s = std::make_shared<const AdminSources>(std::move(src));
  auto handler = [s](const admin::AdminRequest&, admin::Responder respond) {
    s->refresh_gauges();
    respond({200, kPrometheusText, s->stats->renderPrometheus()});
  };
  scrape.addHandler("/stats/prometheus", "metrics in Prometheus text format", false, handler);
  scrape.addHandler("/metrics", "the same as /stats/prometheus", false, handler);
}

}  // namespace remora::server
