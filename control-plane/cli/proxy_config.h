// `remoractl proxy-config endpoints --admin HOST:PORT [--cluster NAME]`: a
// sidecar's view of its upstream hosts, from its admin endpoint's
// GET /clusters?format=json (docs/admin.md):
//   {"clusters": [{"name": ..., "hosts": [{"address": "10.0.0.1:8080", "weight": 1, "priority": 0,
//     "healthy": true, "flags": ["outlier_ejected"], "ejected_until": "2026-11-23T10:00:00Z",
//     "reason": "5 consecutive 5xx responses", "active_requests": 0}]}]}
// printed as
//   CLUSTER ENDPOINT PRIORITY HEALTH EJECTED UNTIL REASON ACTIVE
// HEALTH: "healthy", "ejected" (outlier detection), "unhealthy(active check)",
// "unhealthy(eds)" (the control plane said so), several joined by ",".
//
// Main thread of remoractl; the table function is pure.
#pragma once

#include <string>

#include "control-plane/cli/api_client.h"
#include "control-plane/cli/commands.h"
#include "control-plane/cli/json_value.h"

namespace remora::cli {

// The HEALTH cell of one host object.
std::string hostHealth(const JsonValue& host);

// The table for a /clusters?format=json document; only `cluster` when it is
// not empty. Clusters and hosts keep the admin's order.
std::string endpointsTable(const JsonValue& clusters, const std::string& cluster);

// GET /clusters?format=json on `admin` (a transport to the sidecar's admin
// address), then the table, or JSON/YAML with -o. A cluster filter naming
// no cluster is an error (exit 1).
int runProxyConfigEndpoints(ApiTransport& admin, const std::string& cluster, OutputFormat format,
                            CommandOutput& output);

}  // namespace remora::cli
