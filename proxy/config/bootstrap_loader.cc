#include "proxy/config/bootstrap_loader.h"

#include <google/protobuf/util/json_util.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "xds/base/yaml_to_json.h"
#include "xds/resources/bootstrap_converter.h"

namespace remora::config {

namespace {

constexpr size_t kMaxFileBytes = size_t{16} << 20;

using Lines = std::unordered_map<std::string, int>;


// Converter paths write map keys as `name["key"]`; the YAML line map as
// `name.key`.
std::string toLinePath(std::string_view path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path.compare(i, 2, "[\"") == 0) {
      const size_t end = path.find("\"]", i + 2);
      if (end != std::string_view::npos) {
        out += '.';
        out.append(path.substr(i + 2, end - i - 2));
        i = end + 1;
        continue;
      }
    }
    out += path[i];
  }
  return out;
}

// The line of `path`, or of its nearest ancestor that the YAML spelled out; 0
// when unknown.
int lineOf(const Lines& lines, std::string_view path) {
  std::string candidate = toLinePath(path);
  while (!candidate.empty()) {
    if (auto it = lines.find(candidate); it != lines.end()) return it->second;
    const size_t cut = candidate.find_last_of(".[");
    if (cut == std::string::npos) break;
    candidate.resize(cut);
  }
  return 0;
}

// The full path of `path` as the YAML spelled it: `path` itself, or, for a
// path protobuf reported relative to an enclosing Any, the one recorded path
// that ends with it (the first in the file if several do). Empty when unknown.
std::string fullPath(const Lines& lines, const std::string& path) {
  if (path.empty() || lines.contains(path)) return path;
  std::string best;
  int best_line = 0;
  for (const auto& [candidate, line] : lines) {
    const bool suffix = candidate.size() > path.size() && candidate.ends_with(path) &&
                        candidate[candidate.size() - path.size() - 1] == '.';
    if (suffix && (best.empty() || line < best_line)) {
      best = candidate;
      best_line = line;
    }
  }
  return best.empty() ? path : best;
}

// "source:line: message", with the line looked up from the field path the
// message starts with ("a.b[0].c: why").
base::Failure located(const base::Failure& failure, std::string_view source, const Lines& lines) {
  const size_t colon = failure.message.find(": ");
  const int line = colon == std::string::npos ? 0 : lineOf(lines, std::string_view(failure.message).substr(0, colon));
  std::string message(source);
  if (line > 0) message += ":" + std::to_string(line);
  message += ": " + failure.message;
  return base::fail(failure.code, std::move(message));
}

// protobuf's wording of a scalar type, in words.
std::string typeWords(const std::string& type) {
  static const std::unordered_map<std::string, std::string> kWords = {{"TYPE_UINT32", "an integer in 0..4294967295"},
                                                                      {"TYPE_UINT64", "a non-negative integer"},
                                                                      {"TYPE_INT32", "a 32-bit integer"},
                                                                      {"TYPE_INT64", "an integer"},
                                                                      {"TYPE_BOOL", "true or false"},
                                                                      {"TYPE_STRING", "a string"},
                                                                      {"TYPE_DOUBLE", "a number"},
                                                                      {"TYPE_FLOAT", "a number"}};
  if (auto it = kWords.find(type); it != kWords.end()) return it->second;
  const std::string name = type.substr(type.rfind('/') + 1);
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  if (const auto* enumeration = pool->FindEnumTypeByName(name)) {
    std::string values;
    for (int i = 0; i < enumeration->value_count(); ++i) {
      values += (i == 0 ? "one of " : ", ") + enumeration->value(i)->name();
    }
    return values;
  }
  return name;
}

