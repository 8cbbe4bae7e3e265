#include "xds/resources/common_converters.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace remora::xds::resources {

namespace pb = google::protobuf;
namespace core = envoy::config::core::v3;
using base::Result;
using base::Status;

Status onlySupportedFields(const pb::Message& message, std::string_view path,
                           std::initializer_list<std::string_view> supported) {
  std::vector<const pb::FieldDescriptor*> set_fields;
  message.GetReflection()->ListFields(message, &set_fields);
  for (const pb::FieldDescriptor* field : set_fields) {
    const std::string& name = field->name();
    if (std::find(supported.begin(), supported.end(), name) == supported.end()) {
      return unsupportedField(fieldPath(path, name));
    }
  }
  return Status::ok();
}

Result<Millis> toMillis(const pb::Duration& duration, std::string_view path) {
  if (duration.seconds() < 0 || duration.nanos() < 0) {
    return invalidField(path, "must not be negative");
  }
  // Durations from JSON are bounded to ~10,000 years, so this cannot overflow.
  int64_t millis = duration.seconds() * 1000 + duration.nanos() / 1000000;
  if (millis == 0 && duration.nanos() > 0) millis = 1;
  return Millis(millis);
}

Result<Millis> toPositiveMillis(const pb::Duration& duration, std::string_view path) {
  Result<Millis> millis = toMillis(duration, path);
  if (!millis) return millis;
  if (millis->count() == 0) return invalidField(path, "must be more than 0");
  return millis;
}

Result<double> toPercent(double value, std::string_view path) {
  // !(a <= b) also refuses NaN.
  if (!(value >= 0.0 && value <= 100.0)) return invalidField(path, std::to_string(value) + " is out of range 0..100");
  return value;
}

Status checkPercent(uint32_t value, std::string_view path) {
  if (value > 100) return invalidField(path, std::to_string(value) + " is out of range 0..100");
  return Status::ok();
}

Result<SocketAddress> toSocketAddress(const core::Address& address, std::string_view path, PortPolicy port_policy) {
  if (Status s = onlySupportedFields(address, path, {"socket_address"}); !s) return s.error();
  const std::string socket_path = fieldPath(path, "socket_address");
  if (!address.has_socket_address()) return invalidField(socket_path, "is required");
  const core::SocketAddress& socket = address.socket_address();
  if (Status s = onlySupportedFields(socket, socket_path, {"address", "port_value"}); !s) {
    return s.error();
  }

  SocketAddress out;
  const std::string address_path = fieldPath(socket_path, "address");
  if (socket.address().empty()) return invalidField(address_path, "is required");
  unsigned char scratch[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, socket.address().c_str(), scratch) != 1 &&
      inet_pton(AF_INET6, socket.address().c_str(), scratch) != 1) {
    return invalidField(address_path, quoted(socket.address()) +
                                          " is not a literal IPv4 or IPv6 address "
                                          "(remora-proxy does not resolve names)");
  }
  out.address = socket.address();

  const std::string port_path = fieldPath(socket_path, "port_value");
  const bool has_port = socket.port_specifier_case() == core::SocketAddress::kPortValue;
  const uint32_t min_port = port_policy == PortPolicy::kNonZero ? 1 : 0;
  if (!has_port && min_port > 0) return invalidField(port_path, "is required");
  if (socket.port_value() < min_port || socket.port_value() > 65535) {
    return invalidField(
        port_path, std::to_string(socket.port_value()) + " is out of range " + std::to_string(min_port) + "..65535");
  }
  out.port = socket.port_value();
  return out;
}

namespace {

// RFC 9110 tchar.
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~': return true;
    default: return false;
  }
}

// A header name we may add or remove: pseudo-headers and Host are the
// codec's and the router's to manage, as in Envoy.
Result<std::string> toMutableHeaderName(std::string_view name, std::string_view path) {
  Result<std::string> lower = toHeaderName(name, path);
  if (!lower) return lower;
  if (*lower == "host") return invalidField(path, "the Host header cannot be modified here");
  return lower;
}

}  // namespace

Result<std::string> toHeaderName(std::string_view name, std::string_view path) {
  if (name.empty()) return invalidField(path, "is required");
  // A leading ':' is allowed for matching pseudo-headers (":authority").
  const size_t start = name.front() == ':' ? 1 : 0;
  if (start == name.size()) return invalidField(path, quoted(name) + " is not a header name");
  std::string lower;
  lower.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (i >= start && !isTokenChar(c)) {
      return invalidField(path, quoted(name) + " is not a valid header name");
    }
    lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return lower;
}

