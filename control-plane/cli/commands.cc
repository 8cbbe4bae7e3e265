#include "control-plane/cli/commands.h"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "control-plane/cli/resource_tables.h"

namespace remora::cli {

namespace {

std::string reasonForStatus(int status) {
  switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 413: return "PayloadTooLarge";
    case 500: return "Internal";
    default: return "HTTP " + std::to_string(status);
  }
}

}  // namespace

ApiCall callApi(ApiTransport& api, std::string_view method, const std::string& path, const std::string& body,
                CommandOutput& output) {
  ApiCall result;
  base::Result<ApiReply> reply = api.send(method, path, body);
  if (!reply) {
    output.err += reply.error().message + "\n";
    result.exit_code = reply.error().code == base::Error::kConnectFailed ? kExitUnreachable : kExitError;
    return result;
  }
  if (reply->status < 200 || reply->status >= 300) {
    output.err += serverErrorMessage(*reply) + "\n";
    result.exit_code = kExitError;
    return result;
  }
  base::Result<JsonValue> json = parseJson(reply->body);
  if (!json) {
    output.err += "error: the server's answer to " + std::string(method) + " " + path +
                  " is not JSON: " + json.error().message + "\n";
    result.exit_code = kExitError;
    return result;
  }
  result.body = std::move(*json);
  return result;
}

std::string formatValue(const JsonValue& value, OutputFormat format) {
  return format == OutputFormat::kYaml ? toYaml(value) : toJson(value);
}

Displayed getForDisplay(ApiTransport& api, const std::string& path, OutputFormat format, CommandOutput& output) {
  ApiCall call = callApi(api, "GET", path, "", output);
  Displayed out{call.exit_code, call.exit_code != kExitOk, std::move(call.body)};
  if (!out.done && format != OutputFormat::kTable) {
    output.out += formatValue(out.body, format);
    out.done = true;
  }
  return out;
}

