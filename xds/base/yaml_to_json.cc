// The sole exception boundary for yaml-cpp (see yaml_to_json.h and
// docs/decisions/003-bootstrap-parsing.md): every yaml-cpp call in Remora
// happens below yamlToJson's try block, and every exception becomes a Status.
#include "xds/base/yaml_to_json.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "xds/base/json_string.h"

namespace remora::base {

using base::appendJsonString;

namespace {

constexpr int kMaxDepth = 64;
constexpr size_t kMaxJsonBytes = size_t{64} << 20;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool isJsonNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !isDigit(s[i])) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (i < s.size() && isDigit(s[i])) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || !isDigit(s[i])) return false;
    while (i < s.size() && isDigit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !isDigit(s[i])) return false;
    while (i < s.size() && isDigit(s[i])) ++i;
  }
  return i == s.size();
}

// YAML 1.2 core schema: [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+.
bool isYamlInt(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    for (size_t i = 2; i < s.size(); ++i) {
      const char c = s[i];
      const bool ok =
          s[1] == 'x' ? (isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) : (c >= '0' && c <= '7');
      if (!ok) return false;
    }
    return true;
  }
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i >= s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!isDigit(s[i])) return false;
  }
  return true;
}

// YAML 1.2 core schema: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool isYamlFloat(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  size_t digits = 0;
  while (i < s.size() && isDigit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDigit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !isDigit(s[i])) return false;
    while (i < s.size() && isDigit(s[i])) ++i;
  }
  return i == s.size();
}

// A plain scalar as JSON: bool, null, number, or else a string.
void appendPlainScalar(std::string& out, const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") {
    out += "true";
  } else if (s == "false" || s == "False" || s == "FALSE") {
    out += "false";
  } else if (s == "null" || s == "Null" || s == "NULL" || s == "~") {
    out += "null";
  } else if (isJsonNumber(s)) {
    out += s;  // verbatim: "1.0" stays "1.0" if the field turns out to be a string
  } else if (isYamlInt(s)) {
    // Leading '+', leading zeros, hex and octal are YAML ints but not JSON.
    const bool negative = s[0] == '-';
    std::string_view digits = s;
    if (digits[0] == '-' || digits[0] == '+') digits.remove_prefix(1);
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'o')) {
      base = digits[1] == 'x' ? 16 : 8;
      digits.remove_prefix(2);
    }
    errno = 0;
    const unsigned long long value = std::strtoull(std::string(digits).c_str(), nullptr, base);
    if (errno == ERANGE) {
      appendJsonString(out, s);  // too big for any proto integer; let the parser say so
    } else {
      if (negative && value != 0) out += '-';
      out += std::to_string(value);
    }
  } else if (isYamlFloat(s)) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.17g", std::strtod(s.c_str(), nullptr));
    out += buffer;
  } else if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF") {
    out += "\"Infinity\"";
  } else if (s == "-.inf" || s == "-.Inf" || s == "-.INF") {
    out += "\"-Infinity\"";
  } else if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    out += "\"NaN\"";
  } else {
    appendJsonString(out, s);
  }
}

namespace pb = google::protobuf;

bool isFreeForm(const pb::Descriptor* type) {
  const std::string& name = type->full_name();
  return name == "google.protobuf.Struct" || name == "google.protobuf.Value" || name == "google.protobuf.ListValue";
}

bool isStringWrapper(const pb::Descriptor* type) {
  return type->full_name() == "google.protobuf.StringValue" || type->full_name() == "google.protobuf.BytesValue";
}

const pb::FieldDescriptor* findField(const pb::Descriptor* type, const std::string& key) {
  if (const pb::FieldDescriptor* field = type->FindFieldByName(key)) return field;
  // protobuf's JSON mapping also accepts the lowerCamelCase name.
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == key) return type->field(i);
  }
  return nullptr;
}