Result<std::vector<HeaderValueOption>> toHeadersToAdd(const pb::RepeatedPtrField<core::HeaderValueOption>& options,
                                                      std::string_view path) {
  std::vector<HeaderValueOption> out;
  out.reserve(static_cast<size_t>(options.size()));
  for (int i = 0; i < options.size(); ++i) {
    const core::HeaderValueOption& option = options[i];
    const std::string item = indexPath(path, static_cast<size_t>(i));
    if (Status s = onlySupportedFields(option, item, {"header", "append", "append_action"}); !s) {
      return s.error();
    }
    const std::string header_path = fieldPath(item, "header");
    if (Status s = onlySupportedFields(option.header(), header_path, {"key", "value"}); !s) {
      return s.error();
    }
    const std::string key_path = fieldPath(header_path, "key");
    Result<std::string> name = toMutableHeaderName(option.header().key(), key_path);
    if (!name) return name.error();
    if (name->front() == ':') return invalidField(key_path, "pseudo-headers cannot be added");
    const std::string& value = option.header().value();
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return invalidField(fieldPath(header_path, "value"), "must not contain CR, LF or NUL");
    }
    if (option.has_append() && option.append_action() != core::HeaderValueOption::APPEND_IF_EXISTS_OR_ADD) {
      return invalidField(item, "set append or append_action, not both");
    }
    HeaderValueOption converted;
    converted.name = std::move(*name);
    converted.value = value;
    switch (option.append_action()) {
      case core::HeaderValueOption::APPEND_IF_EXISTS_OR_ADD:
        converted.append = option.has_append() ? option.append().value() : true;
        break;
      case core::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD: converted.append = false; break;
      default:
        return unsupportedField(fieldPath(item, "append_action"),
                                core::HeaderValueOption::HeaderAppendAction_Name(option.append_action()));
    }
    out.push_back(std::move(converted));
  }
  return out;
}

Result<std::vector<std::string>> toHeadersToRemove(const pb::RepeatedPtrField<std::string>& names,
                                                   std::string_view path) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(names.size()));
  for (int i = 0; i < names.size(); ++i) {
    const std::string item = indexPath(path, static_cast<size_t>(i));
    Result<std::string> name = toMutableHeaderName(names[i], item);
    if (!name) return name.error();
    if (name->front() == ':') return invalidField(item, "pseudo-headers cannot be removed");
    out.push_back(std::move(*name));
  }
  return out;
}

Result<std::string> toRegex(const envoy::type::matcher::v3::RegexMatcher& matcher, std::string_view path) {
  if (Status s = onlySupportedFields(matcher, path, {"google_re2", "regex"}); !s) return s.error();
  // max_program_size is deprecated in Envoy; RE2 matches in linear time anyway.
  if (Status s = onlySupportedFields(matcher.google_re2(), fieldPath(path, "google_re2"), {"max_program_size"}); !s) {
    return s.error();
  }
  const std::string regex_path = fieldPath(path, "regex");
  if (matcher.regex().empty()) return invalidField(regex_path, "is required");
  RE2::Options options;
  options.set_log_errors(false);  // the error goes into our message, not stderr
  const RE2 compiled(matcher.regex(), options);
  if (!compiled.ok()) {
    return invalidField(regex_path, quoted(matcher.regex()) + " is not a valid RE2 regex: " + compiled.error());
  }
  return matcher.regex();
}

std::string_view anyTypeName(std::string_view type_url) {
  const size_t slash = type_url.rfind('/');
  return slash == std::string_view::npos ? type_url : type_url.substr(slash + 1);
}

Result<StringMatch> toStringMatch(const envoy::type::matcher::v3::StringMatcher& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path, {"exact", "prefix", "suffix", "safe_regex", "contains", "ignore_case"});
      !s) {
    return s.error();
  }
  StringMatch out;
  out.ignore_case = proto.ignore_case();
  switch (proto.match_pattern_case()) {
    case envoy::type::matcher::v3::StringMatcher::kExact:
      out.kind = StringMatch::Kind::kExact;
      out.value = proto.exact();
      return out;
    case envoy::type::matcher::v3::StringMatcher::kPrefix: out.kind = StringMatch::Kind::kPrefix; out.value = proto.prefix(); break;
    case envoy::type::matcher::v3::StringMatcher::kSuffix: out.kind = StringMatch::Kind::kSuffix; out.value = proto.suffix(); break;
    case envoy::type::matcher::v3::StringMatcher::kContains:
      out.kind = StringMatch::Kind::kContains;
      out.value = proto.contains();
      break;
    case envoy::type::matcher::v3::StringMatcher::kSafeRegex: {
      if (out.ignore_case) {
        return invalidField(fieldPath(path, "ignore_case"), "does not apply to safe_regex (use (?i) in the regex)");
      }
      Result<std::string> regex = toRegex(proto.safe_regex(), fieldPath(path, "safe_regex"));
      if (!regex) return regex.error();
      out.kind = StringMatch::Kind::kRegex;
      out.value = std::move(*regex);
      return out;
    }
    case envoy::type::matcher::v3::StringMatcher::MATCH_PATTERN_NOT_SET:
      return invalidField(path, "one of exact, prefix, suffix, safe_regex or contains is required");
  }
  if (out.value.empty()) return invalidField(path, "the value to match must not be empty");
  return out;
}

}  // namespace remora::xds::resources
