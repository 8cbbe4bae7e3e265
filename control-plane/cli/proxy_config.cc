#include "control-plane/cli/proxy_config.h"

#include <vector>

#include "control-plane/cli/table.h"

namespace remora::cli {

namespace {

std::string orDash(std::string text) { return text.empty() ? "-" : text; }

// The admin's flag names, as the sidecar reports them; unknown ones are
// shown as they are rather than dropped.
std::string flagText(const std::string& flag) {
  if (flag.find("outlier") != std::string::npos) return "ejected";
  if (flag.find("active") != std::string::npos) return "unhealthy(active check)";
  if (flag.find("eds") != std::string::npos) return "unhealthy(eds)";
  return "unhealthy(" + flag + ")";
}

}  // namespace

std::string hostHealth(const JsonValue& host) {
  std::string out;
  for (const JsonValue& flag : listItems(member(&host, "flags"))) {
    const std::string text = flagText(scalarText(&flag));
    if (out.find(text) != std::string::npos) continue;
    out += (out.empty() ? "" : ",") + text;
  }
  if (!out.empty()) return out;
  return scalarText(member(&host, "healthy")) == "false" ? "unhealthy" : "healthy";
}

std::string endpointsTable(const JsonValue& clusters, const std::string& cluster) {
  Table table({"CLUSTER", "ENDPOINT", "PRIORITY", "HEALTH", "EJECTED UNTIL", "REASON", "ACTIVE"});
  for (const JsonValue& entry : listItems(member(&clusters, "clusters"))) {
    const std::string name = scalarText(member(&entry, "name"));
    if (!cluster.empty() && name != cluster) continue;
    for (const JsonValue& host : listItems(member(&entry, "hosts"))) {
      table.addRow({name, scalarText(member(&host, "address")), orDash(scalarText(member(&host, "priority"))),
                    hostHealth(host), orDash(scalarText(member(&host, "ejected_until"))),
                    orDash(scalarText(member(&host, "reason"))),
                    orDash(scalarText(member(&host, "active_requests")))});
    }
  }
  return table.render();
}

int runProxyConfigEndpoints(ApiTransport& admin, const std::string& cluster, OutputFormat format,
                            CommandOutput& output) {
  Displayed result = getForDisplay(admin, "/clusters?format=json", format, output);
  if (result.done) return result.exit_code;
  if (!cluster.empty()) {
    bool found = false;
    for (const JsonValue& entry : listItems(member(&result.body, "clusters"))) {
      found = found || scalarText(member(&entry, "name")) == cluster;
    }
    if (!found) {
      output.err += "error: the proxy has no cluster \"" + cluster + "\"\n";
      return kExitError;
    }
  }
  output.out += endpointsTable(result.body, cluster);
  return kExitOk;
}

}  // namespace remora::cli
