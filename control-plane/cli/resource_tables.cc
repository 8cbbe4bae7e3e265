#include "control-plane/cli/resource_tables.h"

#include <array>
#include <cctype>
#include <string_view>

namespace remora::cli {

namespace {

constexpr std::string_view kNone = "<none>";

std::string orNone(std::string s) { return s.empty() ? std::string(kNone) : s; }

std::string lowered(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "9080/http", or "80:8080/grpc" when the app listens elsewhere (kubectl puts
// the second port after a colon too).
std::string servicePorts(const JsonValue& object) {
  std::string out;
  for (const JsonValue& port : listItems(at(&object, {"spec", "ports"}))) {
    std::string text = scalarText(member(&port, "port"));
    const std::string target = scalarText(member(&port, "targetPort"));
    if (!target.empty() && target != "0" && target != text) text += ":" + target;
    std::string protocol = scalarText(member(&port, "protocol"));
    if (protocol.empty() || protocol == "PROTOCOL_UNSPECIFIED") protocol = "HTTP";
    out += (out.empty() ? "" : ",") + text + "/" + lowered(protocol);
  }
  return orNone(out);
}

std::vector<std::string> endpointRow(const JsonValue& object) {
  const JsonValue* spec = member(&object, "spec");
  std::string port = scalarText(member(spec, "port"));
  if (port.empty() || port == "0") port = scalarText(member(spec, "portName"));
  std::string weight = scalarText(member(spec, "weight"));
  if (weight.empty() || weight == "0") weight = "1";  // mesh.proto: 1 when 0
  std::string health = scalarText(member(spec, "health"));
  if (health.empty() || health == "HEALTH_UNSPECIFIED") health = "HEALTHY";
  return {scalarText(at(&object, {"metadata", "namespace"})),
          scalarText(at(&object, {"metadata", "name"})),
          orNone(scalarText(member(spec, "service"))),
          orNone(scalarText(member(spec, "address"))),
          orNone(port),
          orNone(scalarText(at(spec, {"locality", "zone"}))),
          weight,
          health};
}

// "RING_HASH(header x-user)", "PEAK_EWMA"; ROUND_ROBIN when unset.
std::string loadBalancer(const JsonValue* spec) {
  std::string lb = scalarText(member(spec, "loadBalancer"));
  if (lb.empty() || lb == "LOAD_BALANCER_UNSPECIFIED") lb = "ROUND_ROBIN";
  const JsonValue* hash = member(spec, "hashOn");
  if (const std::string header = scalarText(member(hash, "header")); !header.empty()) return lb + "(header " + header + ")";
  if (const std::string cookie = scalarText(member(hash, "cookie")); !cookie.empty()) return lb + "(cookie " + cookie + ")";
  if (scalarText(member(hash, "sourceIp")) == "true") return lb + "(source ip)";
  return lb;
}

// "default" (mesh.proto's defaults: 2 on connect-failure,...), "off", or
// "3x 5xx,reset" with "+hedge" / "+non-idempotent" when set.
std::string retries(const JsonValue* spec) {
  const JsonValue* retry = member(spec, "retries");
  if (retry == nullptr) return "default";
  if (scalarText(member(retry, "disabled")) == "true") return "off";
  std::string attempts = scalarText(member(retry, "attempts"));
  if (attempts.empty() || attempts == "0") attempts = "2";
  std::string on;
  for (const JsonValue& token : listItems(member(retry, "retryOn"))) on += (on.empty() ? "" : ",") + scalarText(&token);
  std::string out = attempts + "x " + (on.empty() ? "default" : on);
  if (scalarText(member(retry, "retryNonIdempotent")) == "true") out += " +non-idempotent";
  if (scalarText(member(retry, "hedge")) == "true") out += " +hedge";
  return out;
}

// "20%" (default), "35%", or "off".
std::string retryBudget(const JsonValue* spec) {
  const JsonValue* budget = at(spec, {"retries", "budget"});
  if (scalarText(member(budget, "disabled")) == "true") return "off";
  std::string percent = scalarText(member(budget, "percent"));
  if (percent.empty() || percent == "0") percent = "20";
  return percent + "%";
}

// "default", "off", or "custom" (some field differs from the defaults).
std::string outlierDetection(const JsonValue* spec) {
  const JsonValue* od = member(spec, "outlierDetection");
  if (od == nullptr || !od->has_struct_value() || od->struct_value().fields().empty()) return "default";
  if (scalarText(member(od, "disabled")) == "true") return "off";
  return "custom";
}

// "-", "http /healthz", "grpc echo", "grpc", or "tcp".
std::string healthCheck(const JsonValue* spec) {
  const JsonValue* hc = member(spec, "healthCheck");
  if (hc == nullptr) return "-";
  if (const JsonValue* grpc = member(hc, "grpc"); grpc != nullptr) {
    const std::string service = scalarText(member(grpc, "serviceName"));
    return service.empty() ? "grpc" : "grpc " + service;
  }
  const std::string path = scalarText(member(hc, "path"));
  return path.empty() ? "tcp" : "http " + path;
}

std::vector<std::string> trafficPolicyRow(const JsonValue& object, TimePoint now) {
  const JsonValue* spec = member(&object, "spec");
  return {scalarText(at(&object, {"metadata", "namespace"})),
          scalarText(at(&object, {"metadata", "name"})),
          orNone(scalarText(member(spec, "service"))),
          loadBalancer(spec),
          retries(spec),
          retryBudget(spec),
          outlierDetection(spec),
          healthCheck(spec),
          ageSince(scalarText(at(&object, {"metadata", "creationTimestamp"})), now)};
}

struct XdsType {
  std::string_view column;
  std::string_view type_url;
};

constexpr std::array<XdsType, 4> kXdsTypes = {{
    {"LDS", "type.googleapis.com/envoy.config.listener.v3.Listener"},
    {"RDS", "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"},
    {"CDS", "type.googleapis.com/envoy.config.cluster.v3.Cluster"},
    {"EDS", "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"},
}};

// A NACK counts while it is about the version last sent; an ACK of a newer
// version supersedes it.
bool nackedLatest(const JsonValue* type) {
  const JsonValue* nack = member(type, "last_nack");
  if (nack == nullptr || !nack->has_struct_value()) return false;
  const std::string sent = scalarText(member(type, "version_sent"));
  return scalarText(member(nack, "version")) == sent && scalarText(member(type, "version_acked")) != sent;
}

// The cluster the node names, else the service its metadata announces.
std::string proxyCluster(const JsonValue& proxy) {
  std::string cluster = scalarText(member(&proxy, "cluster"));
  if (cluster.empty()) cluster = scalarText(at(&proxy, {"metadata", "REMORA_SERVICE"}));
  return orNone(cluster);
}

}  // namespace

std::string objectTable(const KindInfo& kind, const JsonList& items, TimePoint now) {
  const bool service = kind.kind == "Service";
  const bool endpoint = kind.kind == "Endpoint";
  const bool policy = kind.kind == "TrafficPolicy";
  Table table(service    ? std::vector<std::string>{"NAMESPACE", "NAME", "PORTS", "AGE"}
              : endpoint ? std::vector<std::string>{"NAMESPACE", "NAME", "SERVICE", "ADDRESS", "PORT", "ZONE",
                                                    "WEIGHT", "HEALTH"}
              : policy   ? std::vector<std::string>{"NAMESPACE", "NAME", "SERVICE", "LB", "RETRIES", "BUDGET",
                                                  "OUTLIER", "HEALTH CHECK", "AGE"}
                         : std::vector<std::string>{"NAMESPACE", "NAME", "SERVICE", "AGE"});
  for (const JsonValue& object : items) {
    if (endpoint) {
      table.addRow(endpointRow(object));
      continue;
    }
    if (policy) {
      table.addRow(trafficPolicyRow(object, now));
      continue;
    }
    const std::string ns = scalarText(at(&object, {"metadata", "namespace"}));
    const std::string name = scalarText(at(&object, {"metadata", "name"}));
    const std::string age = ageSince(scalarText(at(&object, {"metadata", "creationTimestamp"})), now);
    if (service) {
      table.addRow({ns, name, servicePorts(object), age});
    } else {
      table.addRow({ns, name, orNone(scalarText(at(&object, {"spec", "service"}))), age});
    }
  }
  return table.render();
}

std::string xdsTypeCell(const JsonValue* type) {
  const std::string sent = scalarText(member(type, "version_sent"));
  if (sent.empty()) return "-";
  if (nackedLatest(type)) return "NACKED " + sent;
  const std::string acked = scalarText(member(type, "version_acked"));
  if (acked == sent) return "ACKED " + sent;
  return acked.empty() ? "STALE (sent " + sent + ")" : "STALE " + acked + " (sent " + sent + ")";
}

std::string proxyStatusTable(const JsonList& proxies, TimePoint now) {
  Table table({"NODE", "REPLICA", "CLUSTER", "LDS", "RDS", "CDS", "EDS", "LAST SEEN"});
  std::string nacks;
  for (const JsonValue& proxy : proxies) {
    const std::string node = scalarText(member(&proxy, "node_id"));
    // The remora-cp replica the proxy streams to (older servers send none).
    std::vector<std::string> row = {node, orNone(scalarText(member(&proxy, "replica"))), proxyCluster(proxy)};
    for (const XdsType& t : kXdsTypes) {
      const JsonValue* type = member(member(&proxy, "types"), t.type_url);
      row.push_back(xdsTypeCell(type));
      if (nackedLatest(type)) {
        const JsonValue* nack = member(type, "last_nack");
        nacks += node + " " + std::string(t.column) + " NACKED version " + scalarText(member(nack, "version")) +
                 ": " + scalarText(member(nack, "error")) + "\n";
      }
    }
    row.push_back(ageSince(scalarText(member(&proxy, "last_seen")), now) + " ago");
    table.addRow(std::move(row));
  }
  std::string out = table.render();
  if (!nacks.empty()) out += "\n" + nacks;
  return out;
}

}  // namespace remora::cli
