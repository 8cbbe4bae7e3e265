#include "control-plane/cli/inject.h"

#include <cctype>

#include "control-plane/cli/sidecar_spec.h"
#include "xds/base/yaml_to_json.h"

namespace remora::cli {

namespace {

using base::Error;
using base::fail;

// Where a kind keeps its pod template; nullopt for kinds without one.
struct TemplateLocation {
  std::vector<std::string_view> keys;  // from the object's root
  std::string path;                    // the same, as messages print it
};

std::optional<TemplateLocation> templateLocation(std::string_view kind) {
  if (kind == "Pod") return TemplateLocation{{}, ""};
  if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "ReplicaSet" ||
      kind == "ReplicationController" || kind == "Job") {
    return TemplateLocation{{"spec", "template"}, "spec.template"};
  }
  if (kind == "CronJob") {
    return TemplateLocation{{"spec", "jobTemplate", "spec", "template"}, "spec.jobTemplate.spec.template"};
  }
  return std::nullopt;
}

// The member `key` of an object value, created (as an empty object) when
// absent or not an object, so the caller can fill it.
JsonValue& objectMember(JsonValue& value, std::string_view key) {
  JsonValue& child = (*value.mutable_struct_value()->mutable_fields())[std::string(key)];
  if (!child.has_struct_value()) child.mutable_struct_value();
  return child;
}

JsonValue* mutableMember(JsonValue& value, std::string_view key) {
  if (!value.has_struct_value()) return nullptr;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  auto it = fields.find(std::string(key));
  return it == fields.end() ? nullptr : &it->second;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Prepends the sidecar's two init containers (remora-init first: the rules
// exist before the proxy starts; both before the app's own init containers,
// whose traffic is captured too and so needs the proxy), adds the volumes and
// marks the template.
void addSidecar(JsonValue& pod_template_metadata, JsonValue& spec, const PodSettings& settings,
                const InjectOptions& options) {
  JsonValue init_containers;
  auto* items = init_containers.mutable_list_value()->mutable_values();
  *items->Add() = captureInitContainer(settings, options);
  *items->Add() = proxySidecarContainer(settings, options);
  for (const JsonValue& existing : listItems(member(&spec, "initContainers"))) *items->Add() = existing;
  (*spec.mutable_struct_value()->mutable_fields())["initContainers"] = std::move(init_containers);

  JsonValue& volumes = (*spec.mutable_struct_value()->mutable_fields())["volumes"];
  if (!volumes.has_list_value()) volumes.mutable_list_value();
  for (JsonValue& volume : sidecarVolumes(settings)) *volumes.mutable_list_value()->add_values() = std::move(volume);

  objectMember(objectMember(pod_template_metadata, "annotations"), "remora.io/injected")
      .set_string_value(std::string(kInjectVersion));
}

// Injects one object in place; returns its report line ("" for non-workloads).
base::Result<std::string> injectObject(JsonValue& object, const InjectOptions& options) {
  const std::string kind = scalarText(member(&object, "kind"));
  const std::string name = scalarText(at(&object, {"metadata", "name"}));
  const std::optional<TemplateLocation> location = templateLocation(kind);
  if (!location) return std::string();
  const std::string label = lowercase(kind) + "/" + name;

  JsonValue* pod_template = &object;
  for (std::string_view key : location->keys) {
    pod_template = mutableMember(*pod_template, key);
    if (pod_template == nullptr || !pod_template->has_struct_value()) {
      return fail(Error::kInvalidArgument, location->path + ": missing (a " + kind + " needs a pod template)");
    }
  }
  const JsonValue* spec = member(pod_template, "spec");
  auto decision = decideInjection(member(pod_template, "metadata"), spec, location->path);
  if (!decision) return decision.error();
  switch (*decision) {
    case InjectDecision::kAlreadyInjected: return label + " unchanged (remora.io/injected is set)";
    case InjectDecision::kOptedOut: return label + " skipped (remora.io/inject: \"false\")";
    case InjectDecision::kHostNetwork:
      return label + " skipped (hostNetwork: true; capture rules would change the node's network)";
    case InjectDecision::kInject: break;
  }
  const std::string spec_path = location->path.empty() ? "spec" : location->path + ".spec";
  if (spec == nullptr || !spec->has_struct_value()) {
    return fail(Error::kInvalidArgument, spec_path + ": missing (the pod template has no spec)");
  }
  auto settings = readPodSettings(member(pod_template, "metadata"), *spec, name, location->path);
  if (!settings) return settings.error();
  addSidecar(objectMember(*pod_template, "metadata"), objectMember(*pod_template, "spec"), *settings, options);
  return label + " injected";
}

std::string documentLabel(size_t index, const base::YamlObject& object, const JsonValue& value) {
  std::string label = "document " + std::to_string(index + 1) + " (line " + std::to_string(object.line);
  const std::string kind = scalarText(member(&value, "kind"));
  const std::string name = scalarText(at(&value, {"metadata", "name"}));
  if (!kind.empty()) label += ", " + kind + (name.empty() ? "" : "/" + name);
  return label + ")";
}

std::string render(const std::vector<JsonValue>& objects, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    if (objects.size() == 1) return toJson(objects.front());
    // Several objects in JSON: kubectl's List, which `kubectl apply` takes.
    JsonValue list;
    auto& fields = *list.mutable_struct_value()->mutable_fields();
    fields["apiVersion"].set_string_value("v1");
    fields["kind"].set_string_value("List");
    auto* items = fields["items"].mutable_list_value();
    for (const JsonValue& object : objects) *items->add_values() = object;
    return toJson(list);
  }
  std::string out;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i > 0) out += "---\n";
    out += toYaml(objects[i]);
  }
  return out;
}

}  // namespace

