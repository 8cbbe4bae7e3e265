// HTTP/1.1 serialisation: start lines, header blocks, chunk framing. Stateless
// functions appending to a Buffer; the codecs decide the framing and pass it
// in, so every byte that delimits a message is chosen in one place per side.
//
// Called by Http1ServerCodec and Http1ClientCodec; worker-local, no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "proxy/http/header_map.h"
#include "proxy/net/buffer.h"

namespace remora::http::http1 {

// What the codec decided about the head it is encoding. The caller's own
// content-length, transfer-encoding, connection and host fields are never
// copied: framing and connection management belong to the codec.
struct HeadFraming {
  std::optional<uint64_t> content_length;
  bool chunked = false;
  // Value of the Connection field to emit ("close", "keep-alive", "upgrade"), or empty.
  std::string_view connection;
};

std::string_view reasonPhrase(uint32_t status);

// "HTTP/1.1 <status> <reason>\r\n", the fields, the framing fields, "\r\n".
void encodeResponseHead(uint32_t status, const HeaderMap& headers, const HeadFraming& framing, net::Buffer& out);

// "<method> <target> HTTP/1.1\r\n", Host from :authority, the fields, the
// framing fields, "\r\n". CONNECT uses the authority as its target.
void encodeRequestHead(const HeaderMap& headers, const HeadFraming& framing, net::Buffer& out);

// Regular fields of `headers` as "name: value\r\n". Pseudo-headers, the
// framing/connection fields above and any field whose name is not a token or
// whose value holds CR, LF or NUL are skipped: a value from an HTTP/2 peer or
// a filter must never split our message.
void encodeFields(const HeaderMap& headers, net::Buffer& out);

// "<hex size>\r\n" before a chunk of `size` (> 0) bytes.
void encodeChunkHeader(size_t size, net::Buffer& out);
// "0\r\n", the trailer fields (if any), "\r\n".
void encodeLastChunk(const HeaderMap* trailers, net::Buffer& out);

}  // namespace remora::http::http1
