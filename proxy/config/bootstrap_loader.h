// Reads a bootstrap file (YAML or JSON in the shape of Envoy's v3 Bootstrap),
// parses it through our xDS protos with protobuf's JSON mapping (unknown fields
// are errors) and converts it with xds/resources' validating converters.
//
// Called on the main thread at start-up and by `remora-proxy validate`. Every
// failure names the file, the line when known, and the field path:
//   "basic.yaml:31: static_resources.clusters[1]...port_value: 70000 is out of range 1..65535"
#pragma once

#include <string>
#include <string_view>

#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::config {

enum class ConfigFormat { kYaml, kJson };

// A bootstrap that parsed and validated. The proto is kept for the xDS client
// (it sends node as written) and the JSON for /config_dump.
struct LoadedBootstrap {
  xds::resources::Bootstrap bootstrap;
  envoy::config::bootstrap::v3::Bootstrap proto;
  std::string json;  // the proto as JSON, proto field names, defaults omitted
};

// A whole file of at most 16 MiB (bootstraps, certificates, keys, tokens);
// errors name the path and the errno text.
base::Result<std::string> readSmallFile(const std::string& path);

// ".json" files are JSON; anything else is YAML (which also reads most JSON).
// Files above 16 MiB are refused.
base::Result<LoadedBootstrap> loadBootstrapFile(const std::string& path);

// `source` names the text in messages (a file path, or "<string>").
base::Result<LoadedBootstrap> loadBootstrapString(std::string_view text, ConfigFormat format,
                                                  std::string_view source = "<string>");

// The proto as JSON (proto field names), for /config_dump.
base::Result<std::string> bootstrapToJson(const envoy::config::bootstrap::v3::Bootstrap& proto, bool pretty = false);

// What `remora-proxy validate FILE` prints on success: "FILE: OK (2 listeners,
// 3 clusters)"; on failure the error names the file, line and field.
base::Result<std::string> validateBootstrapFile(const std::string& path);

}  // namespace remora::config