base::Result<InjectedManifest> injectManifest(std::string_view text, const InjectOptions& options,
                                              std::string_view source) {
  if (auto status = checkInjectOptions(options); !status) return status.error();
  // No schema: Kubernetes objects are not in our descriptor pool, so scalars
  // are typed by their looks (YAML 1.2 core schema); quoted ones stay strings.
  auto documents = base::yamlObjectsToJson(
      text, [](const std::string&) -> base::Result<const google::protobuf::Descriptor*> { return nullptr; },
      source == "-" ? "<stdin>" : source);
  if (!documents) return documents.error();
  if (documents->empty()) return fail(Error::kInvalidArgument, "no Kubernetes objects in the input");

  InjectedManifest result;
  std::vector<JsonValue> objects;
  for (size_t i = 0; i < documents->size(); ++i) {
    const base::YamlObject& document = (*documents)[i];
    auto value = parseJson(document.document.json);
    if (!value) return fail(Error::kInvalidArgument, documentLabel(i, document, JsonValue()) + ": " + value.error().message);
    if (!value->has_struct_value()) {
      return fail(Error::kInvalidArgument,
                  documentLabel(i, document, *value) + ": not a Kubernetes object (a mapping with apiVersion and kind)");
    }
    if (scalarText(member(&*value, "kind")).empty()) {
      return fail(Error::kInvalidArgument, documentLabel(i, document, *value) + ": kind: missing");
    }
    const std::string label = documentLabel(i, document, *value);
    auto line = injectObject(*value, options);
    if (!line) return fail(Error::kInvalidArgument, label + ": " + line.error().message);
    if (!line->empty()) result.report.push_back(std::move(*line));
    objects.push_back(std::move(*value));
  }
  result.text = render(objects, options.format);
  return result;
}

int runInject(const std::string& file, const InjectOptions& options, CommandOutput& output) {
  if (auto status = checkInjectOptions(options); !status) {
    output.err += "error: " + status.error().message + " (see --help)\n";
    return kExitUsage;
  }
  auto text = readManifestFile(file);
  if (!text) {
    output.err += text.error().message + "\n";
    return kExitError;
  }
  auto injected = injectManifest(*text, options, file);
  if (!injected) {
    output.err += "error: " + injected.error().message + "\n";
    return kExitError;
  }
  output.out += injected->text;
  for (const std::string& line : injected->report) output.err += line + "\n";
  return kExitOk;
}

}  // namespace remora::cli
