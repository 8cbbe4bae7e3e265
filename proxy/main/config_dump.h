// The /config_dump document: the bootstrap as loaded plus what the proxy made
// of it. Main thread.
#pragma once

#include <string>

#include "proxy/config/snapshot.h"

namespace remora::server {

// {"version": N, "bootstrap": <the bootstrap as JSON>}
std::string configDumpJson(const config::Snapshot& snapshot, const std::string& bootstrap_json);

}  // namespace remora::server
