#include "control-plane/cli/manifest.h"

#include <cctype>

#include "control-plane/cli/json_value.h"
#include "xds/base/yaml_to_json.h"

namespace remora::cli {

namespace {

std::string knownKinds() {
  std::string out;
  for (const KindInfo& k : allKinds()) out += (out.empty() ? "" : ", ") + std::string(k.kind);
  return out;
}

base::Result<const google::protobuf::Descriptor*> schemaForKind(const std::string& kind) {
  if (kind.empty()) return base::fail(base::Error::kInvalidArgument, "is required (one of " + knownKinds() + ")");
  const KindInfo* info = kindFromName(kind);
  if (info == nullptr) {
    return base::fail(base::Error::kInvalidArgument,
                      "unknown kind \"" + kind + "\" (expected one of " + knownKinds() + ")");
  }
  return info->schema();
}

// "spec.ports[0].port" -> "spec.ports[0]" -> "spec.ports" -> "spec" -> "".
std::string parentPath(std::string_view path) {
  const size_t cut = path.find_last_of(".[");
  return cut == std::string_view::npos ? std::string() : std::string(path.substr(0, cut));
}

}  // namespace

std::string snakeCasePath(std::string_view path) {
  std::string out;
  out.reserve(path.size() + 4);
  bool in_index = false;
  for (char c : path) {
    if (c == '[') in_index = true;
    if (c == ']') in_index = false;
    if (!in_index && std::isupper(static_cast<unsigned char>(c))) {
      out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<int> Manifest::lineOf(size_t index, std::string_view path) const {
  if (index >= objects.size()) return std::nullopt;
  const ManifestObject& object = objects[index];
  for (std::string p = snakeCasePath(path); !p.empty(); p = parentPath(p)) {
    auto it = object.lines.find(p);
    if (it != object.lines.end()) return it->second;
  }
  return object.line;
}

base::Result<Manifest> parseManifest(std::string_view text, std::string_view source) {
  Manifest manifest;
  manifest.source = source == "-" ? "<stdin>" : std::string(source);
  auto objects = base::yamlObjectsToJson(text, schemaForKind, manifest.source);
  if (!objects) return objects.error();
  if (objects->empty()) {
    return base::fail(base::Error::kInvalidArgument, manifest.source + ": no objects to apply (the file is empty)");
  }
  for (base::YamlObject& object : *objects) {
    base::Result<JsonValue> value = parseJson(object.document.json);
    if (!value) {
      return base::fail(base::Error::kInvalidArgument,
                        manifest.source + ":" + std::to_string(object.line) + ": " + value.error().message);
    }
    ManifestObject out;
    out.kind = kindFromName(scalarText(member(&*value, "kind")));
    out.name = scalarText(at(&*value, {"metadata", "name"}));
    out.namespace_ = scalarText(at(&*value, {"metadata", "namespace"}));
    out.json = std::move(object.document.json);
    out.line = object.line;
    out.lines = std::move(object.document.lines);
    manifest.objects.push_back(std::move(out));
  }
  return manifest;
}

std::string batchJson(const Manifest& manifest) {
  std::string out = "[";
  for (size_t i = 0; i < manifest.objects.size(); ++i) {
    if (i > 0) out += ",";
    out += manifest.objects[i].json;
  }
  return out + "]";
}

}  // namespace remora::cli