// protobuf 3.21's JSON errors read "(loc) field: why", "(loc): why" or
// "field: why", where loc is relative to the innermost Any. We rebuild the
// full path and say the rest in a user's words.
base::Failure fromJsonError(const std::string& error, std::string_view source, const Lines& lines) {
  std::string path;
  std::string why = error;
  if (!error.empty() && error.front() == '(') {
    const size_t close = error.find(')');
    if (close != std::string::npos) {
      path = error.substr(1, close - 1);
      std::string rest = error.substr(close + 1);
      if (rest.rfind(": ", 0) == 0) {
        why = rest.substr(2);
      } else if (const size_t colon = rest.find(": "); rest.rfind(' ', 0) == 0 && colon != std::string::npos) {
        path += (path.empty() ? "" : ".") + rest.substr(1, colon - 1);
        why = rest.substr(colon + 2);
      }
    }
  } else if (const size_t colon = error.find(": "); colon != std::string::npos && error.find(' ') > colon) {
    path = error.substr(0, colon);
    why = error.substr(colon + 2);
  }
  // "invalid value 70000 for type TYPE_UINT32" -> "70000 is not an integer in 0..4294967295"
  if (why.rfind("invalid value ", 0) == 0) {
    const size_t for_type = why.rfind(" for type ");
    if (for_type != std::string::npos) {
      why = why.substr(14, for_type - 14) + " is not " + typeWords(why.substr(for_type + 10));
    }
  } else if (why.rfind("Cannot find field", 0) == 0) {
    why = "unknown field (see docs/config/bootstrap.md)";
  }
  // Wrapper types (UInt32Value...) are reported as "<field>.value".
  if (path.ends_with(".value") && !lines.contains(path)) path.resize(path.size() - 6);
  path = fullPath(lines, path);
  base::Failure failure = base::fail(base::Error::kInvalidArgument, path.empty() ? why : path + ": " + why);
  return located(failure, source, lines);
}

}  // namespace

base::Result<std::string> readSmallFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return base::fail(base::Error::kIo, path + ": cannot open: " + std::strerror(errno));
  std::string text;
  char buffer[64 * 1024];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    text.append(buffer, n);
    if (text.size() > kMaxFileBytes) {
      return base::fail(base::Error::kInvalidArgument, path + ": larger than 16 MiB");
    }
  }
  if (std::ferror(file.get())) return base::fail(base::Error::kIo, path + ": cannot read: " + std::strerror(errno));
  return text;
}

base::Result<LoadedBootstrap> loadBootstrapString(std::string_view text, ConfigFormat format, std::string_view source) {
  Lines lines;
  std::string json;
  if (format == ConfigFormat::kYaml) {
    base::Result<base::JsonDocument> doc = base::yamlToJson(text, envoy::config::bootstrap::v3::Bootstrap::descriptor(), source);
    if (!doc) return doc.error();
    json = std::move(doc->json);
    lines = std::move(doc->lines);
  } else {
    json.assign(text);
  }

  LoadedBootstrap loaded;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a typo must fail, naming the field
  const auto parsed = google::protobuf::util::JsonStringToMessage(json, &loaded.proto, options);
  if (!parsed.ok()) {
    return fromJsonError(parsed.message().as_string(), source, lines);
  }
  base::Result<xds::resources::Bootstrap> bootstrap = xds::resources::toBootstrap(loaded.proto);
  if (!bootstrap) return located(bootstrap.error(), source, lines);
  loaded.bootstrap = std::move(*bootstrap);
  base::Result<std::string> dump = bootstrapToJson(loaded.proto);
  if (!dump) return dump.error();
  loaded.json = std::move(*dump);
  return loaded;
}

base::Result<LoadedBootstrap> loadBootstrapFile(const std::string& path) {
  base::Result<std::string> text = readSmallFile(path);
  if (!text) return text.error();
  const bool json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  return loadBootstrapString(*text, json ? ConfigFormat::kJson : ConfigFormat::kYaml, path);
}

base::Result<std::string> bootstrapToJson(const envoy::config::bootstrap::v3::Bootstrap& proto, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;  // the names users wrote, as Envoy's config_dump
  options.add_whitespace = pretty;
  std::string out;
  const auto printed = google::protobuf::util::MessageToJsonString(proto, &out, options);
  if (!printed.ok()) return base::fail(base::Error::kInternal, "config dump: " + printed.message().as_string());
  return out;
}

base::Result<std::string> validateBootstrapFile(const std::string& path) {
  base::Result<LoadedBootstrap> loaded = loadBootstrapFile(path);
  if (!loaded) return loaded.error();
  const auto& b = loaded->bootstrap;
  return path + ": OK (" + std::to_string(b.listeners.size()) + " listener(s), " + std::to_string(b.clusters.size()) +
         " cluster(s))";
}

}  // namespace remora::config
