#include "proxy/http/http1/http1_encoder.h"

#include <charconv>

#include "proxy/http/http1/http1_syntax.h"

namespace remora::http::http1 {
namespace {

// Fields the codec owns: copying the caller's would let them contradict the
// framing we chose (the root of response splitting and smuggling).
bool isCodecOwned(std::string_view name) {
  return name == "content-length" || name == "transfer-encoding" || name == "connection" || name == "host" ||
         name == "keep-alive" || name == "proxy-connection";
}

bool isSafeValue(std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// A request-target or authority must be one word on the request line.
bool isSafeTarget(std::string_view value) {
  for (char c : value) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

void addNumber(uint64_t value, net::Buffer& out) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out.add(std::string_view(digits, static_cast<size_t>(result.ptr - digits)));
}

void encodeFraming(const HeadFraming& framing, net::Buffer& out) {
  if (framing.content_length) {
    out.add("content-length: ");
    addNumber(*framing.content_length, out);
    out.add("\r\n");
  }
  if (framing.chunked) out.add("transfer-encoding: chunked\r\n");
  if (!framing.connection.empty()) {
    out.add("connection: ");
    out.add(framing.connection);
    out.add("\r\n");
  }
  out.add("\r\n");
}

}  // namespace

std::string_view reasonPhrase(uint32_t status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

void encodeFields(const HeaderMap& headers, net::Buffer& out) {
  for (const HeaderField& field : headers) {
    if (field.name.empty() || field.name.front() == ':') continue;
    if (isCodecOwned(field.name) || !isToken(field.name) || !isSafeValue(field.value)) continue;
    out.add(field.name);
    out.add(": ");
    out.add(field.value);
    out.add("\r\n");
  }
}

void encodeResponseHead(uint32_t status, const HeaderMap& headers, const HeadFraming& framing, net::Buffer& out) {
  out.add("HTTP/1.1 ");
  addNumber(status, out);
  out.add(" ");
  out.add(reasonPhrase(status));
  out.add("\r\n");
  encodeFields(headers, out);
  encodeFraming(framing, out);
}

void encodeRequestHead(const HeaderMap& headers, const HeadFraming& framing, net::Buffer& out) {
  std::string_view method = headers.method();
  std::string_view authority = headers.authority();
  if (authority.empty()) authority = headers.get("host").value_or("");
  if (!isSafeTarget(authority)) authority = "";
  std::string_view target = method == "CONNECT" ? authority : headers.path();
  if (target.empty() || !isSafeTarget(target)) target = "/";
  // The HTTP/2 codec and the router validate methods; a non-token here is a
  // bug, and writing it would split the request line.
  if (!isToken(method)) method = "GET";
  out.add(method);
  out.add(" ");
  out.add(target);
  out.add(" HTTP/1.1\r\nhost: ");
  out.add(authority);
  out.add("\r\n");
  encodeFields(headers, out);
  encodeFraming(framing, out);
}

void encodeChunkHeader(size_t size, net::Buffer& out) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof(digits), size, 16);
  out.add(std::string_view(digits, static_cast<size_t>(result.ptr - digits)));
  out.add("\r\n");
}

void encodeLastChunk(const HeaderMap* trailers, net::Buffer& out) {
  out.add("0\r\n");
  if (trailers != nullptr) encodeFields(*trailers, out);
  out.add("\r\n");
}

}  // namespace remora::http::http1
