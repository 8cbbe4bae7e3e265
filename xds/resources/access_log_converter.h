// HttpConnectionManager.access_log entries -> the model's AccessLog: the file
// (envoy.access_loggers.file) or standard stream (envoy.access_loggers.stdout,
// .stderr) a listener's request lines go to, and whether they are JSON or
// text. Called by the connection manager converter; pure, any thread.
#pragma once

#include <string_view>

#include "envoy/config/accesslog/v3/accesslog.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

// `path` names the access_log entry. remora-proxy writes its own line
// (documented in docs/config/bootstrap.md): log_format's json_format asks for
// the JSON line (its keys are not read), no log_format or Envoy's default text
// format for the text line; custom text formats and filters are refused.
base::Result<AccessLog> toAccessLog(const envoy::config::accesslog::v3::AccessLog& proto, std::string_view path);

}  // namespace remora::xds::resources
