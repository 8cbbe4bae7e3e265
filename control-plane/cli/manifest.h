// Manifests for `remoractl apply -f` and `delete -f`: a YAML stream of one or
// more documents ("---"), a JSON object, a JSON array, or {"items": [...]},
// turned into one JSON object per mesh object. Each document is read with the
// protobuf schema its kind names (xds/base/yaml_to_json), so `name: 123`
// stays a string and an unknown field is caught here with its line:
//   "app.yaml:7: spec.ports[0].colour: unknown field"
// Each object remembers where its fields start, so an error the server
// reports for "items[2].spec.ports[0].port" can point at the file's line.
//
// Pure; any thread. Called by the apply and delete commands.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "control-plane/cli/kinds.h"
#include "xds/base/status.h"

namespace remora::cli {

struct ManifestObject {
  const KindInfo* kind = nullptr;
  std::string name;       // metadata.name ("" when absent: the server names the problem)
  std::string namespace_;  // metadata.namespace ("" when absent: the server's default)
  std::string json;       // the whole object, ready for the API
  int line = 0;           // where the object starts in the file
  std::unordered_map<std::string, int> lines;  // field path (proto names) -> line
};

struct Manifest {
  std::string source;  // the file name used in messages ("-" reads as "<stdin>")
  std::vector<ManifestObject> objects;

  // The line of `path` in object `index`, accepting lowerCamelCase segments
  // ("spec.ports[0].targetPort"); the nearest enclosing field's line when the
  // path itself was not written; nullopt when the index is out of range.
  std::optional<int> lineOf(size_t index, std::string_view path) const;
};

// Parses `text`. Fails with kInvalidArgument, "source:line: path: why", for
// malformed YAML/JSON, a missing or unknown kind (naming the known ones), a
// field the kind does not have, or a value of the wrong shape; and when the
// text holds no object at all.
base::Result<Manifest> parseManifest(std::string_view text, std::string_view source);

// The JSON body POST /api/v1/apply and /api/v1/delete take: an array of the
// objects, in file order.
std::string batchJson(const Manifest& manifest);

// "spec.ports[0].targetPort" -> "spec.ports[0].target_port".
std::string snakeCasePath(std::string_view path);

}  // namespace remora::cli
