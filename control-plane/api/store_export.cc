#include "control-plane/api/store_export.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <memory>
#include <optional>

#include "control-plane/ca/token_store.h"
#include "control-plane/mesh/object_codec.h"
#include "control-plane/mesh/validation.h"
#include "xds/base/json_string.h"

namespace remora::cp::api {

namespace {

namespace pb = google::protobuf;
using base::Result;

constexpr std::string_view kApiVersion = "remora.dev/v1";
constexpr std::string_view kDocumentKind = "StoreExport";
constexpr std::string_view kTypeUrlPrefix = "type.googleapis.com";

pb::util::TypeResolver& typeResolver() {
  // Reads only the immutable generated pool: safe to share between threads.
  static const std::unique_ptr<pb::util::TypeResolver> resolver(
      pb::util::NewTypeResolverForDescriptorPool(std::string(kTypeUrlPrefix), pb::DescriptorPool::generated_pool()));
  return *resolver;
}

// A Struct printed with its keys sorted: MessageToJsonString prints maps in
// hash order, and two exports of one store should be byte-identical (diffable
// backups).
std::string sortedJson(const pb::Struct& value) {
  std::string binary;
  {
    pb::io::StringOutputStream stream(&binary);
    pb::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    value.SerializeToCodedStream(&coded);
  }
  std::string json;
  const std::string type_url = std::string(kTypeUrlPrefix) + "/" + pb::Struct::descriptor()->full_name();
  if (!pb::util::BinaryToJsonString(&typeResolver(), type_url, binary, &json).ok()) {
    (void)pb::util::MessageToJsonString(value, &json);  // cannot happen for a Struct; still valid JSON
  }
  return json;
}

std::string timestamp(int64_t unix_ms) {
  return pb::util::TimeUtil::ToString(pb::util::TimeUtil::MillisecondsToTimestamp(unix_ms));
}

bool isMeshKind(std::string_view kind) { return mesh::kindFromName(kind).has_value(); }

// The spec (and labels) an export shows for one stored object.
struct ExportedSpec {
  pb::Struct spec;
  std::optional<pb::Struct> labels;
};

Result<ExportedSpec> exportedSpec(const store::StoredObject& object) {
  pb::Struct stored;
  if (!pb::util::JsonStringToMessage(object.spec_json, &stored).ok()) {
    return base::fail(base::Error::kInvalidArgument,
                      store::describeKey(object.key) + ": the stored JSON is not a JSON object; the store is damaged");
  }
  ExportedSpec out;
  if (!isMeshKind(object.key.kind)) {
    out.spec = std::move(stored);
    return out;
  }
  // A mesh object is stored whole (apiVersion, kind, metadata, spec); the
  // export carries only what is not already in the entry's own fields.
  const auto& fields = stored.fields();
  if (auto spec = fields.find("spec"); spec != fields.end() && spec->second.has_struct_value()) {
    out.spec = spec->second.struct_value();
  }
  if (auto metadata = fields.find("metadata"); metadata != fields.end() && metadata->second.has_struct_value()) {
    const auto& meta = metadata->second.struct_value().fields();
    auto labels = meta.find("labels");
    if (labels != meta.end() && labels->second.has_struct_value() && labels->second.struct_value().fields_size() > 0) {
      out.labels = labels->second.struct_value();
    }
  }
  return out;
}

// ---- import ----------------------------------------------------------------

std::string at(size_t index) { return "objects[" + std::to_string(index) + "]"; }

base::Failure invalid(std::string message) { return base::fail(base::Error::kInvalidArgument, std::move(message)); }

// An entry's string member: nullopt when absent, an error when not a string.
Result<std::optional<std::string>> stringField(const pb::Struct& entry, const std::string& name,
                                               const std::string& where) {
  auto it = entry.fields().find(name);
  if (it == entry.fields().end() || it->second.has_null_value()) return std::optional<std::string>();
  if (!it->second.has_string_value()) return invalid(where + "." + name + ": must be a string");
  return std::optional<std::string>(it->second.string_value());
}

Result<std::string> requiredString(const pb::Struct& entry, const std::string& name, const std::string& where) {
  auto value = stringField(entry, name, where);
  if (!value) return value.error();
  if (!*value || (*value)->empty()) return invalid(where + "." + name + ": required");
  return std::move(**value);
}

Result<int64_t> timeField(const pb::Struct& entry, const std::string& name, const std::string& where) {
  auto text = requiredString(entry, name, where);
  if (!text) return text.error();
  pb::Timestamp parsed;
  if (!pb::util::TimeUtil::FromString(*text, &parsed)) {
    return invalid(where + "." + name + ": \"" + *text + "\" is not an RFC 3339 time");
  }
  return pb::util::TimeUtil::TimestampToMilliseconds(parsed);
}

Result<const pb::Struct*> structField(const pb::Struct& entry, const std::string& name, const std::string& where,
                                      bool required) {
  auto it = entry.fields().find(name);
  if (it == entry.fields().end() || it->second.has_null_value()) {
    if (required) return invalid(where + "." + name + ": required");
    return static_cast<const pb::Struct*>(nullptr);
  }
  if (!it->second.has_struct_value()) return invalid(where + "." + name + ": must be an object");
  return &it->second.struct_value();
}

// parseObject names fields as the API's objects have them ("metadata.name");
// an export entry has them at the top ("name").
std::string entryField(std::string message) {
  for (std::string_view member : {"name", "namespace", "labels"}) {
    const std::string nested = "metadata." + std::string(member);
    if (message.starts_with(nested)) return message.substr(9);
  }
  return message;
}

// The stored form of a mesh object, through the API's own validation.
Result<std::string> meshSpecJson(const std::string& kind, const std::string& namespace_, const std::string& name,
                                 const pb::Struct& spec, const pb::Struct* labels, const std::string& where) {
  if (namespace_.empty()) return invalid(where + ".namespace: required for a " + kind);
  pb::Struct object;
  auto& fields = *object.mutable_fields();
  fields["apiVersion"].set_string_value(std::string(kApiVersion));
  fields["kind"].set_string_value(kind);
  auto& metadata = *fields["metadata"].mutable_struct_value()->mutable_fields();
  metadata["name"].set_string_value(name);
  metadata["namespace"].set_string_value(namespace_);
  if (labels) *metadata["labels"].mutable_struct_value() = *labels;
  *fields["spec"].mutable_struct_value() = spec;
  Result<mesh::ParsedObject> parsed = mesh::parseObject(sortedJson(object));
  if (!parsed) {
    const std::string message = entryField(parsed.error().message);
    return invalid(fieldOf(message) ? where + "." + message : where + ": " + message);
  }
  return mesh::storedJson(*parsed);
}

Result<store::StoredObject> parseEntry(const pb::Value& value, size_t index) {
  const std::string where = at(index);
  if (!value.has_struct_value()) return invalid(where + ": must be an object");
  const pb::Struct& entry = value.struct_value();

  store::StoredObject object;
  auto kind = requiredString(entry, "kind", where);
  if (!kind) return kind.error();
  if (!isMeshKind(*kind) && !ca::isInternalKind(*kind)) {
    return invalid(where + ".kind: \"" + *kind + "\" is not a kind the store keeps; one of " +
                   mesh::supportedKindNames() + ", " + std::string(ca::kJoinTokenKind) + ", " +
                   std::string(ca::kIssuedCertificateKind));
  }
  auto namespace_ = stringField(entry, "namespace", where);
  if (!namespace_) return namespace_.error();
  auto name = requiredString(entry, "name", where);
  if (!name) return name.error();
  auto uid = requiredString(entry, "uid", where);
  if (!uid) return uid.error();
  auto created = timeField(entry, "createdAt", where);
  if (!created) return created.error();
  auto updated = timeField(entry, "updatedAt", where);
  if (!updated) return updated.error();
  auto spec = structField(entry, "spec", where, true);
  if (!spec) return spec.error();
  auto labels = structField(entry, "labels", where, false);
  if (!labels) return labels.error();

  object.key = {std::move(*kind), namespace_->value_or(""), std::move(*name)};
  object.uid = std::move(*uid);
  object.created_unix_ms = *created;
  object.updated_unix_ms = *updated;
  if (isMeshKind(object.key.kind)) {
    auto json = meshSpecJson(object.key.kind, object.key.namespace_, object.key.name, **spec, *labels, where);
    if (!json) return json.error();
    object.spec_json = std::move(*json);
  } else {
    if (*labels) return invalid(where + ".labels: a " + object.key.kind + " has no labels");
    object.spec_json = sortedJson(**spec);
  }
  return object;
}

}  // namespace

Result<std::string> exportDocument(const std::vector<store::StoredObject>& objects, uint64_t revision,
                                   int64_t exported_unix_ms) {
  std::string out = "{\"apiVersion\":\"" + std::string(kApiVersion) + "\",\"kind\":\"" + std::string(kDocumentKind) +
                    "\",\"revision\":\"" + std::to_string(revision) + "\",\"exportedAt\":\"" +
                    timestamp(exported_unix_ms) + "\",\"objects\":[";
  for (size_t i = 0; i < objects.size(); ++i) {
    const store::StoredObject& object = objects[i];
    Result<ExportedSpec> spec = exportedSpec(object);
    if (!spec) return spec.error();
    if (i > 0) out += ',';
    out += "\n{\"kind\":";
    base::appendJsonString(out, object.key.kind);
    out += ",\"namespace\":";
    base::appendJsonString(out, object.key.namespace_);
    out += ",\"name\":";
    base::appendJsonString(out, object.key.name);
    out += ",\"uid\":";
    base::appendJsonString(out, object.uid);
    out += ",\"createdAt\":\"" + timestamp(object.created_unix_ms) + "\",\"updatedAt\":\"" +
           timestamp(object.updated_unix_ms) + "\",\"resourceVersion\":\"" +
           std::to_string(object.resource_version) + "\"";
    if (spec->labels) out += ",\"labels\":" + sortedJson(*spec->labels);
    out += ",\"spec\":" + sortedJson(spec->spec) + "}";
  }
  out += "]}\n";
  return out;
}

Result<std::vector<store::StoredObject>> parseExportDocument(std::string_view json) {
  pb::Struct document;
  if (auto status = pb::util::JsonStringToMessage(std::string(json), &document); !status.ok()) {
    return invalid("malformed JSON: " + std::string(status.message()));
  }
  auto api_version = stringField(document, "apiVersion", "document");
  if (!api_version) return api_version.error();
  if (api_version->value_or("") != kApiVersion) {
    return invalid("apiVersion: \"" + api_version->value_or("") + "\" is not " + std::string(kApiVersion));
  }
  auto kind = stringField(document, "kind", "document");
  if (!kind) return kind.error();
  if (kind->value_or("") != kDocumentKind) {
    return invalid("kind: \"" + kind->value_or("") + "\" is not " + std::string(kDocumentKind) +
                   " (the output of GET /api/v1/store/export)");
  }
  auto objects = document.fields().find("objects");
  if (objects == document.fields().end() || !objects->second.has_list_value()) {
    return invalid("objects: must be an array");
  }
  std::vector<store::StoredObject> out;
  const pb::ListValue& list = objects->second.list_value();
  out.reserve(static_cast<size_t>(list.values_size()));
  for (int i = 0; i < list.values_size(); ++i) {
    Result<store::StoredObject> object = parseEntry(list.values(i), static_cast<size_t>(i));
    if (!object) return object.error();
    out.push_back(std::move(*object));
  }
  return out;
}

ApiResponse exportStore(store::Store& store, int64_t now_unix_ms) {
  // Read before listing, as the list endpoint does: the objects are at least
  // this new.
  const uint64_t revision = store.revision();
  Result<std::vector<store::StoredObject>> objects = store.list("", "");
  if (!objects) return failureResponse(objects.error());
  Result<std::string> document = exportDocument(*objects, revision, now_unix_ms);
  if (!document) return errorResponse(500, document.error().message);
  return jsonResponse(std::move(*document));
}

ApiResponse importStore(store::Store& store, std::string_view body) {
  Result<std::vector<store::StoredObject>> objects = parseExportDocument(body);
  if (!objects) return badRequest(objects.error());
  if (base::Status restored = store.restore(*objects); !restored) return failureResponse(restored.error());
  return jsonResponse("{\"imported\":" + std::to_string(objects->size()) + ",\"revision\":\"" +
                      std::to_string(store.revision()) + "\"}");
}

}  // namespace remora::cp::api
