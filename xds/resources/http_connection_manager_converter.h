// The HttpConnectionManager network filter's typed_config -> the model's
// HttpConnectionManager (codec limits, timeouts, upgrades, inline routes or an
// RDS name). Called by the listener converter; pure, any thread.
#pragma once

#include <string_view>

#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

// `path` names the filter's typed_config; errors name fields below it. The HTTP
// filter list must end with envoy.filters.http.router and hold nothing else
// remora-proxy does not implement.
base::Result<HttpConnectionManager> toHttpConnectionManager(
    const envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& proto,
    std::string_view path);

}  // namespace remora::xds::resources
