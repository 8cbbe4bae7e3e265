#include "proxy/http/http1/http1_parser.h"

#include <algorithm>

#include "proxy/http/http1/http1_syntax.h"

namespace remora::http::http1 {
namespace {

using base::Error;
using base::Status;

// A chunk-size line is a hex number and rare extensions; 4 KiB is generous and
// keeps a peer from making us buffer an endless line.
constexpr size_t kMaxChunkLineBytes = 4096;
constexpr uint64_t kMaxChunkSize = uint64_t{1} << 62;

std::string_view skipWs(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

size_t tokenLength(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && isTokenChar(static_cast<unsigned char>(s[n]))) ++n;
  return n;
}

bool isQdText(unsigned char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

// Length of the quoted-string at the front of `s` (which starts with '"'), or
// 0 when it is unterminated or holds a byte the grammar forbids.
size_t quotedStringLength(std::string_view s) {
  for (size_t i = 1; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (i + 1 >= s.size()) return 0;
      unsigned char escaped = static_cast<unsigned char>(s[i + 1]);
      if (escaped != '\t' && escaped != ' ' && !(escaped >= 0x21 && escaped != 0x7f)) return 0;
      ++i;
      continue;
    }
    if (!isQdText(c)) return 0;
  }
  return 0;
}

unsigned hexValue(char c) {
  if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
  return static_cast<unsigned>(c - 'A' + 10);
}

// "HTTP/1.1" / "HTTP/1.0" -> the protocol; anything else of the form
// HTTP/d.d -> 505, garbage -> 400.
bool parseVersion(std::string_view v, Protocol& out, bool& well_formed) {
  well_formed = v.size() == 8 && v.substr(0, 5) == "HTTP/" && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
                v[7] >= '0' && v[7] <= '9';
  if (v == "HTTP/1.1") {
    out = Protocol::kHttp11;
    return true;
  }
  if (v == "HTTP/1.0") {
    out = Protocol::kHttp10;
    return true;
  }
  return false;
}

}  // namespace

Http1Parser::Http1Parser(Mode mode, const CodecLimits& limits)
    : mode_(mode),
      max_head_bytes_(static_cast<size_t>(limits.max_request_headers_kb) * 1024),
      max_fields_(limits.max_headers_count) {}

base::Failure Http1Parser::failWith(uint32_t status, Error code, std::string_view reason) {
  state_ = State::kFailed;
  error_status_ = status;
  return base::fail(code, std::string(reason));
}

base::Result<bool> Http1Parser::takeLine(net::Buffer& input, size_t limit, uint32_t too_long_status,
                                         std::string_view too_long_reason, std::string_view& line) {
  // Only the bytes that arrived since the last call are searched.
  size_t lf = input.search("\n", scanned_);
  if (lf == net::Buffer::npos) {
    scanned_ = input.length();
    if (scanned_ > limit) return failWith(too_long_status, Error::kHeadersTooLarge, too_long_reason);
    return false;
  }
  if (lf + 1 > limit) return failWith(too_long_status, Error::kHeadersTooLarge, too_long_reason);
  // A bare LF is a line end to some parsers and not to others: refuse it.
  if (lf == 0 || input.at(lf - 1) != '\r') return failWith(400, Error::kProtocol, "bare_lf");
  const char* p = input.linearize(lf + 1);
  line = std::string_view(p, lf - 1);
  line_size_ = lf + 1;
  scanned_ = 0;
  return true;
}

base::Result<Http1Parser::Event> Http1Parser::next(net::Buffer& input) {
  data_ends_message_ = false;
  while (true) {
    switch (state_) {
      case State::kFailed:
        return base::fail(Error::kProtocol, "parser_failed");

      case State::kStartLine: {
        std::string_view line;
        auto got = takeLine(input, max_head_bytes_, mode_ == Mode::kRequest ? 414 : 502,
                            mode_ == Mode::kRequest ? "request_line_too_long" : "status_line_too_long", line);
        if (!got) return got.error();
        if (!*got) return Event::kNeedMoreData;
        if (line.empty()) {
          // RFC 9112 2.2: empty lines before a start line are ignored.
          input.drain(line_size_);
          continue;
        }
        startMessage();
        head_bytes_ = line_size_;
        Status st = mode_ == Mode::kRequest ? parseRequestLine(line) : parseStatusLine(line);
        input.drain(line_size_);
        if (!st) return st.error();
        state_ = State::kHeaderLine;
        continue;
      }

      case State::kHeaderLine:
      case State::kTrailerLine: {
        const bool trailer = state_ == State::kTrailerLine;
        size_t budget = max_head_bytes_ > head_bytes_ ? max_head_bytes_ - head_bytes_ : 0;
        std::string_view line;
        auto got = takeLine(input, budget, 431, "headers_too_large", line);
        if (!got) return got.error();
        if (!*got) return Event::kNeedMoreData;
        head_bytes_ += line_size_;
        if (line.empty()) {
          input.drain(line_size_);
          if (!trailer) {
            Status st = finishHead();
            if (!st) return st.error();
            return Event::kHeaders;
          }
          endMessage();
          if (headers_->empty()) {
            headers_.reset();
            return Event::kMessageComplete;
          }
          return Event::kTrailers;
        }
        Status st = parseField(line, trailer);
        input.drain(line_size_);
        if (!st) return st.error();
        continue;
      }

      case State::kBody: {
        if (input.empty()) return Event::kNeedMoreData;
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, input.length()));
        data_.move(input, n);
        remaining_ -= n;
        if (remaining_ == 0) {
          data_ends_message_ = true;
          endMessage();
        }
        return Event::kData;
      }

      case State::kChunkSize: {
        std::string_view line;
        auto got = takeLine(input, kMaxChunkLineBytes, 400, "chunk_line_too_long", line);
        if (!got) return got.error();
        if (!*got) return Event::kNeedMoreData;
        Status st = parseChunkSize(line);
        input.drain(line_size_);
        if (!st) return st.error();
        if (remaining_ == 0) {
          // The last chunk: a trailer section follows, with its own budget.
          state_ = State::kTrailerLine;
          headers_ = std::make_unique<HeaderMap>();
          head_bytes_ = 0;
          field_count_ = 0;
        } else {
          state_ = State::kChunkData;
        }
        continue;
      }

      case State::kChunkData: {
        if (input.empty()) return Event::kNeedMoreData;
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, input.length()));
        data_.move(input, n);
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kChunkDataEnd;
        return Event::kData;
      }

      case State::kChunkDataEnd: {
        if (input.empty()) return Event::kNeedMoreData;
        if (input.at(0) != '\r') return failWith(400, Error::kProtocol, "missing_crlf_after_chunk");
        if (input.length() < 2) return Event::kNeedMoreData;
        if (input.at(1) != '\n') return failWith(400, Error::kProtocol, "missing_crlf_after_chunk");
        input.drain(2);
        state_ = State::kChunkSize;
        continue;
      }

      case State::kUntilClose: {
        if (input.empty()) return Event::kNeedMoreData;
        data_.move(input);
        return Event::kData;
      }
    }
  }
}

