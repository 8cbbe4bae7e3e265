#include "control-plane/api/object_handlers.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <charconv>

#include "control-plane/mesh/object_codec.h"
#include "control-plane/mesh/validation.h"

namespace remora::cp::api {

namespace {

namespace pb = google::protobuf;
using base::Result;

// Deleting without a version reads the object (to answer with it) and then
// deletes that exact version; a write landing in between makes us read again
// rather than answer with an object that is not the one we removed.
constexpr int kDeleteAttempts = 5;

Result<uint64_t> parseVersion(std::string_view text, std::string_view field) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return base::fail(base::Error::kInvalidArgument,
                      std::string(field) + ": \"" + std::string(text) + "\" is not a resource version");
  }
  return value;
}

std::string mismatch(std::string_view what, std::string_view body_value, std::string_view path_value) {
  return std::string(what) + ": \"" + std::string(body_value) + "\" does not match \"" + std::string(path_value) +
         "\" in the URL";
}

}  // namespace

Result<mesh::ParsedObject> parseWithNamespace(std::string_view json, std::string_view default_namespace) {
  pb::Struct probe;
  if (!pb::util::JsonStringToMessage(std::string(json), &probe).ok()) return mesh::parseObject(json);
  auto metadata = probe.mutable_fields()->find("metadata");
  if (metadata == probe.mutable_fields()->end() || !metadata->second.has_struct_value()) {
    return mesh::parseObject(json);  // parseObject names what is missing
  }
  auto& fields = *metadata->second.mutable_struct_value()->mutable_fields();
  auto namespace_ = fields.find("namespace");
  const bool unset = namespace_ == fields.end() ||
                     (namespace_->second.kind_case() == pb::Value::kStringValue &&
                      namespace_->second.string_value().empty());
  if (!unset) return mesh::parseObject(json);
  fields["namespace"].set_string_value(std::string(default_namespace));
  std::string rewritten;
  if (!pb::util::MessageToJsonString(probe, &rewritten).ok()) return mesh::parseObject(json);
  return mesh::parseObject(rewritten);
}

ApiResponse storedObjectResponse(const store::StoredObject& stored, int status) {
  Result<mesh::ParsedObject> object = mesh::fromStored(stored);
  if (!object) return errorResponse(500, object.error().message);
  return jsonResponse(mesh::objectJson(*object), status);
}

Result<mesh::ParsedObject> ObjectHandlers::parseForPath(mesh::ObjectKind kind, const std::string& namespace_,
                                                        const std::string& name, std::string_view body) {
  Result<mesh::ParsedObject> object = parseWithNamespace(body, namespace_);
  if (!object) return object;
  if (object->kind() != kind) {
    return base::fail(base::Error::kInvalidArgument,
                      "kind: \"" + std::string(mesh::kindName(object->kind())) + "\" does not belong under /" +
                          std::string(mesh::pluralName(kind)) + " (expected \"" +
                          std::string(mesh::kindName(kind)) + "\")");
  }
  if (object->metadata().namespace_() != namespace_) {
    return base::fail(base::Error::kInvalidArgument,
                      mismatch("metadata.namespace", object->metadata().namespace_(), namespace_));
  }
  if (!name.empty() && object->metadata().name() != name) {
    return base::fail(base::Error::kInvalidArgument, mismatch("metadata.name", object->metadata().name(), name));
  }
  std::shared_ptr<const mesh::MeshState> state = mesh_();
  if (base::Status s = mesh::checkReferences(*object, state ? *state : mesh::MeshState{}); !s) return s.error();
  return object;
}

ApiResponse ObjectHandlers::list(mesh::ObjectKind kind, std::string_view namespace_) {
  // Read before listing: the items are at least this new, so a client that
  // lists and then follows changes from `revision` misses nothing.
  const uint64_t revision = store_.revision();
  Result<std::vector<store::StoredObject>> stored = store_.list(mesh::kindName(kind), namespace_);
  if (!stored) return failureResponse(stored.error());
  std::string body = "{\"kind\":\"List\",\"revision\":\"" + std::to_string(revision) + "\",\"items\":[";
  bool first = true;
  for (const store::StoredObject& item : *stored) {
    Result<mesh::ParsedObject> object = mesh::fromStored(item);
    if (!object) return errorResponse(500, object.error().message);
    if (!first) body += ',';
    first = false;
    body += mesh::objectJson(*object);
  }
  body += "]}";
  return jsonResponse(std::move(body));
}

ApiResponse ObjectHandlers::get(mesh::ObjectKind kind, const std::string& namespace_, const std::string& name) {
  Result<store::StoredObject> stored = store_.get({std::string(mesh::kindName(kind)), namespace_, name});
  if (!stored) return failureResponse(stored.error());
  return storedObjectResponse(*stored);
}

ApiResponse ObjectHandlers::create(mesh::ObjectKind kind, const std::string& namespace_, std::string_view body) {
  Result<mesh::ParsedObject> object = parseForPath(kind, namespace_, "", body);
  if (!object) return badRequest(object.error());
  Result<store::StoredObject> stored = store_.create(mesh::storeKey(*object), mesh::storedJson(*object));
  if (!stored) return failureResponse(stored.error());
  return storedObjectResponse(*stored, 201);
}

ApiResponse ObjectHandlers::replace(mesh::ObjectKind kind, const std::string& namespace_, const std::string& name,
                                    std::string_view body) {
  Result<mesh::ParsedObject> object = parseForPath(kind, namespace_, name, body);
  if (!object) return badRequest(object.error());
  const store::ObjectKey key = mesh::storeKey(*object);
  const uint64_t expected = object->metadata().resource_version();
  if (expected == 0) {
    // No version: create-or-replace, and the status says which happened.
    Result<store::StoredObject> created = store_.create(key, mesh::storedJson(*object));
    if (created) return storedObjectResponse(*created, 201);
    if (created.error().code != base::Error::kAlreadyExists) return failureResponse(created.error());
  }
  Result<store::StoredObject> stored = store_.put(key, mesh::storedJson(*object), expected);
  if (!stored) return failureResponse(stored.error());
  return storedObjectResponse(*stored);
}

ApiResponse ObjectHandlers::remove(mesh::ObjectKind kind, const std::string& namespace_, const std::string& name,
                                   const std::optional<std::string>& resource_version) {
  uint64_t wanted = 0;
  if (resource_version) {
    Result<uint64_t> parsed = parseVersion(*resource_version, "resourceVersion");
    if (!parsed) return badRequest(parsed.error());
    wanted = *parsed;
  }
  const store::ObjectKey key{std::string(mesh::kindName(kind)), namespace_, name};
  for (int attempt = 0; attempt < kDeleteAttempts; ++attempt) {
    Result<store::StoredObject> stored = store_.get(key);
    if (!stored) return failureResponse(stored.error());
    base::Status removed = store_.remove(key, wanted != 0 ? wanted : stored->resource_version);
    if (removed) return storedObjectResponse(*stored);
    if (wanted != 0 || removed.code() != base::Error::kConflict) return failureResponse(removed.error());
  }
  return errorResponse(409, store::describeKey(key) + " kept changing while being deleted; try again", "Conflict");
}

}  // namespace remora::cp::api
