#include "xds/resources/access_log_converter.h"

#include <string>

#include "envoy/config/core/v3/substitution_format_string.pb.h"
#include "envoy/extensions/access_loggers/file/v3/file.pb.h"
#include "envoy/extensions/access_loggers/stream/v3/stream.pb.h"
#include "xds/resources/common_converters.h"

namespace remora::xds::resources {

namespace accesslog = envoy::config::accesslog::v3;
namespace core = envoy::config::core::v3;
namespace file = envoy::extensions::access_loggers::file::v3;
namespace stream = envoy::extensions::access_loggers::stream::v3;
using base::Result;
using base::Status;

namespace {

// Envoy's default text format (its docs' "Default format string"). Configs
// copied from Envoy often spell it out; remora-proxy's text line carries the
// same fields in the same order (docs/config/bootstrap.md), so it is accepted
// as a request for that line. Any other format string is refused.
constexpr std::string_view kEnvoyDefaultFormat =
    "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" %RESPONSE_CODE% "
    "%RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "
    "\"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" "
    "\"%UPSTREAM_HOST%\"";

bool isEnvoyDefaultFormat(std::string_view format) {
  if (format.ends_with('\n')) format.remove_suffix(1);
  return format == kEnvoyDefaultFormat;
}

// log_format -> kJson or kText. json_format's keys and values are not read:
// remora-proxy has one JSON line (its keys are documented), so json_format
// only says "JSON". Custom text formats would need Envoy's command-operator
// language, which remora-proxy does not implement.
Result<AccessLog::Format> toFormat(const core::SubstitutionFormatString& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path, {"json_format", "text_format_source"}); !s) return s.error();
  if (proto.has_json_format()) return AccessLog::Format::kJson;
  if (proto.has_text_format_source()) {
    const std::string source_path = fieldPath(path, "text_format_source");
    const core::DataSource& source = proto.text_format_source();
    if (Status s = onlySupportedFields(source, source_path, {"inline_string"}); !s) return s.error();
    if (!isEnvoyDefaultFormat(source.inline_string())) {
      return unsupportedField(fieldPath(source_path, "inline_string"),
                              "custom text formats; omit log_format for remora-proxy's text line, or use "
                              "json_format: {} for its JSON line (docs/config/bootstrap.md lists both)");
    }
    return AccessLog::Format::kText;
  }
  return invalidField(path, "one of json_format or text_format_source is required");
}

template <typename Logger>
Status unpack(const google::protobuf::Any& any, std::string_view path, Logger& out) {
  if (!any.UnpackTo(&out)) return invalidField(path, "cannot be decoded as " + Logger::descriptor()->full_name());
  return Status::ok();
}

// Both stream loggers and the file logger have log_format; the file logger's
// older format fields are refused by onlySupportedFields first.
template <typename Logger>
Status setFormat(const Logger& logger, std::string_view path, AccessLog& out) {
  if (!logger.has_log_format()) return Status::ok();  // kText
  Result<AccessLog::Format> format = toFormat(logger.log_format(), fieldPath(path, "log_format"));
  if (!format) return format.status();
  out.format = *format;
  return Status::ok();
}

}  // namespace

Result<AccessLog> toAccessLog(const accesslog::AccessLog& proto, std::string_view path) {
  if (proto.has_filter()) {
    return unsupportedField(fieldPath(path, "filter"), "remora-proxy logs every request of a listener that logs");
  }
  if (Status s = onlySupportedFields(proto, path, {"name", "typed_config"}); !s) return s.error();
  const std::string config_path = fieldPath(path, "typed_config");
  if (!proto.has_typed_config()) {
    return invalidField(config_path, "is required (a FileAccessLog, StdoutAccessLog or StderrAccessLog)");
  }
  const google::protobuf::Any& any = proto.typed_config();
  const std::string_view type = anyTypeName(any.type_url());
  const std::string file_type = file::FileAccessLog::descriptor()->full_name();
  const std::string stdout_type = stream::StdoutAccessLog::descriptor()->full_name();
  const std::string stderr_type = stream::StderrAccessLog::descriptor()->full_name();
  AccessLog out;
  if (type == file_type) {
    file::FileAccessLog logger;
    if (Status s = unpack(any, config_path, logger); !s) return s.error();
    if (Status s = onlySupportedFields(logger, config_path, {"path", "log_format"}); !s) return s.error();
    const std::string& log_path = logger.path();
    if (log_path.empty()) return invalidField(fieldPath(config_path, "path"), "is required");
    if (log_path.find('\0') != std::string::npos) {
      return invalidField(fieldPath(config_path, "path"), "must not hold a NUL byte");
    }
    out.path = log_path;
    if (Status s = setFormat(logger, config_path, out); !s) return s.error();
  } else if (type == stdout_type) {
    stream::StdoutAccessLog logger;
    if (Status s = unpack(any, config_path, logger); !s) return s.error();
    out.path = "/dev/stdout";
    if (Status s = setFormat(logger, config_path, out); !s) return s.error();
  } else if (type == stderr_type) {
    stream::StderrAccessLog logger;
    if (Status s = unpack(any, config_path, logger); !s) return s.error();
    out.path = "/dev/stderr";
    if (Status s = setFormat(logger, config_path, out); !s) return s.error();
  } else {
    return unsupportedField(config_path, "access logger @type " + std::string(any.type_url()) + "; supported: " +
                                             file_type + ", " + stdout_type + ", " + stderr_type);
  }
  return out;
}

}  // namespace remora::xds::resources
