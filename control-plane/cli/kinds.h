// The five kinds of mesh object as remoractl names them: the kind a manifest
// writes ("Service"), the API's plural path segment ("services"), the short
// names a user types ("svc"), and the protobuf message a manifest document of
// that kind is read with (so YAML's `name: 123` stays a string).
//
// A constant table and pure functions; any thread.
#pragma once

#include <google/protobuf/descriptor.h>

#include <span>
#include <string>
#include <string_view>

namespace remora::cli {

struct KindInfo {
  std::string_view kind;    // "TrafficPolicy": the manifest's kind
  std::string_view plural;  // "trafficpolicies": the API path segment
  std::string_view lower;   // "trafficpolicy": the prefix of "trafficpolicy/name" lines
  const google::protobuf::Descriptor* (*schema)();  // the *Object message of mesh.proto
};

// Every kind, in the order help texts list them.
std::span<const KindInfo> allKinds();

// What a user may type for a kind on the command line: the kind in any case,
// its singular or plural, or a short alias (svc, ep, tp, rr, authz). nullptr
// when unknown.
const KindInfo* kindFromArgument(std::string_view argument);

// A manifest's or the API's "kind" (exact, as in mesh.proto: "Service").
const KindInfo* kindFromName(std::string_view kind);

// "service (svc), endpoint (ep), ...": for usage errors.
std::string kindArgumentsHelp();

}  // namespace remora::cli