Http1Parser::EofOutcome Http1Parser::onEof() {
  switch (state_) {
    case State::kStartLine:
      return scanned_ == 0 ? EofOutcome::kIdle : EofOutcome::kTruncated;
    case State::kUntilClose:
      endMessage();
      return EofOutcome::kComplete;
    default:
      return EofOutcome::kTruncated;
  }
}

void Http1Parser::startMessage() {
  headers_ = std::make_unique<HeaderMap>();
  head_ = Head{};
  head_bytes_ = 0;
  field_count_ = 0;
  remaining_ = 0;
  saw_content_length_ = false;
  content_length_ = 0;
  saw_transfer_encoding_ = false;
  transfer_encoding_chunked_ = false;
  host_count_ = 0;
  host_.clear();
  authority_from_target_ = false;
  connection_close_ = false;
  connection_keep_alive_ = false;
  connection_upgrade_ = false;
  upgrade_websocket_ = false;
}

void Http1Parser::endMessage() {
  state_ = State::kStartLine;
  head_bytes_ = 0;
  field_count_ = 0;
  remaining_ = 0;
}

Status Http1Parser::parseRequestLine(std::string_view line) {
  // method SP request-target SP HTTP-version: exactly two single spaces.
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return failWith(400, Error::kProtocol, "invalid_request_line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!isToken(method)) return failWith(400, Error::kProtocol, "invalid_method");
  bool well_formed = false;
  if (!parseVersion(version, head_.version, well_formed)) {
    return well_formed ? failWith(505, Error::kProtocol, "unsupported_http_version")
                       : failWith(400, Error::kProtocol, "invalid_http_version");
  }
  if (target.empty()) return failWith(400, Error::kProtocol, "invalid_request_target");
  head_.connect = method == "CONNECT";
  head_.head_method = method == "HEAD";
  headers_->add(":method", method);
  return parseRequestTarget(method, target);
}

Status Http1Parser::parseRequestTarget(std::string_view method, std::string_view target) {
  auto bad = [this] { return failWith(400, Error::kProtocol, "invalid_request_target"); };
  if (head_.connect) {
    // authority-form is the only form CONNECT takes, and the only place it is valid.
    if (target.find(':') == std::string_view::npos || !isValidAuthority(target)) return bad();
    headers_->add(":authority", target);
    authority_from_target_ = true;
    return Status::ok();
  }
  if (target.front() == '/') {
    if (!isValidPathAndQuery(target)) return bad();
    headers_->add(":scheme", "http");
    headers_->add(":path", target);
    return Status::ok();
  }
  if (target == "*") {
    if (method != "OPTIONS") return bad();
    headers_->add(":scheme", "http");
    headers_->add(":path", "*");
    return Status::ok();
  }
  // absolute-form: scheme "://" authority [path-abempty] [ "?" query ].
  size_t sep = target.find("://");
  if (sep == std::string_view::npos) return bad();
  std::string_view scheme = target.substr(0, sep);
  const char* scheme_name = nullptr;
  if (equalsIgnoreCase(scheme, "http")) scheme_name = "http";
  if (equalsIgnoreCase(scheme, "https")) scheme_name = "https";
  if (scheme_name == nullptr) return bad();
  std::string_view rest = target.substr(sep + 3);
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  std::string path(end == std::string_view::npos ? std::string_view() : rest.substr(end));
  if (authority.empty() || !isValidAuthority(authority)) return bad();
  if (path.empty() || path.front() == '?') path.insert(0, "/");
  if (!isValidPathAndQuery(path)) return bad();
  headers_->add(":scheme", scheme_name);
  headers_->add(":authority", authority);
  headers_->add(":path", path);
  authority_from_target_ = true;
  return Status::ok();
}

Status Http1Parser::parseStatusLine(std::string_view line) {
  bool well_formed = false;
  if (line.size() < 12 || !parseVersion(line.substr(0, 8), head_.version, well_formed)) {
    return failWith(502, Error::kProtocol, well_formed ? "unsupported_http_version" : "invalid_status_line");
  }
  std::string_view code = line.substr(9, 3);
  if (line[8] != ' ' || code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' ||
      code[2] > '9') {
    return failWith(502, Error::kProtocol, "invalid_status_line");
  }
  // The reason phrase may be absent; when present it follows one SP.
  if (line.size() > 12 && (line[12] != ' ' || !isFieldValue(line.substr(13)))) {
    return failWith(502, Error::kProtocol, "invalid_status_line");
  }
  head_.status = static_cast<uint32_t>((code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0'));
  headers_->add(":status", code);
  return Status::ok();
}

Status Http1Parser::parseField(std::string_view line, bool trailer) {
  if (line.front() == ' ' || line.front() == '\t') return failWith(400, Error::kProtocol, "obs_fold");
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return failWith(400, Error::kProtocol, "missing_colon");
  std::string_view name = line.substr(0, colon);
  if (name.empty()) return failWith(400, Error::kProtocol, "empty_field_name");
  if (!isToken(name)) {
    if (name.back() == ' ' || name.back() == '\t') return failWith(400, Error::kProtocol, "whitespace_before_colon");
    return failWith(400, Error::kProtocol, "invalid_field_name");
  }
  std::string_view value = trimOws(line.substr(colon + 1));
  if (!isFieldValue(value)) return failWith(400, Error::kProtocol, "invalid_field_value");
  if (++field_count_ > max_fields_) return failWith(431, Error::kHeadersTooLarge, "too_many_headers");

  if (trailer) {
    // A trailer that frames or routes would let a body rewrite its own head.
    if (equalsIgnoreCase(name, "content-length") || equalsIgnoreCase(name, "transfer-encoding") ||
        equalsIgnoreCase(name, "host") || equalsIgnoreCase(name, "connection")) {
      return failWith(400, Error::kProtocol, "forbidden_trailer");
    }
    headers_->add(name, value);
    return Status::ok();
  }
  if (equalsIgnoreCase(name, "content-length")) {
    auto length = parseContentLength(value);
    if (!length) return failWith(400, Error::kProtocol, "invalid_content_length");
    if (saw_content_length_) {
      if (*length != content_length_) return failWith(400, Error::kProtocol, "conflicting_content_length");
      return Status::ok();
    }
    saw_content_length_ = true;
    content_length_ = *length;
    headers_->add("content-length", std::to_string(*length));
    return Status::ok();
  }
  if (equalsIgnoreCase(name, "transfer-encoding")) {
    // Only a single, bare "chunked": any other coding list is where
    // front-end and back-end disagree about where the body ends.
    if (saw_transfer_encoding_) return failWith(400, Error::kProtocol, "multiple_transfer_encoding");
    saw_transfer_encoding_ = true;
    if (!equalsIgnoreCase(value, "chunked")) return failWith(400, Error::kProtocol, "unsupported_transfer_encoding");
    transfer_encoding_chunked_ = true;
    return Status::ok();
  }
  if (mode_ == Mode::kRequest && equalsIgnoreCase(name, "host")) {
    if (!isValidAuthority(value)) return failWith(400, Error::kProtocol, "invalid_host");
    ++host_count_;
    host_.assign(value);
    return Status::ok();
  }
  if (equalsIgnoreCase(name, "connection")) {
    connection_close_ = connection_close_ || listHasToken(value, "close");
    connection_keep_alive_ = connection_keep_alive_ || listHasToken(value, "keep-alive");
    connection_upgrade_ = connection_upgrade_ || listHasToken(value, "upgrade");
  } else if (equalsIgnoreCase(name, "upgrade")) {
    upgrade_websocket_ = upgrade_websocket_ || listHasToken(value, "websocket");
  }
  headers_->add(name, value);
  return Status::ok();
}

Status Http1Parser::finishHead() {
  if (saw_transfer_encoding_ && head_.version == Protocol::kHttp10) {
    // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
    return failWith(400, Error::kProtocol, "transfer_encoding_in_http10");
  }
  if (saw_transfer_encoding_ && saw_content_length_) {
    return failWith(400, Error::kProtocol, "content_length_and_transfer_encoding");
  }
  head_.keep_alive = head_.version == Protocol::kHttp11 ? !connection_close_
                                                        : (connection_keep_alive_ && !connection_close_);
  head_.content_length = content_length_;
  return mode_ == Mode::kRequest ? finishRequestHead() : finishResponseHead();
}

Status Http1Parser::finishRequestHead() {
  if (host_count_ > 1) return failWith(400, Error::kProtocol, "multiple_host");
  if (host_count_ == 0 && head_.version == Protocol::kHttp11) return failWith(400, Error::kProtocol, "missing_host");
  // With an absolute-form target the Host field is ignored (RFC 9112 3.2.2).
  if (!authority_from_target_ && !host_.empty()) headers_->add(":authority", host_);

  const bool websocket = connection_upgrade_ && upgrade_websocket_;
  if (head_.connect || websocket) {
    if (saw_transfer_encoding_ || content_length_ > 0) {
      return failWith(400, Error::kProtocol, "body_on_upgrade_request");
    }
    head_.upgrade = true;
    head_.framing = Framing::kRaw;
    state_ = State::kUntilClose;
    return Status::ok();
  }
  if (transfer_encoding_chunked_) {
    head_.framing = Framing::kChunked;
    state_ = State::kChunkSize;
  } else if (content_length_ > 0) {
    head_.framing = Framing::kContentLength;
    remaining_ = content_length_;
    state_ = State::kBody;
  } else {
    // No Content-Length and no Transfer-Encoding: a request has no body.
    head_.framing = Framing::kNone;
    endMessage();
  }
  return Status::ok();
}

Status Http1Parser::finishResponseHead() {
  const uint32_t status = head_.status;
  if (status == 101) {
    if (!context_.upgrade) return failWith(502, Error::kProtocol, "unexpected_101");
    head_.upgrade = true;
    head_.keep_alive = false;
    head_.framing = Framing::kRaw;
    state_ = State::kUntilClose;
    return Status::ok();
  }
  if (status < 200) {
    head_.informational = true;
    head_.framing = Framing::kNone;
    endMessage();
    return Status::ok();
  }
  if (context_.connect && status / 100 == 2) {
    head_.upgrade = true;
    head_.keep_alive = false;
    head_.framing = Framing::kRaw;
    state_ = State::kUntilClose;
    return Status::ok();
  }
  if (context_.head || status == 204 || status == 304) {
    head_.framing = Framing::kNone;
    endMessage();
    return Status::ok();
  }
  if (transfer_encoding_chunked_) {
    head_.framing = Framing::kChunked;
    state_ = State::kChunkSize;
  } else if (saw_content_length_) {
    if (content_length_ == 0) {
      head_.framing = Framing::kNone;
      endMessage();
    } else {
      head_.framing = Framing::kContentLength;
      remaining_ = content_length_;
      state_ = State::kBody;
    }
  } else {
    head_.framing = Framing::kCloseDelimited;
    head_.keep_alive = false;
    state_ = State::kUntilClose;
  }
  return Status::ok();
}

Status Http1Parser::parseChunkSize(std::string_view line) {
  size_t digits = 0;
  uint64_t size = 0;
  while (digits < line.size() && isHexDigit(static_cast<unsigned char>(line[digits]))) {
    if (digits == 16) return failWith(400, Error::kProtocol, "chunk_size_too_long");
    size = (size << 4) | hexValue(line[digits]);
    ++digits;
  }
  if (digits == 0) return failWith(400, Error::kProtocol, "invalid_chunk_size");
  if (size > kMaxChunkSize) return failWith(400, Error::kProtocol, "chunk_size_overflow");
  // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), nothing else.
  std::string_view rest = line.substr(digits);
  auto bad_ext = [this] { return failWith(400, Error::kProtocol, "invalid_chunk_extension"); };
  while (!rest.empty()) {
    rest = skipWs(rest);
    if (rest.empty() || rest.front() != ';') return bad_ext();
    rest = skipWs(rest.substr(1));
    size_t n = tokenLength(rest);
    if (n == 0) return bad_ext();
    rest.remove_prefix(n);
    std::string_view after = skipWs(rest);
    if (!after.empty() && after.front() == '=') {
      rest = skipWs(after.substr(1));
      n = (!rest.empty() && rest.front() == '"') ? quotedStringLength(rest) : tokenLength(rest);
      if (n == 0) return bad_ext();
      rest.remove_prefix(n);
    }
  }
  remaining_ = size;
  return Status::ok();
}

}  // namespace remora::http::http1
