// A deliberately tiny HTTP/1.1 client over RawConnection, for admin endpoints
// and simple checks where starting curl is overkill. One request per
// connection (Connection: close). Test thread only.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xds/base/status.h"

namespace remora::harness {

struct HttpResponse {
  int status = 0;
  std::string reason;
  // In arrival order; names lower-cased, values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  // Decoded body (chunked framing removed).
  std::string body;

  // First value of a header (name is matched case-insensitively).
  std::optional<std::string> header(std::string_view name) const;
};

// Parses a complete response as read until the server closed: status line,
// headers, then a body framed by Content-Length, chunked encoding, or the
// close. Fails on malformed or truncated input, which tests want to see.
base::Result<HttpResponse> parseHttpResponse(std::string_view raw, bool head_request = false);

struct HttpRequest {
  std::string method = "GET";
  std::string path = "/";
  // The Host header; empty: the address the request is sent to.
  std::string host;
  // Added after Host and Connection: close (and Content-Length for a body).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Sends `request` to a numeric "ip:port" and reads the response until close.
base::Result<HttpResponse> httpRequest(std::string_view host_port, const HttpRequest& request,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

base::Result<HttpResponse> httpGet(std::string_view host_port, std::string_view path,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The same request made by curl under `command_prefix` (e.g. {"ip", "netns",
// "exec", NS}): for servers in a network namespace the test's own cannot
// reach. Status and body only (no headers).
base::Result<HttpResponse> curlRequest(const std::vector<std::string>& command_prefix, std::string_view host_port,
                                       const HttpRequest& request);

base::Result<HttpResponse> httpPost(std::string_view host_port, std::string_view path, std::string body = "",
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace remora::harness
