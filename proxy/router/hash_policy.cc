#include "proxy/router/hash_policy.h"

#include <string>

#include "proxy/upstream/stable_hash.h"

namespace remora::router {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> hashOf(const xds::resources::HashPolicy& policy, const http::HeaderMap& headers,
                               const net::Address& source) {
  using Kind = xds::resources::HashPolicy::Kind;
  switch (policy.kind) {
    case Kind::kHeader: {
      const auto value = headers.get(policy.name);
      if (!value) return std::nullopt;
      return upstream::stableHash(*value);
    }
    case Kind::kCookie: {
      for (const auto& field : headers) {
        if (field.name != "cookie") continue;
        if (const auto value = findCookie(field.value, policy.name)) return upstream::stableHash(*value);
      }
      return std::nullopt;
    }
    case Kind::kSourceIp: {
      if (source.family() != AF_INET && source.family() != AF_INET6) return std::nullopt;
      return upstream::stableHash(source.ip());
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> findCookie(std::string_view cookie_header, std::string_view name) {
  // RFC 6265 5.4: "name=value" pairs separated by "; " (we also accept a bare
  // ";" and stray spaces, as browsers and curl send both).
  while (!cookie_header.empty()) {
    const size_t end = cookie_header.find(';');
    const std::string_view pair = trim(cookie_header.substr(0, end));
    cookie_header = end == std::string_view::npos ? std::string_view() : cookie_header.substr(end + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    // A quoted value hashes as its content, so "v" and v pick the same host.
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
  }
  return std::nullopt;
}

std::optional<uint64_t> computeHash(const std::vector<xds::resources::HashPolicy>& policies,
                                    const http::HeaderMap& headers, const net::Address& source) {
  for (const auto& policy : policies) {
    if (auto hash = hashOf(policy, headers, source)) return hash;
  }
  return std::nullopt;
}

}  // namespace remora::router
