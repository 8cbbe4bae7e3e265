// Conversions shared by the listener, route and cluster converters: durations,
// socket addresses, header mutations, regexes, and the reflection check that
// turns "a field we define but do not implement is set" into kUnsupported.
//
// Pure functions over protos and model values; any thread.
#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/repeated_ptr_field.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "envoy/config/core/v3/address.pb.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/type/matcher/v3/regex.pb.h"
#include "envoy/type/matcher/v3/string.pb.h"
#include "xds/base/status.h"
#include "xds/resources/field_path.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

// Fails with kUnsupported naming the first field that is set in `message` but
// not listed in `supported` (proto field names). Every converter calls this
// first, so a field added to our protos is refused until a converter reads it,
// never silently dropped.
base::Status onlySupportedFields(const google::protobuf::Message& message, std::string_view path,
                                 std::initializer_list<std::string_view> supported);

// A non-negative duration in milliseconds. A positive duration under 1 ms
// rounds up to 1 ms, because 0 means "disabled" for most of our timeouts.
base::Result<Millis> toMillis(const google::protobuf::Duration& duration, std::string_view path);

// A duration that must be more than 0 (intervals, ejection times, timeouts
// where 0 would mean "never").
base::Result<Millis> toPositiveMillis(const google::protobuf::Duration& duration, std::string_view path);

// A percentage, 0..100 (envoy.type.v3.Percent's rule).
base::Result<double> toPercent(double value, std::string_view path);

// A uint32 percentage field, 0..100 (outlier detection's enforcing_* and the like).
base::Status checkPercent(uint32_t value, std::string_view path);

// Whether port 0 is acceptable: a listener may ask the kernel for a port (the
// integration tests do), an upstream endpoint may not.
enum class PortPolicy { kAllowZero, kNonZero };

// A literal IPv4/IPv6 address and a port. Names, pipes, named ports and UDP are
// refused (remora-proxy resolves no DNS and listens on TCP only).
base::Result<SocketAddress> toSocketAddress(const envoy::config::core::v3::Address& address, std::string_view path,
                                            PortPolicy port_policy);

// Header names are RFC 9110 tokens; returned lower-cased.
base::Result<std::string> toHeaderName(std::string_view name, std::string_view path);

// request/response_headers_to_add, with Envoy's append semantics: append
// defaults to true, append_action OVERWRITE_IF_EXISTS_OR_ADD means replace.
base::Result<std::vector<HeaderValueOption>> toHeadersToAdd(
    const google::protobuf::RepeatedPtrField<envoy::config::core::v3::HeaderValueOption>& options,
    std::string_view path);

// request/response_headers_to_remove: names, lower-cased; pseudo-headers and
// Host may not be removed.
base::Result<std::vector<std::string>> toHeadersToRemove(const google::protobuf::RepeatedPtrField<std::string>& names,
                                                         std::string_view path);

// A RE2 regex that compiles; returned as written.
base::Result<std::string> toRegex(const envoy::type::matcher::v3::RegexMatcher& matcher, std::string_view path);

// A StringMatcher (exact, prefix, suffix, contains, safe_regex; ignore_case
// but not with a regex); the value must not be empty.
base::Result<StringMatch> toStringMatch(const envoy::type::matcher::v3::StringMatcher& matcher, std::string_view path);

// The "@type" of an Any without its "type.googleapis.com/" prefix.
std::string_view anyTypeName(std::string_view type_url);

}  // namespace remora::xds::resources