class Converter {
 public:
  explicit Converter(std::string_view source) : source_(source) {}
  // What an unknown field's error says after the path (the default names the
  // bootstrap's reference, which a mesh object has nothing to do with).
  Converter(std::string_view source, std::string unknown_field_why)
      : source_(source), unknown_field_why_(std::move(unknown_field_why)) {}

  // A node bound for `field` (nullptr: no schema below this point).
  base::Status value(const YAML::Node& node, const std::string& path, int depth, const pb::FieldDescriptor* field,
                     bool element) {
    if (base::Status s = checkLimits(node, path, depth); !s) return s;
    if (field == nullptr) return untyped(node, path, depth);
    if (field->is_map() && !element && node.IsMap()) {
      return mapping(node, path, depth, [&](const std::string&) { return field->message_type()->map_value(); });
    }
    if (field->is_repeated() && !element) {
      if (!node.IsSequence()) return untyped(node, path, depth);  // protobuf says what is wrong
      return sequence(node, path, depth, field);
    }
    if (field->type() == pb::FieldDescriptor::TYPE_MESSAGE) return message(node, path, depth, field->message_type());
    const bool text =
        field->type() == pb::FieldDescriptor::TYPE_STRING || field->type() == pb::FieldDescriptor::TYPE_BYTES;
    if (text && node.IsScalar()) {
      appendJsonString(doc_.json, node.Scalar());
      return base::Status::ok();
    }
    return untyped(node, path, depth);
  }

  JsonDocument take() { return std::move(doc_); }

  base::Failure at(const YAML::Mark& mark, const std::string& path, const std::string& why) const {
    std::string message(source_);
    if (!mark.is_null()) message += ":" + std::to_string(mark.line + 1);
    message += ": ";
    if (!path.empty()) message += path + ": ";
    return base::fail(base::Error::kInvalidArgument, message + why);
  }

  base::Status message(const YAML::Node& node, const std::string& path, int depth, const pb::Descriptor* type) {
    if (!node.IsMap() || isFreeForm(type)) {
      if (isStringWrapper(type) && node.IsScalar()) {
        appendJsonString(doc_.json, node.Scalar());
        return base::Status::ok();
      }
      return untyped(node, path, depth);
    }
    if (type->full_name() == "google.protobuf.Any") return any(node, path, depth);
    return fields(node, path, depth, type);
  }

