#include "proxy/main/config_dump.h"

namespace remora::server {

std::string configDumpJson(const config::Snapshot& snapshot, const std::string& bootstrap_json) {
  // bootstrap_json is already JSON (protobuf's mapping of the parsed file).
  return "{\"version\":" + std::to_string(snapshot.version) + ",\"bootstrap\":" +
         (bootstrap_json.empty() ? std::string("null") : bootstrap_json) + "}\n";
}

}  // namespace remora::server
