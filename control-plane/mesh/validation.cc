#include "control-plane/mesh/validation.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <string>

#include "control-plane/mesh/spec_checks.h"

namespace remora::cp::mesh {

using base::Result;
using base::Status;

namespace {

constexpr std::string_view kApiVersion = "remora.dev/v1";

// protobuf's parser says "(spec.ports[0]) colour: Cannot find field.";
// rewritten to our "path: why" shape, "spec.ports[0].colour: unknown field".
// Other parser messages are passed on as they are.
std::string parserMessage(const google::protobuf::util::Status& status) {
  std::string message(status.message());
  constexpr std::string_view kUnknown = ": Cannot find field.";
  if (message.size() > kUnknown.size() && message.ends_with(kUnknown)) {
    std::string where = message.substr(0, message.size() - kUnknown.size());
    std::string parent;
    if (where.starts_with("(")) {
      const size_t close = where.find(") ");
      if (close != std::string::npos) {
        parent = where.substr(1, close - 1);
        where = where.substr(close + 2);
      }
    }
    return (parent.empty() ? where : parent + "." + where) + ": unknown field";
  }
  return message;
}

// Reads `kind` without knowing the schema yet: any JSON object parses as a Struct.
Result<ObjectKind> probeKind(const std::string& json) {
  google::protobuf::Struct probe;
  if (auto status = google::protobuf::util::JsonStringToMessage(json, &probe); !status.ok()) {
    return base::fail(base::Error::kInvalidArgument, "malformed JSON: " + parserMessage(status));
  }
  auto it = probe.fields().find("kind");
  if (it == probe.fields().end() || it->second.kind_case() != google::protobuf::Value::kStringValue) {
    return invalidAt("kind", "is required; one of " + supportedKindNames());
  }
  std::optional<ObjectKind> kind = kindFromName(it->second.string_value());
  if (!kind) {
    return invalidAt("kind", "\"" + it->second.string_value() + "\" is not supported; one of " +
                                 supportedKindNames());
  }
  return *kind;
}

template <typename T>
Result<T> parseAs(const std::string& json) {
  T message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a misspelled field must not be silently dropped
  if (auto status = google::protobuf::util::JsonStringToMessage(json, &message, options); !status.ok()) {
    return base::fail(base::Error::kInvalidArgument, parserMessage(status));
  }
  return message;
}

Status checkSpec(const v1::ServiceObject& o) { return checkServiceSpec(o.spec(), "spec"); }
Status checkSpec(const v1::EndpointObject& o) { return checkEndpointSpec(o.spec(), "spec"); }
Status checkSpec(const v1::TrafficPolicyObject& o) { return checkTrafficPolicySpec(o.spec(), "spec"); }
Status checkSpec(const v1::RouteRuleObject& o) { return checkRouteRuleSpec(o.spec(), "spec"); }
Status checkSpec(const v1::AuthorizationPolicyObject& o) { return checkAuthorizationPolicySpec(o.spec(), "spec"); }

template <typename T>
Result<ParsedObject> parseKind(const std::string& json) {
  Result<T> object = parseAs<T>(json);
  if (!object) return object.error();
  if (!object->api_version().empty() && object->api_version() != kApiVersion) {
    return invalidAt("api_version", "\"" + object->api_version() + "\" is not " + std::string(kApiVersion));
  }
  if (!object->has_spec()) return invalidAt("spec", "is required");
  if (Status s = checkMetadata(*object->mutable_metadata(), "metadata"); !s) return s.error();
  if (Status s = checkSpec(*object); !s) return s.error();
  return ParsedObject{std::move(*object)};
}

std::string serviceRef(const std::string& namespace_, const std::string& name) {
  return "service '" + namespace_ + "/" + name + "'";
}

// The named service, or kNotFound at `path`.
Result<const v1::ServiceObject*> requireService(const MeshState& state, const std::string& namespace_,
                                                const std::string& name, std::string_view path) {
  const v1::ServiceObject* service = state.findService(namespace_, name);
  if (service == nullptr) {
    return base::fail(base::Error::kNotFound,
                      std::string(path) + ": " + serviceRef(namespace_, name) + " does not exist");
  }
  return service;
}

Status checkEndpointPort(const v1::EndpointObject& endpoint, const v1::Service& service) {
  const v1::Endpoint& spec = endpoint.spec();
  const std::string ref = serviceRef(endpoint.metadata().namespace_(), spec.service());
  if (!spec.port_name().empty()) {
    for (const v1::ServicePort& port : service.ports()) {
      if (port.name() == spec.port_name()) return Status::ok();
    }
    return invalidAt("spec.port_name", ref + " has no port named \"" + spec.port_name() + "\"");
  }
  if (service.ports_size() == 1) return Status::ok();
  for (const v1::ServicePort& port : service.ports()) {
    const uint32_t target = port.target_port() != 0 ? port.target_port() : port.port();
    if (target == spec.port()) return Status::ok();
  }
  return invalidAt("spec.port", std::to_string(spec.port()) + " is not a target port of " + ref +
                                    "; set port_name to choose the service port");
}

bool hasHttpPort(const v1::Service& service) {
  for (const v1::ServicePort& port : service.ports()) {
    if (port.protocol() != v1::ServicePort::TCP) return true;
  }
  return false;
}

}  // namespace

Result<ParsedObject> parseObject(std::string_view json) {
  const std::string text(json);
  Result<ObjectKind> kind = probeKind(text);
  if (!kind) return kind.error();
  switch (*kind) {
    case ObjectKind::kService: return parseKind<v1::ServiceObject>(text);
    case ObjectKind::kEndpoint: return parseKind<v1::EndpointObject>(text);
    case ObjectKind::kTrafficPolicy: return parseKind<v1::TrafficPolicyObject>(text);
    case ObjectKind::kRouteRule: return parseKind<v1::RouteRuleObject>(text);
    case ObjectKind::kAuthorizationPolicy: return parseKind<v1::AuthorizationPolicyObject>(text);
  }
  return base::fail(base::Error::kInternal, "unhandled kind");
}

Status checkReferences(const ParsedObject& object, const MeshState& state) {
  const std::string& namespace_ = object.metadata().namespace_();
  return std::visit(
      [&](const auto& o) -> Status {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, v1::ServiceObject>) {
          return Status::ok();
        } else {
          auto service = requireService(state, namespace_, o.spec().service(), "spec.service");
          if (!service) return service.error();
          if constexpr (std::is_same_v<T, v1::EndpointObject>) {
            return checkEndpointPort(o, (*service)->spec());
          } else if constexpr (std::is_same_v<T, v1::RouteRuleObject>) {
            if (!hasHttpPort((*service)->spec())) {
              return invalidAt("spec.service", serviceRef(namespace_, o.spec().service()) +
                                                   " has only TCP ports; routes need an HTTP, HTTP2 or GRPC port");
            }
          }
          return Status::ok();
        }
      },
      object.object);
}

Result<ParsedObject> parseObject(std::string_view json, const MeshState& state) {
  Result<ParsedObject> object = parseObject(json);
  if (!object) return object;
  if (Status s = checkReferences(*object, state); !s) return s.error();
  return object;
}

}  // namespace remora::cp::mesh
