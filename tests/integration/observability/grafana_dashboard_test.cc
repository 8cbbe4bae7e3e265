// examples/grafana/remora-mesh.json is built only on documented metrics: every
// metric name in every panel query and template-variable query is listed in
// docs/observability.md and declared in proxy/main/proxy_stats.cc (a
// histogram's _bucket/_sum/_count samples count as its family; a counter is
// declared without the _total its registry appends). Reads the source tree
// (REMORA_SOURCE_DIR, set by ctest), so a renamed metric fails here.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

std::string sourceDir() {
  const char* env = std::getenv("REMORA_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? env : REMORA_TEST_SOURCE_DIR;
}

std::string readSource(const std::string& relative) {
  std::ifstream in(sourceDir() + "/" + relative);
  INFO(relative);
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every query string of the dashboard: panel targets (rows included) and
// template variables.
void collectQueries(const nlohmann::json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if ((key == "expr" || key == "query" || key == "definition") && value.is_string()) {
        out.push_back(value.get<std::string>());
      } else {
        collectQueries(value, out);
      }
    }
  } else if (node.is_array()) {
    for (const auto& v : node) collectQueries(v, out);
  }
}

// "remora_x_bucket" -> "remora_x", for histogram samples.
std::string familyOf(const std::string& name) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      return name.substr(0, name.size() - s.size());
    }
  }
  return name;
}

}  // namespace

TEST_CASE("every metric the Grafana dashboard queries is documented and declared by the proxy", "[grafana]") {
  const std::string text = readSource("examples/grafana/remora-mesh.json");
  const auto dashboard = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  REQUIRE_FALSE(dashboard.is_discarded());
  std::vector<std::string> queries;
  collectQueries(dashboard["panels"], queries);
  collectQueries(dashboard["templating"], queries);
  REQUIRE(queries.size() >= 10);

  const std::string doc = readSource("docs/observability.md");
  const std::string declared_source = readSource("proxy/main/proxy_stats.cc");
  std::set<std::string> declared;
  const std::regex quoted("\"(remora_[a-z0-9_]+)\"");
  for (auto it = std::sregex_iterator(declared_source.begin(), declared_source.end(), quoted);
       it != std::sregex_iterator(); ++it) {
    declared.insert((*it)[1].str());
  }
  REQUIRE(declared.size() > 20);

  const std::regex metric("remora_[a-z0-9_]+");
  std::set<std::string> used;
  for (const auto& q : queries) {
    for (auto it = std::sregex_iterator(q.begin(), q.end(), metric); it != std::sregex_iterator(); ++it) {
      used.insert(it->str());
    }
  }
  // The golden signals are all there.
  for (const char* needed : {"remora_http_requests_total", "remora_http_request_duration_seconds_bucket",
                             "remora_upstream_retries_total", "remora_outlier_ejections_total"}) {
    CHECK(used.count(needed) == 1);
  }
  for (const std::string& name : used) {
    // A histogram's samples are documented and declared under the family.
    const std::string family = declared.count(name) ? name : familyOf(name);
    const bool is_declared =
        declared.count(family) != 0 ||
        (family.size() > 6 && family.ends_with("_total") && declared.count(family.substr(0, family.size() - 6)) != 0);
    INFO(name << " (family " << family << ")");
    CHECK(is_declared);
    CHECK(doc.find("`" + family + "`") != std::string::npos);
  }
}

TEST_CASE("every dashboard panel has a datasource and a unit, and ids are unique", "[grafana]") {
  const auto dashboard = nlohmann::json::parse(readSource("examples/grafana/remora-mesh.json"), nullptr, false);
  REQUIRE_FALSE(dashboard.is_discarded());
  std::set<int> ids;
  for (const auto& p : dashboard["panels"]) {
    INFO(p.dump().substr(0, 200));
    CHECK(ids.insert(p["id"].get<int>()).second);
    if (p["type"] == "row") continue;
    CHECK(p["datasource"]["uid"] == "${datasource}");
    CHECK(p["fieldConfig"]["defaults"].contains("unit"));
    CHECK_FALSE(p["targets"].empty());
  }
}
