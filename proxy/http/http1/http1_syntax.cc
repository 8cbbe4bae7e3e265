#include "proxy/http/http1/http1_syntax.h"

#include <array>

namespace remora::http::http1 {
namespace {

// Lookup tables built at compile time: one load per byte on the hot path,
// instead of a chain of comparisons.
constexpr std::array<bool, 256> makeTokenTable() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}

constexpr std::array<bool, 256> makeValueTable() {
  std::array<bool, 256> t{};
  t['\t'] = true;
  for (int c = 0x20; c <= 0x7e; ++c) t[c] = true;
  for (int c = 0x80; c <= 0xff; ++c) t[c] = true;
  return t;
}

constexpr std::array<bool, 256> makeTargetTable() {
  std::array<bool, 256> t{};
  // Visible ASCII only. '#' starts a fragment, which a client must never send;
  // anything at or above 0x80 must be percent-encoded.
  for (int c = 0x21; c <= 0x7e; ++c) t[c] = true;
  t['#'] = false;
  return t;
}

constexpr std::array<bool, 256> makeAuthorityTable() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  // unreserved, sub-delims, pct-encoded, port separator and IP-literal brackets.
  for (char c : std::string_view("-._~!$&'()*+,;=%:[]")) t[static_cast<unsigned char>(c)] = true;
  return t;
}

constexpr auto kToken = makeTokenTable();
constexpr auto kValue = makeValueTable();
constexpr auto kTarget = makeTargetTable();
constexpr auto kAuthority = makeAuthorityTable();

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

}  // namespace

bool isTokenChar(unsigned char c) { return kToken[c]; }

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!kToken[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

bool isFieldValueChar(unsigned char c) { return kValue[c]; }

bool isFieldValue(std::string_view s) {
  for (char c : s) {
    if (!kValue[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

bool isTargetChar(unsigned char c) { return kTarget[c]; }

bool isHexDigit(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

bool listHasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view element = trimOws(list.substr(0, comma));
    if (equalsIgnoreCase(element, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<uint64_t> parseContentLength(std::string_view value) {
  constexpr uint64_t kMax = uint64_t{1} << 62;
  std::optional<uint64_t> result;
  while (true) {
    size_t comma = value.find(',');
    std::string_view element = trimOws(value.substr(0, comma));
    if (element.empty() || element.size() > 19) return std::nullopt;
    uint64_t v = 0;
    for (char c : element) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > kMax) return std::nullopt;
    if (result && *result != v) return std::nullopt;
    result = v;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return result;
}

bool isValidPathAndQuery(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (!kTarget[c]) return false;
    if (c == '%') {
      // A stray '%' decodes differently in every implementation behind us.
      if (i + 2 >= s.size()) return false;
      if (!isHexDigit(static_cast<unsigned char>(s[i + 1])) || !isHexDigit(static_cast<unsigned char>(s[i + 2]))) {
        return false;
      }
      i += 2;
    }
  }
  return true;
}

bool isValidAuthority(std::string_view s) {
  for (char c : s) {
    if (!kAuthority[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

}  // namespace remora::http::http1
