#include "tests/integration/harness/trace_collector_process.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/temp_dir.h"

namespace remora::harness {

using base::Error;
using base::fail;
using nlohmann::json;

namespace {
constexpr std::string_view kCollectorDir = "tests/integration/trace_collector";

std::string text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump();
}
}  // namespace

std::string CollectedSpan::attribute(const std::string& key) const {
  const auto it = attributes.find(key);
  return it == attributes.end() ? std::string() : it->second;
}

base::Result<TraceCollectorProcess> TraceCollectorProcess::start(const std::string& dir, int fail_first) {
  return launch(dir, fail_first, {}, "127.0.0.1");
}

base::Result<TraceCollectorProcess> TraceCollectorProcess::startIn(const std::string& dir,
                                                                   std::vector<std::string> command_prefix,
                                                                   const std::string& host) {
  return launch(dir, 0, std::move(command_prefix), host);
}

base::Result<TraceCollectorProcess> TraceCollectorProcess::launch(const std::string& dir, int fail_first,
                                                                  std::vector<std::string> command_prefix,
                                                                  const std::string& host) {
  const std::string node = findInPath("node");
  if (node.empty()) return fail(Error::kNotFound, "node is not installed: run scripts/deps.sh");
  for (const char* module : {"@opentelemetry/otlp-transformer", "ajv"}) {
    const std::string file = sourcePath(std::string(kCollectorDir) + "/node_modules/" + module + "/package.json");
    if (!std::filesystem::exists(file)) return fail(Error::kNotFound, file + " is missing: run scripts/deps.sh");
  }
  const std::string port_file = dir + "/trace_collector.port";
  std::error_code ignored;
  std::filesystem::remove(port_file, ignored);
  std::vector<std::string> args = command_prefix;
  for (std::string arg : {node, sourcePath(std::string(kCollectorDir) + "/collector.js"), std::string("--port-file"),
                          port_file, std::string("--fail-first"), std::to_string(fail_first), std::string("--host"),
                          host}) {
    args.push_back(std::move(arg));
  }
  auto process = Process::start(ProcessOptions{std::move(args), {}, dir, "trace_collector"});
  if (!process) return process.error();
  auto content = waitForFile(port_file, std::chrono::seconds(20), [&] { return process->running(); });
  if (!content) {
    const std::string logs = process->readStderr();
    process->stop();
    return fail(Error::kIo, "trace collector did not start: " + content.error().message + "\n" + logs);
  }
  const json parsed = json::parse(*content, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("port") || !parsed["port"].is_number_unsigned()) {
    return fail(Error::kIo, "trace collector wrote a bad port file: " + *content);
  }
  TraceCollectorProcess collector(std::move(*process), parsed["port"].get<uint16_t>());
  collector.command_prefix_ = std::move(command_prefix);
  collector.host_ = host;
  return collector;
}

base::Result<std::string> TraceCollectorProcess::spansJson() const {
  const std::string address = host_ + ":" + std::to_string(port_);
  HttpRequest request;
  request.path = "/spans";
  auto response = command_prefix_.empty() ? httpRequest(address, request) : curlRequest(command_prefix_, address, request);
  if (!response) return response.error();
  return response->body;
}

base::Result<CollectorState> TraceCollectorProcess::state() const {
  auto spans = spansJson();
  if (!spans) return spans.error();
  const json body = json::parse(*spans, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return fail(Error::kIo, "collector: bad /spans: " + *spans);
  CollectorState state;
  for (const json& s : body.value("spans", json::array())) {
    CollectedSpan span;
    span.format = s.value("format", "");
    span.service = s.value("service", "");
    span.trace_id = s.value("traceId", "");
    span.span_id = s.value("spanId", "");
    span.parent_span_id = s.value("parentSpanId", "");
    span.name = s.value("name", "");
    span.kind = s.value("kind", "");
    if (s.contains("status") && s["status"].is_object()) span.status_code = s["status"].value("code", 0);
    if (s.contains("attributes") && s["attributes"].is_object()) {
      for (const auto& [key, value] : s["attributes"].items()) span.attributes[key] = text(value);
    }
    state.spans.push_back(std::move(span));
  }
  const json errors = body.value("errors", json::array());
  state.errors = errors.size();
  if (!errors.empty()) state.error_text = errors.dump();
  const json requests = body.value("requests", json::object());
  state.otlp_requests = requests.value("otlp", 0);
  state.zipkin_requests = requests.value("zipkin", 0);
  state.refused_requests = requests.value("refused", 0);
  return state;
}

}  // namespace remora::harness
