// Translation between HeaderMap and nghttp2's name/value arrays, plus the
// HTTP/2 header rules that make an HTTP/1 message encode cleanly: drop the
// connection-specific fields (RFC 9113 8.2.2) and fill in :scheme and
// :authority for requests that came from HTTP/1.
//
// Used by Http2Stream on the worker that owns the connection; an NvBuilder is
// scratch space reused for every HEADERS frame the connection submits.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <string_view>
#include <vector>

#include "proxy/http/header_map.h"

namespace remora::http::http2 {

// True for fields HTTP/2 forbids (connection, keep-alive, proxy-connection,
// transfer-encoding, upgrade) and for te unless its value is "trailers".
bool isConnectionSpecificHeader(std::string_view lower_name, std::string_view value);

class NvBuilder {
 public:
  enum class Kind { kRequest, kResponse, kTrailers };

  // Fills the array from `headers`. With `borrow`, names and values point
  // into `headers` (NGHTTP2_NV_FLAG_NO_COPY_*): the caller promises the frame
  // is serialized before `headers` changes or dies. Synthesized fields always
  // point at static strings and never need copying.
  void build(const HeaderMap& headers, Kind kind, bool borrow);

  const nghttp2_nv* data() const { return nva_.data(); }
  size_t size() const { return nva_.size(); }

 private:
  void push(std::string_view name, std::string_view value, uint8_t flags);

  std::vector<nghttp2_nv> nva_;
};

// Appends one decoded field to `headers`. HTTP/2 splits cookies into crumbs
// (RFC 9113 8.2.3); they are joined back with "; " so HTTP/1 peers see one
// Cookie field.
void addDecodedHeader(HeaderMap& headers, std::string_view name, std::string_view value);

}  // namespace remora::http::http2
