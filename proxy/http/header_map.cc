#include "proxy/http/header_map.h"

#include <algorithm>
#include <cctype>

namespace remora::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool isPseudo(std::string_view name) { return !name.empty() && name[0] == ':'; }

}  // namespace

void HeaderMap::add(std::string_view name, std::string_view value) {
  HeaderField field{lower(name), std::string(value)};
  if (isPseudo(field.name)) {
    auto it = std::find_if(fields_.begin(), fields_.end(), [](const HeaderField& f) { return !isPseudo(f.name); });
    fields_.insert(it, std::move(field));
  } else {
    fields_.push_back(std::move(field));
  }
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  std::string key = lower(name);
  auto it = std::find_if(fields_.begin(), fields_.end(), [&](const HeaderField& f) { return f.name == key; });
  if (it == fields_.end()) {
    add(key, value);
    return;
  }
  it->value.assign(value);
  fields_.erase(std::remove_if(it + 1, fields_.end(), [&](const HeaderField& f) { return f.name == key; }),
                fields_.end());
}

size_t HeaderMap::remove(std::string_view name) {
  std::string key = lower(name);
  size_t before = fields_.size();
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(), [&](const HeaderField& f) { return f.name == key; }),
                fields_.end());
  return before - fields_.size();
}

std::optional<std::string_view> HeaderMap::get(std::string_view name) const {
  for (const HeaderField& f : fields_) {
    if (f.name == name) return std::string_view(f.value);
  }
  return std::nullopt;
}

std::vector<std::string_view> HeaderMap::getAll(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const HeaderField& f : fields_) {
    if (f.name == name) out.emplace_back(f.value);
  }
  return out;
}

size_t HeaderMap::byteSize() const {
  size_t n = 0;
  for (const HeaderField& f : fields_) n += f.name.size() + f.value.size();
  return n;
}

uint32_t HeaderMap::status() const {
  auto s = get(":status");
  if (!s || s->size() != 3) return 0;
  uint32_t v = 0;
  for (char c : *s) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  return v;
}

bool isHopByHopHeader(std::string_view n) {
  return n == "connection" || n == "keep-alive" || n == "proxy-connection" || n == "transfer-encoding" ||
         n == "upgrade" || n == "te" || n == "trailer" || n == "proxy-authenticate" || n == "proxy-authorization";
}

void removeConnectionNominatedHeaders(HeaderMap& headers, bool keep_upgrade) {
  std::vector<std::string> nominated;
  for (std::string_view value : headers.getAll("connection")) {
    while (!value.empty()) {
      const size_t comma = value.find(',');
      std::string_view token = value.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      std::string name = lower(token);
      // Pseudo-headers and the framing fields are never removed this way: a
      // client must not be able to strip :authority or content-length.
      if (!name.empty() && name[0] != ':' && name != "connection" && name != "content-length" &&
          name != "transfer-encoding" && name != "host" && !(keep_upgrade && name == "upgrade")) {
        nominated.push_back(std::move(name));
      }
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  for (const auto& name : nominated) headers.remove(name);
}

}  // namespace remora::http
