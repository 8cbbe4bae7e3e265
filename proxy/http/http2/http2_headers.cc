#include "proxy/http/http2/http2_headers.h"

#include <string>

namespace remora::http::http2 {
namespace {

constexpr uint8_t kStaticFlags = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;

bool isPseudo(std::string_view name) { return !name.empty() && name[0] == ':'; }

}  // namespace

bool isConnectionSpecificHeader(std::string_view n, std::string_view value) {
  if (n == "te") return value != "trailers";
  return n == "connection" || n == "keep-alive" || n == "proxy-connection" || n == "transfer-encoding" ||
         n == "upgrade";
}

void NvBuilder::push(std::string_view name, std::string_view value, uint8_t flags) {
  // nghttp2 takes non-const pointers but never writes through them.
  nva_.push_back(nghttp2_nv{const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
                            const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())), name.size(),
                            value.size(), flags});
}

void NvBuilder::build(const HeaderMap& headers, Kind kind, bool borrow) {
  nva_.clear();
  const uint8_t flags = borrow ? kStaticFlags : uint8_t{NGHTTP2_NV_FLAG_NONE};
  bool has_scheme = false;
  bool has_authority = false;
  bool is_connect = false;
  std::string_view host;
  // HeaderMap keeps pseudo-headers first, and HTTP/2 needs them before any
  // regular field, so synthesized ones go in at the end of the pseudo block.
  auto it = headers.begin();
  for (; it != headers.end() && isPseudo(it->name); ++it) {
    if (kind == Kind::kTrailers) continue;  // trailers carry no pseudo-headers
    has_scheme |= it->name == ":scheme";
    has_authority |= it->name == ":authority";
    is_connect |= it->name == ":method" && it->value == "CONNECT";
    push(it->name, it->value, flags);
  }
  if (kind == Kind::kRequest) {
    for (auto r = it; r != headers.end() && host.empty(); ++r) {
      if (r->name == "host") host = r->value;
    }
    if (!has_scheme && !is_connect) push(":scheme", "http", kStaticFlags);
    if (!has_authority && !host.empty()) push(":authority", host, flags);
  }
  const bool drop_host = kind == Kind::kRequest && !has_authority && !host.empty();
  for (; it != headers.end(); ++it) {
    if (isConnectionSpecificHeader(it->name, it->value)) continue;
    if (drop_host && it->name == "host") continue;  // it became :authority
    push(it->name, it->value, flags);
  }
}

void addDecodedHeader(HeaderMap& headers, std::string_view name, std::string_view value) {
  if (name == "cookie") {
    if (auto existing = headers.get("cookie")) {
      std::string joined;
      joined.reserve(existing->size() + 2 + value.size());
      joined.append(*existing).append("; ").append(value);
      headers.set("cookie", joined);
      return;
    }
  }
  headers.add(name, value);
}

}  // namespace remora::http::http2
