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
// This is the ONLY translation unit in Remora that calls yaml-cpp, and
// its try block is the sole exception boundary for it: yaml-cpp reports
// malformed input by throwing. See docs/decisions/003-bootstrap-parsing.md.
// Any thread; no state. Used by the bootstrap loader and remoractl apply -f.
#pragma once

#include <google/protobuf/descriptor.h>

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "xds/base/status.h"

namespace remora::base {

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

// One object of a YAML stream holding several (remoractl apply -f).
struct YamlObject {
  JsonDocument document;  // `lines` keyed by the object's own paths: "spec.ports[0].port"
  int line = 0;           // the 1-based line the object starts on
};

// Chooses an object's schema from its "kind" ("" when absent); a failure's
// message is reported as "source:line: kind: <message>".
using SchemaForKind = std::function<base::Result<const google::protobuf::Descriptor*>(const std::string& kind)>;

// Every object of a YAML (or JSON) stream, in order: documents separated by
// "---" (empty ones skipped); a document that is a sequence, or a mapping with
// an "items" sequence and no "kind" other than "List" (kubectl's list shape),
// contributes each item. Each object is converted as yamlToJson does, with the
// schema `schema_for` picks from its kind; an unknown field is reported as
// "source:line: path: unknown field". Line numbers count from the start of the
// stream, so they point into the file whatever document they are in.
base::Result<std::vector<YamlObject>> yamlObjectsToJson(std::string_view yaml, const SchemaForKind& schema_for,
                                                        std::string_view source);

}  // namespace remora::base
