// Field-by-field checks of each kind's spec and of metadata, used by
// parseObject (validation.h). Each returns kInvalidArgument naming the JSON
// path ("spec.routes[0].split[1].weight: ...") of the first bad field.
//
// Internal to control-plane/mesh, except isIpLiteral and parseIpPort, which
// remora-cp's flag parsing (control-plane/main) shares. Pure; any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "remora/mesh/v1/mesh.pb.h"
#include "xds/base/status.h"

#include <google/protobuf/duration.pb.h>

namespace remora::cp::mesh {

// "path: why" as kInvalidArgument.
base::Failure invalidAt(std::string_view path, std::string_view why);
// A Duration field that is set must not be negative (and, when
// `must_be_positive`, not zero); an unset one passes.
base::Status checkDuration(bool has, const google::protobuf::Duration& duration, std::string_view path,
                           bool must_be_positive);
// "base.field" / "base[index]".
std::string pathOf(std::string_view base, std::string_view field);
std::string pathOf(std::string_view base, int index);

// Lower-case letters, digits and '-', starting and ending with a letter or
// digit, 1..63 characters (Kubernetes' DNS-1123 label).
bool isDnsLabel(std::string_view value);
// An HTTP header name in lower case (RFC 9110 token characters).
bool isHeaderName(std::string_view name);
// An IPv4 or IPv6 literal.
bool isIpLiteral(const std::string& address);
// The literal as inet_ntop prints it ("fd00:0::1" -> "fd00::1"), so two
// spellings of one address compare equal; empty when not an IP literal.
std::string canonicalIp(const std::string& address);
// "10.0.0.1:8080" or "[::1]:0" -> {host without brackets, port 0..65535}.
// Fails with kInvalidArgument and a message without a field path
// ("\"localhost\" is not an IP address").
base::Result<std::pair<std::string, uint32_t>> parseIpPort(std::string_view text);

base::Status checkMetadata(::remora::mesh::v1::Metadata& metadata, std::string_view path);
base::Status checkLabels(const google::protobuf::Map<std::string, std::string>& labels, std::string_view path);
base::Status checkServiceSpec(const ::remora::mesh::v1::Service& spec, std::string_view path);
base::Status checkEndpointSpec(const ::remora::mesh::v1::Endpoint& spec, std::string_view path);
base::Status checkTrafficPolicySpec(const ::remora::mesh::v1::TrafficPolicy& spec, std::string_view path);
base::Status checkRouteRuleSpec(const ::remora::mesh::v1::RouteRule& spec, std::string_view path);
base::Status checkAuthorizationPolicySpec(const ::remora::mesh::v1::AuthorizationPolicy& spec,
                                          std::string_view path);

}  // namespace remora::cp::mesh
