// Parsing and checking remora-cp's flag values: durations ("10s", "250ms"),
// "host:port" addresses, the API token file, and the rule that an API
// reachable from other hosts must be secured. Pure; main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "xds/base/status.h"

namespace remora::cp {

// "250ms", "10s", "2m", "1h"; a whole number and a unit. Negative or
// unit-less values fail with kInvalidArgument.
base::Result<std::chrono::milliseconds> parseDuration(std::string_view text);

// "127.0.0.1:15080" -> {"127.0.0.1", 15080}; "[::1]:15080" -> {"::1", 15080}.
// The host must be an IP literal, the port 0..65535.
base::Result<std::pair<std::string, uint16_t>> splitHostPort(std::string_view address);

// The file's first line, trimmed; fails when unreadable or empty.
base::Result<std::string> readToken(const std::string& path);

// An API on a non-loopback address needs both a token and TLS: the API
// changes what every proxy in the mesh does.
base::Status checkApiExposure(std::string_view api_address, bool has_token, bool has_tls);

}  // namespace remora::cp