 private:
  base::Status checkLimits(const YAML::Node& node, const std::string& path, int depth) const {
    if (depth > kMaxDepth) return at(node.Mark(), path, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
    if (doc_.json.size() > kMaxJsonBytes) return at(node.Mark(), path, "expands to more than 64 MiB (aliases?)");
    return base::Status::ok();
  }

  base::Status fields(const YAML::Node& node, const std::string& path, int depth, const pb::Descriptor* type,
                      const std::string& skip_key = {}) {
    std::set<std::string> keys;
    bool first = true;
    doc_.json += '{';
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) return at(key.Mark(), path, "a mapping key must be a plain string");
      const std::string& name = key.Scalar();
      if (!keys.insert(name).second) return at(key.Mark(), path, "duplicate key \"" + name + "\"");
      if (!first) doc_.json += ',';
      first = false;
      appendJsonString(doc_.json, name);
      doc_.json += ':';
      if (!skip_key.empty() && name == skip_key) {
        appendJsonString(doc_.json, entry.second.IsScalar() ? entry.second.Scalar() : std::string());
        continue;
      }
      const pb::FieldDescriptor* field = findField(type, name);
      const std::string child =
          path.empty() ? (field ? field->name() : name) : path + "." + (field ? field->name() : name);
      if (field == nullptr) {
        return at(key.Mark(), child, unknown_field_why_);
      }
      doc_.lines.emplace(child, key.Mark().line + 1);
      if (base::Status s = value(entry.second, child, depth + 1, field, false); !s) return s;
    }
    doc_.json += '}';
    return base::Status::ok();
  }

  // {"@type": "type.googleapis.com/<full name>", <fields of that type>...}
  base::Status any(const YAML::Node& node, const std::string& path, int depth) {
    const YAML::Node type_node = node["@type"];
    if (!type_node.IsDefined() || !type_node.IsScalar()) return at(node.Mark(), path, "\"@type\" is required");
    const std::string& url = type_node.Scalar();
    const size_t slash = url.rfind('/');
    const std::string name = slash == std::string::npos ? url : url.substr(slash + 1);
    const pb::Descriptor* type = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
    if (type == nullptr) {
      return at(type_node.Mark(), path.empty() ? "@type" : path + ".@type",
                quoted(url) + " is not a type remora-proxy knows");
    }
    doc_.lines.emplace(path.empty() ? "@type" : path + ".@type", type_node.Mark().line + 1);
    // Well-known types inside an Any carry their JSON form in "value".
    if (type->file()->package() == "google.protobuf") return untyped(node, path, depth);
    return fields(node, path, depth, type, "@type");
  }

  template <typename ValueField>
  base::Status mapping(const YAML::Node& node, const std::string& path, int depth, ValueField value_field) {
    std::set<std::string> keys;
    bool first = true;
    doc_.json += '{';
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) return at(key.Mark(), path, "a mapping key must be a plain string");
      if (!keys.insert(key.Scalar()).second) return at(key.Mark(), path, "duplicate key \"" + key.Scalar() + "\"");
      if (!first) doc_.json += ',';
      first = false;
      appendJsonString(doc_.json, key.Scalar());
      doc_.json += ':';
      const std::string child = path.empty() ? key.Scalar() : path + "." + key.Scalar();
      doc_.lines.emplace(child, key.Mark().line + 1);
      if (base::Status s = value(entry.second, child, depth + 1, value_field(key.Scalar()), false); !s) return s;
    }
    doc_.json += '}';
    return base::Status::ok();
  }

  base::Status sequence(const YAML::Node& node, const std::string& path, int depth, const pb::FieldDescriptor* field) {
    doc_.json += '[';
    size_t index = 0;
    for (const YAML::Node& item : node) {
      if (index > 0) doc_.json += ',';
      const std::string child = path + "[" + std::to_string(index) + "]";
      doc_.lines.emplace(child, item.Mark().line + 1);
      if (base::Status s = value(item, child, depth + 1, field, true); !s) return s;
      ++index;
    }
    doc_.json += ']';
    return base::Status::ok();
  }

  // No schema: typed by looks.
  base::Status untyped(const YAML::Node& node, const std::string& path, int depth) {
    if (base::Status s = checkLimits(node, path, depth); !s) return s;
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: doc_.json += "null"; return base::Status::ok();
      case YAML::NodeType::Scalar:
        // "!" marks a quoted (non-plain) scalar; !!str forces a string too.
        if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") {
          appendJsonString(doc_.json, node.Scalar());
        } else {
          appendPlainScalar(doc_.json, node.Scalar());
        }
        return base::Status::ok();
      case YAML::NodeType::Sequence: return sequence(node, path, depth, nullptr);
      case YAML::NodeType::Map: return mapping(node, path, depth, [](const std::string&) { return nullptr; });
    }
    return at(node.Mark(), path, "unknown YAML node");
  }

  static std::string quoted(const std::string& s) { return "\"" + s + "\""; }

  std::string_view source_;
  std::string unknown_field_why_ =
      "unknown field (not in the part of Envoy's v3 API that remora-proxy reads; see docs/config/bootstrap.md)";
  JsonDocument doc_;
};

// A kubectl List: {items: [...]} with no kind, or kind "List".
bool isListDocument(const YAML::Node& node) {
  if (!node.IsMap()) return false;
  const YAML::Node items = node["items"];
  if (!items.IsDefined() || !items.IsSequence()) return false;
  const YAML::Node kind = node["kind"];
  return !kind.IsDefined() || (kind.IsScalar() && kind.Scalar() == "List");
}

