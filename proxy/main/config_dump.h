// The /config_dump document: the bootstrap as loaded, and with xDS every
// dynamic resource held (with the version it came in and when it was
// accepted), the subscriptions' state (accepted version, nonce, last error)
// and the listeners still warming. Main thread.
#pragma once

#include <chrono>
#include <string>

#include "proxy/config/ads_client.h"
#include "proxy/config/snapshot.h"
#include "proxy/config/xds_cache.h"

namespace remora::server {

// {"version": N, "bootstrap": {...}, "xds": {...} | null}; `cache` and
// `client` are null without dynamic_resources.
// RFC 3339, UTC, second precision (what Envoy's last_updated looks like).
std::string rfc3339Utc(std::chrono::system_clock::time_point t);

std::string configDumpJson(const config::Snapshot& snapshot, const std::string& bootstrap_json,
                           const config::XdsCache* cache, const config::AdsClient* client);

}  // namespace remora::server
