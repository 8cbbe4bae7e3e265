// `-o json` and `-o yaml`: a JSON value printed for people and scripts.
// Object keys are sorted (apiVersion, kind, metadata, spec comes out in
// kubectl's order), integers print without a fraction, and the YAML quotes
// every string that would otherwise read back as another type ("123",
// "true", "null", ": "), so `-o yaml` output is a valid `apply -f` input.
//
// Pure; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "control-plane/cli/json_value.h"

namespace remora::cli {

enum class OutputFormat { kTable, kJson, kYaml };

// "table" (or ""), "json", "yaml"; nullopt otherwise.
std::optional<OutputFormat> outputFormatFromName(std::string_view name);

// Indented by two spaces, a newline at the end.
std::string toJson(const JsonValue& value);

// Block style, lists of maps kubectl-like ("- name: http"), newline-terminated.
std::string toYaml(const JsonValue& value);

}  // namespace remora::cli