// One object of a stream: its kind picks the schema, then it converts alone.
base::Result<YamlObject> streamObject(const YAML::Node& node, const SchemaForKind& schema_for,
                                      std::string_view source) {
  Converter converter(source, "unknown field");
  if (!node.IsMap()) return converter.at(node.Mark(), "", "an object must be a mapping with kind, metadata and spec");
  const YAML::Node kind_node = node["kind"];
  if (kind_node.IsDefined() && !kind_node.IsScalar()) return converter.at(kind_node.Mark(), "kind", "must be a string");
  const std::string kind = kind_node.IsDefined() ? kind_node.Scalar() : std::string();
  base::Result<const pb::Descriptor*> schema = schema_for(kind);
  if (!schema) return converter.at(kind_node.IsDefined() ? kind_node.Mark() : node.Mark(), "kind", schema.error().message);
  base::Status converted =
      *schema != nullptr ? converter.message(node, "", 0, *schema) : converter.value(node, "", 0, nullptr, false);
  if (!converted) return converted.error();
  return YamlObject{converter.take(), node.Mark().line + 1};
}


}  // namespace

// The one try block: yaml-cpp throws on malformed input (ParserException,
// with a Mark) and could throw from node accessors; `parse` runs inside it and
// nothing unwinds further. Both entry points below go through it.
template <typename T, typename Parse>
base::Result<T> guardYaml(std::string_view source, Parse&& parse) {
  try {
    return parse();
  } catch (const YAML::Exception& e) {
    std::string message(source);
    if (!e.mark.is_null()) message += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    return base::fail(base::Error::kInvalidArgument, message + ": malformed YAML: " + e.msg);
  } catch (const std::exception& e) {
    return base::fail(base::Error::kInvalidArgument, std::string(source) + ": malformed YAML: " + e.what());
  } catch (...) {
    return base::fail(base::Error::kInternal, std::string(source) + ": YAML: unknown failure");
  }
}

base::Result<std::vector<YamlObject>> yamlObjectsToJson(std::string_view yaml, const SchemaForKind& schema_for,
                                                        std::string_view source) {
  std::vector<YamlObject> objects;
  auto add = [&](const YAML::Node& node) -> base::Status {
    base::Result<YamlObject> object = streamObject(node, schema_for, source);
    if (!object) return object.error();
    objects.push_back(std::move(*object));
    return base::Status::ok();
  };
  return guardYaml<std::vector<YamlObject>>(source, [&]() -> base::Result<std::vector<YamlObject>> {
    for (const YAML::Node& document : YAML::LoadAll(std::string(yaml))) {
      if (!document.IsDefined() || document.IsNull()) continue;
      if (document.IsSequence() || isListDocument(document)) {
        for (const YAML::Node& item : document.IsSequence() ? document : document["items"]) {
          if (base::Status s = add(item); !s) return s.error();
        }
      } else if (base::Status s = add(document); !s) {
        return s.error();
      }
    }
    return objects;
  });
}

base::Result<JsonDocument> yamlToJson(std::string_view yaml, const pb::Descriptor* schema, std::string_view source) {
  Converter converter(source);
  return guardYaml<JsonDocument>(source, [&]() -> base::Result<JsonDocument> {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (root.IsNull() || !root.IsDefined()) {
      return base::fail(base::Error::kInvalidArgument, std::string(source) + ": the document is empty");
    }
    if (!root.IsMap()) return converter.at(root.Mark(), "", "the top level must be a mapping of Bootstrap fields");
    base::Status converted =
        schema != nullptr ? converter.message(root, "", 0, schema) : converter.value(root, "", 0, nullptr, false);
    if (!converted) return converted.error();
    return converter.take();
  });
}

}  // namespace remora::base