namespace {

// "items[2].spec.ports[0].port" -> {2, "spec.ports[0].port"}.
std::optional<std::pair<size_t, std::string>> splitItemField(std::string_view field) {
  constexpr std::string_view kPrefix = "items[";
  if (field.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const size_t close = field.find(']');
  if (close == std::string_view::npos) return std::nullopt;
  size_t index = 0;
  const auto [end, ec] = std::from_chars(field.data() + kPrefix.size(), field.data() + close, index);
  if (ec != std::errc() || end != field.data() + close) return std::nullopt;
  std::string_view rest = field.substr(close + 1);
  if (!rest.empty() && rest.front() == '.') rest.remove_prefix(1);
  return std::make_pair(index, std::string(rest));
}

// Where in the file the server's complaint points, when it names a field.
std::string locateError(const ApiReply& reply, const Manifest& manifest) {
  base::Result<JsonValue> body = parseJson(reply.body);
  if (!body) return "";
  const std::string field = scalarText(member(&*body, "field"));
  if (field.empty()) return "";
  std::optional<std::pair<size_t, std::string>> item = splitItemField(field);
  if (!item && manifest.objects.size() == 1) item = std::make_pair(size_t{0}, field);
  if (!item) return "";
  const std::optional<int> line = manifest.lineOf(item->first, item->second);
  if (!line) return "";
  const ManifestObject& object = manifest.objects[item->first];
  return "  at " + manifest.source + ":" + std::to_string(*line) + " (" +
         std::string(object.kind ? object.kind->lower : "object") + "/" + object.name + ")\n";
}

// "service/reviews created" lines from {"results": [{kind, name, action}]}.
std::string resultLines(const JsonValue& body) {
  std::string out;
  for (const JsonValue& result : listItems(member(&body, "results"))) {
    const std::string kind = scalarText(member(&result, "kind"));
    const KindInfo* info = kindFromName(kind);
    out += (info ? std::string(info->lower) : kind) + "/" + scalarText(member(&result, "name")) + " " +
           scalarText(member(&result, "action")) + "\n";
  }
  return out;
}

int runBatch(ApiTransport& api, const std::string& path, const Manifest& manifest, CommandOutput& output) {
  base::Result<ApiReply> reply = api.send("POST", path, batchJson(manifest));
  if (!reply) {
    output.err += reply.error().message + "\n";
    return reply.error().code == base::Error::kConnectFailed ? kExitUnreachable : kExitError;
  }
  if (reply->status < 200 || reply->status >= 300) {
    output.err += serverErrorMessage(*reply) + "\n" + locateError(*reply, manifest);
    return kExitError;
  }
  base::Result<JsonValue> body = parseJson(reply->body);
  if (!body) {
    output.err += "error: the server's answer is not JSON: " + body.error().message + "\n";
    return kExitError;
  }
  output.out += resultLines(*body);
  return kExitOk;
}

// Names are DNS labels once the server accepts them, but whatever the user
// typed must still stay one path segment ("a/b" must not reach another URL).
std::string pathSegment(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string unknownKind(const std::string& argument) {
  return "error: unknown kind \"" + argument + "\"; one of: " + kindArgumentsHelp() + "\n";
}

}  // namespace

std::string serverErrorMessage(const ApiReply& reply) {
  std::string reason = reasonForStatus(reply.status);
  std::string message;
  if (base::Result<JsonValue> body = parseJson(reply.body); body && body->has_struct_value()) {
    if (std::string r = scalarText(member(&*body, "reason")); !r.empty()) reason = r;
    message = scalarText(member(&*body, "message"));
  }
  if (message.empty()) {
    message = reply.body;
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
  }
  if (message.empty()) message = "HTTP status " + std::to_string(reply.status);
  return "Error from server (" + reason + "): " + message;
}

base::Result<std::string> readManifestFile(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return base::fail(base::Error::kIo, "error: cannot read " + path + ": no such file or not readable");
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) return base::fail(base::Error::kIo, "error: cannot read " + path);
  return text.str();
}

int runApply(ApiTransport& api, const Manifest& manifest, CommandOutput& output) {
  return runBatch(api, "/api/v1/apply", manifest, output);
}

int runDeleteManifest(ApiTransport& api, const Manifest& manifest, CommandOutput& output) {
  return runBatch(api, "/api/v1/delete", manifest, output);
}

int runDelete(ApiTransport& api, const std::string& kind_argument, const std::string& name,
              const std::string& namespace_, CommandOutput& output) {
  const KindInfo* kind = kindFromArgument(kind_argument);
  if (kind == nullptr) {
    output.err += unknownKind(kind_argument);
    return kExitUsage;
  }
  const std::string path =
      "/api/v1/namespaces/" + pathSegment(namespace_) + "/" + std::string(kind->plural) + "/" + pathSegment(name);
  ApiCall result = callApi(api, "DELETE", path, "", output);
  if (result.exit_code != kExitOk) return result.exit_code;
  output.out += std::string(kind->lower) + "/" + name + " deleted\n";
  return kExitOk;
}

int runGet(ApiTransport& api, const GetRequest& request, TimePoint now, CommandOutput& output) {
  const KindInfo* kind = kindFromArgument(request.kind_argument);
  if (kind == nullptr) {
    output.err += unknownKind(request.kind_argument);
    return kExitUsage;
  }
  const std::string plural(kind->plural);
  std::string path;
  if (!request.name.empty()) {
    path = "/api/v1/namespaces/" + pathSegment(request.namespace_) + "/" + plural + "/" + pathSegment(request.name);
  } else if (request.all_namespaces) {
    path = "/api/v1/" + plural;
  } else {
    path = "/api/v1/namespaces/" + pathSegment(request.namespace_) + "/" + plural;
  }
  Displayed result = getForDisplay(api, path, request.format, output);
  if (result.done) return result.exit_code;
  if (!request.name.empty()) {
    google::protobuf::RepeatedPtrField<JsonValue> one;
    *one.Add() = result.body;
    output.out += objectTable(*kind, one, now);
    return kExitOk;
  }
  const JsonList& items = listItems(member(&result.body, "items"));
  if (items.empty()) {
    output.err += request.all_namespaces ? "No resources found.\n"
                                         : "No resources found in " + request.namespace_ + " namespace.\n";
    return kExitOk;
  }
  output.out += objectTable(*kind, items, now);
  return kExitOk;
}

int runProxyStatus(ApiTransport& api, OutputFormat format, TimePoint now, CommandOutput& output) {
  Displayed result = getForDisplay(api, "/api/v1/proxies", format, output);
  if (result.done) return result.exit_code;
  output.out += proxyStatusTable(listItems(member(&result.body, "items")), now);
  return kExitOk;
}

}  // namespace remora::cli
