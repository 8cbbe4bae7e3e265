#include "control-plane/mesh/object_codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <array>
#include <cassert>
#include <memory>
#include <type_traits>

namespace remora::cp::mesh {

namespace {

namespace pb = google::protobuf;

constexpr std::string_view kApiVersion = "remora.dev/v1";
constexpr std::string_view kTypeUrlPrefix = "type.googleapis.com";
// Indexed by ObjectKind, like mesh_state.cc's kind names.
constexpr std::array<std::string_view, 5> kPlurals = {"services", "endpoints", "trafficpolicies", "routerules",
                                                      "authorizationpolicies"};

// Built once; DescriptorPoolTypeResolver only reads the immutable generated
// pool, so sharing it between the API's threads is safe.
pb::util::TypeResolver& typeResolver() {
  static const std::unique_ptr<pb::util::TypeResolver> resolver(
      pb::util::NewTypeResolverForDescriptorPool(std::string(kTypeUrlPrefix), pb::DescriptorPool::generated_pool()));
  return *resolver;
}

// MessageToJsonString serialises maps in hash order, so the same labels could
// print in two orders and an unchanged apply would look like a change. We go
// through deterministic (key-sorted) binary serialisation instead.
std::string deterministicJson(const pb::Message& message) {
  std::string binary;
  {
    pb::io::StringOutputStream stream(&binary);
    pb::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  std::string json;
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = false;
  options.preserve_proto_field_names = false;
  const std::string type_url = std::string(kTypeUrlPrefix) + "/" + message.GetDescriptor()->full_name();
  auto status = pb::util::BinaryToJsonString(&typeResolver(), type_url, binary, &json, options);
  // Our own generated types always resolve and print; a failure is a bug.
  assert(status.ok());
  (void)status;
  return json;
}

// apiVersion first (as kubectl prints it) although its field number is last:
// the message is printed without it and the member spliced in front.
template <typename T>
std::string printObject(T object, std::string_view kind) {
  object.set_kind(std::string(kind));
  object.clear_api_version();
  std::string body = deterministicJson(object);
  std::string out = "{\"apiVersion\":\"" + std::string(kApiVersion) + "\"";
  if (body.size() > 2) out += ",";
  out.append(body, 1, std::string::npos);
  return out;
}

void clearOutputFields(v1::Metadata& metadata) {
  metadata.clear_resource_version();
  metadata.clear_uid();
  metadata.clear_creation_timestamp();
  metadata.clear_update_timestamp();
}

template <typename T>
base::Result<ParsedObject> readStored(const store::StoredObject& stored) {
  T object;
  pb::util::JsonParseOptions options;
  // Stored by an older or newer binary: a field we do not know is kept out
  // rather than making the whole object unreadable.
  options.ignore_unknown_fields = true;
  if (auto status = pb::util::JsonStringToMessage(stored.spec_json, &object, options); !status.ok()) {
    return base::fail(base::Error::kInvalidArgument,
                      store::describeKey(stored.key) + ": stored JSON does not parse: " + std::string(status.message()));
  }
  v1::Metadata& metadata = *object.mutable_metadata();
  metadata.set_namespace_(stored.key.namespace_);
  metadata.set_name(stored.key.name);
  metadata.set_resource_version(stored.resource_version);
  metadata.set_uid(stored.uid);
  *metadata.mutable_creation_timestamp() = pb::util::TimeUtil::MillisecondsToTimestamp(stored.created_unix_ms);
  *metadata.mutable_update_timestamp() = pb::util::TimeUtil::MillisecondsToTimestamp(stored.updated_unix_ms);
  object.set_kind(stored.key.kind);
  return ParsedObject{std::move(object)};
}

}  // namespace

std::string storedJson(const ParsedObject& object) {
  return std::visit(
      [kind = kindName(object.kind())](const auto& o) {
        auto copy = o;
        clearOutputFields(*copy.mutable_metadata());
        return printObject(std::move(copy), kind);
      },
      object.object);
}

base::Result<ParsedObject> fromStored(const store::StoredObject& stored) {
  std::optional<ObjectKind> kind = kindFromName(stored.key.kind);
  if (!kind) {
    return base::fail(base::Error::kInvalidArgument,
                      store::describeKey(stored.key) + ": kind is not one of " + supportedKindNames());
  }
  switch (*kind) {
    case ObjectKind::kService: return readStored<v1::ServiceObject>(stored);
    case ObjectKind::kEndpoint: return readStored<v1::EndpointObject>(stored);
    case ObjectKind::kTrafficPolicy: return readStored<v1::TrafficPolicyObject>(stored);
    case ObjectKind::kRouteRule: return readStored<v1::RouteRuleObject>(stored);
    case ObjectKind::kAuthorizationPolicy: return readStored<v1::AuthorizationPolicyObject>(stored);
  }
  return base::fail(base::Error::kInternal, "unhandled kind");
}

std::string objectJson(const ParsedObject& object) {
  return std::visit([kind = kindName(object.kind())](const auto& o) { return printObject(o, kind); },
                    object.object);
}

store::ObjectKey storeKey(const ParsedObject& object) {
  return store::ObjectKey{std::string(kindName(object.kind())), object.metadata().namespace_(),
                          object.metadata().name()};
}

std::optional<ObjectKind> kindFromPlural(std::string_view plural) {
  for (size_t i = 0; i < kPlurals.size(); ++i) {
    if (kPlurals[i] == plural) return static_cast<ObjectKind>(i);
  }
  return std::nullopt;
}

std::string_view pluralName(ObjectKind kind) { return kPlurals[static_cast<size_t>(kind)]; }

}  // namespace remora::cp::mesh
