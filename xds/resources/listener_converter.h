// Listener protos (bootstrap static_resources or LDS) -> the validated model:
// address, filter chains with their match, the one terminal network filter
// (http_connection_manager or tcp_proxy), and listener filters. Pure, any
// thread; called by toBootstrap and by the xDS client on the main thread.
#pragma once

#include <string_view>

#include "envoy/config/listener/v3/listener.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

// The listener filter that makes an accepted connection's local address its
// original destination (the address before an iptables REDIRECT).
inline constexpr std::string_view kOriginalDstFilterName = "envoy.filters.listener.original_dst";

// Errors name the field under `path` ("" for a resource on its own). Which
// clusters exist is not known here; see toBootstrap.
base::Result<Listener> toListener(const envoy::config::listener::v3::Listener& proto, std::string_view path = "");

}  // namespace remora::xds::resources
