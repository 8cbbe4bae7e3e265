#include "control-plane/cli/output.h"

#include <algorithm>
#include <vector>

#include "xds/base/json_string.h"

namespace remora::cli {

namespace {

using Fields = google::protobuf::Map<std::string, JsonValue>;

std::vector<const Fields::value_type*> sortedFields(const Fields& fields) {
  std::vector<const Fields::value_type*> out;
  out.reserve(fields.size());
  for (const auto& entry : fields) out.push_back(&entry);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->first < b->first; });
  return out;
}

void appendJson(std::string& out, const JsonValue& value, int indent) {
  const std::string pad(static_cast<size_t>(indent + 2), ' ');
  switch (value.kind_case()) {
    case JsonValue::kStructValue: {
      const auto fields = sortedFields(value.struct_value().fields());
      if (fields.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      for (size_t i = 0; i < fields.size(); ++i) {
        out += pad;
        base::appendJsonString(out, fields[i]->first);
        out += ": ";
        appendJson(out, fields[i]->second, indent + 2);
        out += i + 1 < fields.size() ? ",\n" : "\n";
      }
      out += std::string(static_cast<size_t>(indent), ' ') + "}";
      return;
    }
    case JsonValue::kListValue: {
      const auto& items = value.list_value().values();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (int i = 0; i < items.size(); ++i) {
        out += pad;
        appendJson(out, items[i], indent + 2);
        out += i + 1 < items.size() ? ",\n" : "\n";
      }
      out += std::string(static_cast<size_t>(indent), ' ') + "]";
      return;
    }
    case JsonValue::kStringValue: base::appendJsonString(out, value.string_value()); return;
    case JsonValue::kNumberValue:
    case JsonValue::kBoolValue: out += scalarText(&value); return;
    default: out += "null"; return;
  }
}

bool looksLikeNumber(std::string_view s) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i >= s.size()) return false;
  if (s[i] == '.' || (s[i] >= '0' && s[i] <= '9')) return true;  // 1, .5, 0x1f, 1e3, 01: all numbers to some YAML
  return s.substr(i) == ".inf" || s.substr(i) == ".Inf" || s.substr(i) == ".INF";
}

// Whether a plain (unquoted) scalar would read back as something else, or
// break the YAML around it.
bool needsQuotes(std::string_view s) {
  if (s.empty() || looksLikeNumber(s)) return true;
  static constexpr std::string_view kReserved[] = {"true", "True", "TRUE", "false", "False", "FALSE", "null",
                                                   "Null", "NULL", "~",    "yes",  "Yes",  "YES",   "no",
                                                   "No",   "NO",   "on",   "On",   "ON",   "off",  "Off",
                                                   "OFF",  "y",    "Y",    "n",    "N",    ".nan", ".NaN"};
  for (std::string_view r : kReserved) {
    if (s == r) return true;
  }
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos) return true;
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return true;
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) return true;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

void appendYamlScalarText(std::string& out, std::string_view s) {
  if (needsQuotes(s)) {
    base::appendJsonString(out, s);  // a JSON string is a valid YAML double-quoted scalar
  } else {
    out += s;
  }
}

bool isEmptyCollection(const JsonValue& v) {
  return (v.has_struct_value() && v.struct_value().fields().empty()) ||
         (v.has_list_value() && v.list_value().values().empty());
}

void appendYamlScalar(std::string& out, const JsonValue& v) {
  switch (v.kind_case()) {
    case JsonValue::kStringValue: appendYamlScalarText(out, v.string_value()); break;
    case JsonValue::kNumberValue:
    case JsonValue::kBoolValue: out += scalarText(&v); break;
    case JsonValue::kStructValue: out += "{}"; break;
    case JsonValue::kListValue: out += "[]"; break;
    default: out += "null"; break;
  }
}

bool isBlock(const JsonValue& v) { return (v.has_struct_value() || v.has_list_value()) && !isEmptyCollection(v); }

void appendYaml(std::string& out, const JsonValue& value, int indent);

// The entries of a map, each on its own line at `indent`, except that the
// first goes where the cursor already is (after "- " in a list).
void appendYamlMap(std::string& out, const JsonValue& value, int indent, bool first_inline) {
  bool first = true;
  for (const auto* entry : sortedFields(value.struct_value().fields())) {
    if (!(first && first_inline)) out += std::string(static_cast<size_t>(indent), ' ');
    first = false;
    appendYamlScalarText(out, entry->first);
    out += ':';
    const JsonValue& child = entry->second;
    if (isBlock(child)) {
      out += '\n';
      // kubectl style: a list under a key is not indented further.
      appendYaml(out, child, child.has_list_value() ? indent : indent + 2);
    } else {
      out += ' ';
      appendYamlScalar(out, child);
      out += '\n';
    }
  }
}

void appendYaml(std::string& out, const JsonValue& value, int indent) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (value.has_struct_value() && !isEmptyCollection(value)) {
    appendYamlMap(out, value, indent, false);
  } else if (value.has_list_value() && !isEmptyCollection(value)) {
    for (const JsonValue& item : value.list_value().values()) {
      out += pad + "- ";
      if (item.has_struct_value() && !isEmptyCollection(item)) {
        appendYamlMap(out, item, indent + 2, true);
      } else if (item.has_list_value() && !isEmptyCollection(item)) {
        out += '\n';
        appendYaml(out, item, indent + 2);
      } else {
        appendYamlScalar(out, item);
        out += '\n';
      }
    }
  } else {
    out += pad;
    appendYamlScalar(out, value);
    out += '\n';
  }
}

}  // namespace

std::optional<OutputFormat> outputFormatFromName(std::string_view name) {
  if (name.empty() || name == "table") return OutputFormat::kTable;
  if (name == "json") return OutputFormat::kJson;
  if (name == "yaml") return OutputFormat::kYaml;
  return std::nullopt;
}

std::string toJson(const JsonValue& value) {
  std::string out;
  appendJson(out, value, 0);
  return out + "\n";
}

std::string toYaml(const JsonValue& value) {
  std::string out;
  appendYaml(out, value, 0);
  return out;
}

}  // namespace remora::cli
