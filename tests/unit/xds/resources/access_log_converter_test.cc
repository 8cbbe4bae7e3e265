#include "xds/resources/access_log_converter.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using AccessLogProto = envoy::config::accesslog::v3::AccessLog;

namespace {

std::string fileLog(const std::string& body) {
  return R"({"name": "envoy.access_loggers.file", "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog", )" +
         body + "}}";
}

std::string stdoutLog(const std::string& body = "") {
  return R"({"name": "envoy.access_loggers.stdout", "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog")" +
         (body.empty() ? "" : ", " + body) + "}}";
}

remora::base::Result<AccessLog> convert(const std::string& json) {
  return toAccessLog(protoFromJson<AccessLogProto>(json), "a");
}

constexpr const char* kEnvoyDefault =
    R"([%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" %RESPONSE_CODE% )"
    R"(%RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% )"
    R"(\"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" )"
    R"(\"%UPSTREAM_HOST%\"\n)";

}  // namespace

TEST_CASE("a file access log without log_format writes text lines to its path", "[xds][resources][access_log]") {
  auto log = convert(fileLog(R"("path": "/var/log/remora/access.log")"));
  REQUIRE(log);
  CHECK(log->path == "/var/log/remora/access.log");
  CHECK(log->format == AccessLog::Format::kText);
}

TEST_CASE("json_format asks for the JSON line", "[xds][resources][access_log]") {
  auto log = convert(fileLog(R"("path": "/tmp/a.log", "log_format": {"json_format": {
      "start": "%START_TIME%", "code": "%RESPONSE_CODE%"}})"));
  REQUIRE(log);
  CHECK(log->format == AccessLog::Format::kJson);
  auto empty = convert(stdoutLog(R"("log_format": {"json_format": {}})"));
  REQUIRE(empty);
  CHECK(empty->format == AccessLog::Format::kJson);
}

TEST_CASE("the stdout and stderr loggers write to the standard streams", "[xds][resources][access_log]") {
  auto out = convert(stdoutLog());
  REQUIRE(out);
  CHECK(out->path == "/dev/stdout");
  CHECK(out->format == AccessLog::Format::kText);
  auto err = convert(R"({"typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog"}})");
  REQUIRE(err);
  CHECK(err->path == "/dev/stderr");
}

TEST_CASE("Envoy's default text format is accepted, custom ones are not", "[xds][resources][access_log]") {
  auto envoy_default = convert(
      stdoutLog(std::string(R"("log_format": {"text_format_source": {"inline_string": ")") + kEnvoyDefault + "\"}}"));
  REQUIRE(envoy_default);
  CHECK(envoy_default->format == AccessLog::Format::kText);
  auto custom = convert(stdoutLog(R"("log_format": {"text_format_source": {"inline_string": "%START_TIME%\n"}})"));
  REQUIRE_FALSE(custom);
  CHECK(custom.error().code == Error::kUnsupported);
  CHECK(custom.error().message.starts_with(
      "a.typed_config.log_format.text_format_source.inline_string: not supported by remora-proxy (custom text "
      "formats"));
  auto from_file = convert(stdoutLog(R"("log_format": {"text_format_source": {"filename": "/etc/format"}})"));
  REQUIRE_FALSE(from_file);
  CHECK(from_file.error().message ==
        "a.typed_config.log_format.text_format_source.filename: not supported by remora-proxy");
  auto legacy = convert(stdoutLog(R"("log_format": {"text_format": "%START_TIME%"})"));
  REQUIRE_FALSE(legacy);
  CHECK(legacy.error().message == "a.typed_config.log_format.text_format: not supported by remora-proxy");
}

TEST_CASE("access log filters and unknown loggers are refused", "[xds][resources][access_log]") {
  auto filtered = convert(R"({"filter": {"not_health_check_filter": {}}, "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"}})");
  REQUIRE_FALSE(filtered);
  CHECK(filtered.error().code == Error::kUnsupported);
  CHECK(filtered.error().message ==
        "a.filter: not supported by remora-proxy (remora-proxy logs every request of a listener that logs)");
  auto other = convert(R"({"typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}})");
  REQUIRE_FALSE(other);
  CHECK(other.error().code == Error::kUnsupported);
  CHECK(other.error().message.starts_with("a.typed_config: not supported by remora-proxy (access logger @type"));
}

TEST_CASE("malformed access logs name their field", "[xds][resources][access_log]") {
  auto no_path = convert(fileLog(R"("log_format": {"json_format": {}})"));
  REQUIRE_FALSE(no_path);
  CHECK(no_path.error().code == Error::kInvalidArgument);
  CHECK(no_path.error().message == "a.typed_config.path: is required");
  auto no_config = convert(R"({"name": "envoy.access_loggers.file"})");
  REQUIRE_FALSE(no_config);
  CHECK(no_config.error().message ==
        "a.typed_config: is required (a FileAccessLog, StdoutAccessLog or StderrAccessLog)");
  auto deprecated = convert(fileLog(R"("path": "/tmp/a", "json_format": {"a": "b"})"));
  REQUIRE_FALSE(deprecated);
  CHECK(deprecated.error().message == "a.typed_config.json_format: not supported by remora-proxy");
  auto empty_format = convert(stdoutLog(R"("log_format": {})"));
  REQUIRE_FALSE(empty_format);
  CHECK(empty_format.error().message ==
        "a.typed_config.log_format: one of json_format or text_format_source is required");
  auto extras = convert(stdoutLog(R"("log_format": {"json_format": {}, "omit_empty_values": true})"));
  REQUIRE_FALSE(extras);
  CHECK(extras.error().message == "a.typed_config.log_format.omit_empty_values: not supported by remora-proxy");
}
