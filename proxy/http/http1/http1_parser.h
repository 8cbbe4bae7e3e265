// Http1Parser: a strict, incremental HTTP/1.x message parser (RFC 9112) for
// requests (server codec) or responses (client codec). Pull-based: the codec
// calls next() and gets at most one event per call, so it can stop between
// messages (pipelining) or while a stream is read-disabled without the parser
// knowing, and callbacks never run inside the parser.
//
// State survives between calls: a partial line is never re-scanned from its
// start, body bytes are moved (not copied) out of the input buffer, and header
// lines are parsed once each as they complete.
//
// Owned by one codec; worker-local, single-threaded. See
// docs/decisions/002-http1-parser.md for why we parse HTTP/1 ourselves.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http/codec.h"
#include "proxy/http/header_map.h"
#include "proxy/net/buffer.h"
#include "xds/base/status.h"

namespace remora::http::http1 {

class Http1Parser {
 public:
  enum class Mode { kRequest, kResponse };
  enum class Event {
    kNeedMoreData,     // every byte of the input is consumed or held as a partial line
    kHeaders,          // a message head: takeHeaders(), head()
    kData,             // body bytes in data(); dataEndsMessage() says if they end it
    kTrailers,         // the trailer section of a chunked body: takeHeaders(); ends the message
    kMessageComplete,  // a chunked body ended without trailers
  };
  // How the body of the message just parsed is delimited.
  enum class Framing {
    kNone,            // no body: the head ends the message
    kContentLength,
    kChunked,
    kCloseDelimited,  // responses only: the body runs until the connection closes
    kRaw,             // upgrade / CONNECT tunnel: every further byte is opaque
  };
  enum class EofOutcome {
    kIdle,       // no message in progress: a clean close
    kComplete,   // a close-delimited body or a tunnel ended: deliver end_stream
    kTruncated,  // framing says bytes are missing: never pretend the message ended
  };

  // Facts from the message head, valid after kHeaders until the next head.
  struct Head {
    Protocol version = Protocol::kHttp11;
    bool keep_alive = true;
    // Request: a websocket upgrade or a CONNECT (both go raw after the head).
    // Response: the response switched the connection to raw bytes (101, or a
    // 2xx answer to CONNECT).
    bool upgrade = false;
    bool connect = false;        // request method CONNECT
    bool head_method = false;    // request method HEAD
    bool informational = false;  // response 1xx other than 101: another head follows
    uint32_t status = 0;         // responses
    Framing framing = Framing::kNone;
    uint64_t content_length = 0;
  };

  // What the response being parsed answers (client side): HEAD and CONNECT
  // change its framing, and a 101 is only valid after an upgrade request.
  struct ResponseContext {
    bool head = false;
    bool connect = false;
    bool upgrade = false;
  };

  Http1Parser(Mode mode, const CodecLimits& limits);

  // Parses from the front of `input`, consuming what it parses.
  base::Result<Event> next(net::Buffer& input);
  HeaderMapPtr takeHeaders() { return std::move(headers_); }
  const Head& head() const { return head_; }
  // Body bytes of the last kData event; the caller drains (or moves) them.
  net::Buffer& data() { return data_; }
  bool dataEndsMessage() const { return data_ends_message_; }

  void setResponseContext(const ResponseContext& context) { context_ = context; }
  // The peer closed the connection; next() must have returned kNeedMoreData.
  EofOutcome onEof();
  // True between messages (no byte of a next message consumed yet).
  bool betweenMessages() const { return state_ == State::kStartLine && scanned_ == 0; }

  // After next() failed: the status a server answers with (400, 414, 431, 505).
  uint32_t errorStatus() const { return error_status_; }

 private:
  enum class State {
    kStartLine,
    kHeaderLine,
    kBody,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailerLine,
    kUntilClose,  // close-delimited body or raw tunnel
    kFailed,
  };

  // Finds the next CRLF-terminated line. Returns false (and remembers how far
  // it scanned) when the line is incomplete; `line` points into `input`, valid
  // until the caller drains line_size_ bytes.
  base::Result<bool> takeLine(net::Buffer& input, size_t limit, uint32_t too_long_status,
                              std::string_view too_long_reason, std::string_view& line);
  base::Status parseRequestLine(std::string_view line);
  base::Status parseRequestTarget(std::string_view method, std::string_view target);
  base::Status parseStatusLine(std::string_view line);
  base::Status parseField(std::string_view line, bool trailer);
  base::Status finishHead();
  base::Status finishRequestHead();
  base::Status finishResponseHead();
  base::Status parseChunkSize(std::string_view line);
  void startMessage();
  void endMessage();
  base::Failure failWith(uint32_t status, base::Error code, std::string_view reason);

  const Mode mode_;
  const size_t max_head_bytes_;
  const uint32_t max_fields_;

  State state_ = State::kStartLine;
  size_t scanned_ = 0;    // bytes of the current partial line already searched for LF
  size_t line_size_ = 0;  // bytes to drain after the line returned by takeLine
  size_t head_bytes_ = 0;       // header (or trailer) section bytes so far
  uint32_t field_count_ = 0;
  uint64_t remaining_ = 0;      // Content-Length or chunk bytes still to come
  uint32_t error_status_ = 400;

  HeaderMapPtr headers_;
  Head head_;
  ResponseContext context_;
  net::Buffer data_;
  bool data_ends_message_ = false;

  // Framing-relevant fields seen in the current head, checked in finishHead().
  bool saw_content_length_ = false;
  uint64_t content_length_ = 0;
  bool saw_transfer_encoding_ = false;
  bool transfer_encoding_chunked_ = false;
  uint32_t host_count_ = 0;
  std::string host_;
  bool authority_from_target_ = false;
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  bool connection_upgrade_ = false;
  bool upgrade_websocket_ = false;
};

}  // namespace remora::http::http1
