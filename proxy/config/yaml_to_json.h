// YAML text -> JSON text for the bootstrap loader, guided by the protobuf
// schema of the message it will become: protobuf's JSON mapping then does the
// typed parsing. Guided, because YAML does not say whether `name: 123` is a
// number or a string (protobuf refuses a number for a string field), and
// because protobuf reports unknown fields inside an Any without saying where
// that Any is. Here every error has the full field path and the line.
//
// Also records, for every node, the line it starts on keyed by its field path
// (proto field names: "static_resources.clusters[0].name"), so later errors
// from the converters can be reported as "file:line: path: why".
//
// This is the ONLY translation unit in remora-proxy that calls yaml-cpp, and
// its try block is the sole exception boundary for it: yaml-cpp reports
// malformed input by throwing. See docs/decisions/003-bootstrap-parsing.md.
// Main thread only (start-up and `remora-proxy validate`); no state.
#pragma once

#include <google/protobuf/descriptor.h>

#include <string>
#include <string_view>
#include <unordered_map>

#include "xds/base/status.h"

namespace remora::config {

struct JsonDocument {
  std::string json;
  // Field path of every map value and sequence item -> the 1-based line it starts on.
  std::unordered_map<std::string, int> lines;
};

// `schema` is the message type of the document's root (nullptr: no schema,
// every scalar is typed by its looks). Scalars are typed as in YAML 1.2's core
// schema (true/false, null/~, integers, floats), except that a scalar bound for
// a string field, or any quoted scalar, stays a string. An Any is resolved by
// its "@type" in the generated descriptor pool (our protos only).
//
// Fails with kInvalidArgument, the message starting "source:line:column:" for
// malformed YAML, and "source:line: path: why" for an unknown field, an
// unknown @type, a duplicate key, nesting deeper than 64 levels, or output
// beyond 64 MiB (alias bombs).
base::Result<JsonDocument> yamlToJson(std::string_view yaml, const google::protobuf::Descriptor* schema,
                                      std::string_view source);

}  // namespace remora::config
