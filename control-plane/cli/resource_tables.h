// The default (table) view of `remoractl get` and `remoractl proxy-status`,
// built from the API's JSON (docs/api.md) and the proxy status JSON of
// xds/server/proxy_registry.h (proxyStatusJson).
//
//   get services:   NAMESPACE NAME PORTS AGE          (PORTS "9080/http,80:8080/grpc")
//   get endpoints:  NAMESPACE NAME SERVICE ADDRESS PORT ZONE WEIGHT HEALTH
//   get trafficpolicies: NAMESPACE NAME SERVICE LB RETRIES BUDGET OUTLIER HEALTH CHECK AGE
//                   (LB "RING_HASH(header x-user)"; RETRIES "default", "off", "3x 5xx,reset +hedge";
//                   BUDGET "20%" or "off"; OUTLIER "default", "off", "custom"; HEALTH CHECK "http /healthz")
//   other kinds:    NAMESPACE NAME SERVICE AGE
//   proxy-status:   NODE CLUSTER LDS RDS CDS EDS LAST SEEN, then one line per NACK with its error
//
// `now` is passed in so tests can pin the ages. Pure; any thread.
#pragma once

#include <string>

#include "control-plane/cli/json_value.h"
#include "control-plane/cli/kinds.h"
#include "control-plane/cli/table.h"

namespace remora::cli {

using JsonList = google::protobuf::RepeatedPtrField<JsonValue>;

// The table for `items` (objects of `kind`, as the API lists them).
std::string objectTable(const KindInfo& kind, const JsonList& items, TimePoint now);

// One cell of proxy-status for one xDS type of one proxy (`type` is the
// object under "types" for that type URL, nullptr when nothing was sent):
//   "ACKED 7", "NACKED 8", "STALE 6 (sent 7)", "STALE (sent 7)", "-".
std::string xdsTypeCell(const JsonValue* type);

// The proxy-status table for `proxies` (the API's /api/v1/proxies items);
// each NACK's error follows the table on its own line:
//   "sidecar-1 CDS NACKED version 8: cluster 'x': connect_timeout must be > 0".
std::string proxyStatusTable(const JsonList& proxies, TimePoint now);

}  // namespace remora::cli
