#include "proxy/http/sniffer.h"

#include <array>
#include <string_view>

namespace remora::http {
namespace {

constexpr std::string_view kHttp2Preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);

// Methods a client may open an HTTP/1 connection with. Unknown extension
// methods are rare enough on a sidecar that they are proxied as opaque TCP
// rather than risk mistaking another protocol for HTTP.
constexpr std::array<std::string_view, 15> kMethods = {
    "GET ",     "HEAD ",  "POST ",     "PUT ",      "DELETE ", "CONNECT ", "OPTIONS ", "TRACE ",
    "PATCH ",   "PROPFIND ", "PROPPATCH ", "MKCOL ", "COPY ",  "MOVE ",    "LOCK ",
};

// How `data` relates to `pattern`: 1 = data starts with pattern, 0 = data is
// a proper prefix of it, -1 = neither.
int compare(std::string_view data, std::string_view pattern) {
  if (data.size() >= pattern.size()) return data.substr(0, pattern.size()) == pattern ? 1 : -1;
  return pattern.substr(0, data.size()) == data ? 0 : -1;
}

}  // namespace

SniffResult sniff(const net::Buffer& first_bytes) {
  if (first_bytes.empty()) return SniffResult::kNeedMoreData;
  char prefix[kMaxSniffBytes];
  size_t n = first_bytes.copyOut(0, kMaxSniffBytes, prefix);
  std::string_view data(prefix, n);

  // TLS record header: content type 22 (handshake), version 3.x with x <= 4.
  if (static_cast<unsigned char>(data[0]) == 0x16) {
    if (n < 3) return (n < 2 || data[1] == 0x03) ? SniffResult::kNeedMoreData : SniffResult::kOpaque;
    return (data[1] == 0x03 && static_cast<unsigned char>(data[2]) <= 0x04) ? SniffResult::kTls : SniffResult::kOpaque;
  }

  bool maybe_more = false;
  switch (compare(data, kHttp2Preface)) {
    case 1: return SniffResult::kHttp2;
    case 0: maybe_more = true; break;
    default: break;
  }
  for (std::string_view method : kMethods) {
    switch (compare(data, method)) {
      case 1: return SniffResult::kHttp1;
      case 0: maybe_more = true; break;
      default: break;
    }
  }
  return maybe_more ? SniffResult::kNeedMoreData : SniffResult::kOpaque;
}

}  // namespace remora::http
