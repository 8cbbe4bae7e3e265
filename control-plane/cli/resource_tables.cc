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
  Table table(service    ? std::vector<std::string>{"NAMESPACE", "NAME", "PORTS", "AGE"}
              : endpoint ? std::vector<std::string>{"NAMESPACE", "NAME", "SERVICE", "ADDRESS", "PORT", "ZONE",
                                                    "WEIGHT", "HEALTH"}
                         : std::vector<std::string>{"NAMESPACE", "NAME", "SERVICE", "AGE"});
  for (const JsonValue& object : items) {
    if (endpoint) {
      table.addRow(endpointRow(object));
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
  Table table({"NODE", "CLUSTER", "LDS", "RDS", "CDS", "EDS", "LAST SEEN"});
  std::string nacks;
  for (const JsonValue& proxy : proxies) {
    const std::string node = scalarText(member(&proxy, "node_id"));
    std::vector<std::string> row = {node, proxyCluster(proxy)};
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
