// Protocol sniffing: decides from the first bytes a client sends whether a
// connection speaks HTTP/1, HTTP/2 with prior knowledge, TLS, or something
// else (proxied as opaque TCP). Called by the listener's connection setup
// until it returns something other than kNeedMoreData; pure function, usable
// on any thread.
//
// A decision never needs more than the HTTP/2 preface (24 bytes): the caller
// may give up waiting (a timeout) and treat kNeedMoreData as opaque.
#pragma once

#include <cstddef>

#include "proxy/net/buffer.h"

namespace remora::http {

enum class SniffResult { kNeedMoreData, kHttp1, kHttp2, kTls, kOpaque };

// Bytes after which sniff() never answers kNeedMoreData.
inline constexpr size_t kMaxSniffBytes = 24;

// HTTP/2: the prior-knowledge preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".
// TLS: a handshake record of TLS 1.x (0x16 0x03 0x00..0x04), i.e. a ClientHello.
// HTTP/1: a known method token followed by a space.
// Otherwise opaque; kNeedMoreData while the bytes are a proper prefix of one
// of the above.
SniffResult sniff(const net::Buffer& first_bytes);

}  // namespace remora::http
