#include "proxy/main/config_dump.h"

#include <google/protobuf/util/json_util.h>

#include <ctime>

#include "xds/base/json_string.h"

namespace remora::server {

std::string rfc3339Utc(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}


namespace {

std::string quote(std::string_view s) { return base::jsonString(s); }


std::string resourceJson(const google::protobuf::Any& any) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(any, &json, options).ok()) return "null";
  return json;
}

std::string xdsJson(const config::XdsCache& cache, const config::AdsClient& client) {
  using xds::resources::ResourceType;
  std::string out = "{\"connected\":" + std::string(client.connected() ? "true" : "false");
  out += ",\"last_stream_failure\":" + quote(client.failure());
  out += ",\"initialized\":" + std::string(cache.initialized() ? "true" : "false");
  out += ",\"waiting_for\":" + quote(cache.waitingFor());
  out += ",\"warming_listeners\":[";
  bool first = true;
  for (const auto& name : cache.warmingListeners()) {
    out += (first ? "" : ",") + quote(name);
    first = false;
  }
  out += "],\"subscriptions\":[";
  first = true;
  for (const auto& t : client.mux().states()) {
    out += first ? "{" : ",{";
    first = false;
    out += "\"type_url\":" + quote(t.type_url) + ",\"wildcard\":" + (t.wildcard ? "true" : "false");
    out += ",\"version_info\":" + quote(t.accepted_version) + ",\"nonce\":" + quote(t.nonce);
    out += ",\"accepted\":" + std::to_string(t.accepted) + ",\"rejected\":" + std::to_string(t.rejected);
    out += ",\"last_error\":" + (t.last_error ? quote(*t.last_error) : std::string("null"));
    out += ",\"names\":[";
    bool first_name = true;
    for (const auto& n : t.names) {
      out += (first_name ? "" : ",") + quote(n);
      first_name = false;
    }
    out += "]}";
  }
  out += "],\"resources\":{";
  first = true;
  for (auto type : {ResourceType::kCluster, ResourceType::kClusterLoadAssignment, ResourceType::kListener,
                    ResourceType::kRouteConfiguration}) {
    out += (first ? "" : ",") + quote(xds::resources::shortTypeName(type)) + ":[";
    first = false;
    bool first_entry = true;
    for (const auto& [name, e] : cache.entries(type)) {
      out += first_entry ? "{" : ",{";
      first_entry = false;
      out += "\"name\":" + quote(name) + ",\"version\":" + quote(e.version) +
             ",\"last_updated\":" + quote(rfc3339Utc(e.accepted_at));
      if (!e.skipped.empty()) out += ",\"skipped\":" + quote(e.skipped);
      out += ",\"resource\":" + (e.body ? resourceJson(*e.body) : std::string("null")) + "}";
    }
    out += "]";
  }
  out += "}}";
  return out;
}

}  // namespace

std::string configDumpJson(const config::Snapshot& snapshot, const std::string& bootstrap_json,
                           const config::XdsCache* cache, const config::AdsClient* client) {
  // bootstrap_json is already JSON (protobuf's mapping of the parsed file).
  std::string out = "{\"version\":" + std::to_string(snapshot.version) + ",\"bootstrap\":" +
                    (bootstrap_json.empty() ? std::string("null") : bootstrap_json);
  out += ",\"xds\":" + (cache != nullptr && client != nullptr ? xdsJson(*cache, *client) : std::string("null"));
  return out + "}\n";
}

}  // namespace remora::server
