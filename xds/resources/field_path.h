// Field paths and the two failure shapes every converter in xds/resources
// returns. A path names a field the way the user wrote it in YAML/JSON
// ("static_resources.clusters[1].connect_timeout"), so a message can point at
// the exact line; the bootstrap loader also uses paths to find that line.
//
// Pure functions, any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "xds/base/status.h"

namespace remora::xds::resources {

// "base.field", or "field" when base is empty (a resource converted on its own).
inline std::string fieldPath(std::string_view base, std::string_view field) {
  std::string path(base);
  if (!path.empty()) path += '.';
  path += field;
  return path;
}

// "base[index]".
inline std::string indexPath(std::string_view base, size_t index) {
  std::string path(base);
  path += '[';
  path += std::to_string(index);
  path += ']';
  return path;
}

// "path: why", as kInvalidArgument.
inline base::Failure invalidField(std::string_view path, std::string_view why) {
  std::string message(path);
  message += ": ";
  message += why;
  return base::fail(base::Error::kInvalidArgument, std::move(message));
}

// "path: not supported by remora-proxy", as kUnsupported: the field exists in
// Envoy's API (and in our protos) but Remora does not implement it yet, so we
// refuse it instead of silently ignoring it.
inline base::Failure unsupportedField(std::string_view path, std::string_view detail = {}) {
  std::string message(path);
  message += ": not supported by remora-proxy";
  if (!detail.empty()) {
    message += " (";
    message += detail;
    message += ')';
  }
  return base::fail(base::Error::kUnsupported, std::move(message));
}

// Quotes a user-supplied value for an error message.
inline std::string quoted(std::string_view value) {
  std::string out = "\"";
  out += value;
  out += '"';
  return out;
}

}  // namespace remora::xds::resources
