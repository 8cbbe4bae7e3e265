#include "tests/integration/harness/http_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "tests/integration/harness/process.h"
#include "tests/integration/harness/raw_connection.h"

namespace remora::harness {
namespace {

using base::Error;
using base::fail;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Removes chunked framing; fails if the final 0-size chunk never came.
base::Result<std::string> decodeChunked(std::string_view raw) {
  std::string body;
  for (;;) {
    const size_t line_end = raw.find("\r\n");
    if (line_end == std::string_view::npos) return fail(Error::kProtocol, "chunked body truncated in a size line");
    std::string_view size_text = raw.substr(0, line_end);
    size_text = size_text.substr(0, size_text.find(';'));  // drop chunk extensions
    size_t size = 0;
    const auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc() || end != size_text.data() + size_text.size()) {
      return fail(Error::kProtocol, "bad chunk size: " + std::string(size_text));
    }
    raw.remove_prefix(line_end + 2);
    if (size == 0) return body;  // trailers, if any, are ignored
    if (raw.size() < size + 2) return fail(Error::kProtocol, "chunked body truncated in a chunk");
    body.append(raw.substr(0, size));
    raw.remove_prefix(size + 2);
  }
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  const std::string wanted = lower(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return std::nullopt;
}

base::Result<HttpResponse> parseHttpResponse(std::string_view raw, bool head_request) {
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return fail(Error::kProtocol, "no complete response head");
  std::string_view head = raw.substr(0, head_end + 2);
  std::string_view rest = raw.substr(head_end + 4);

  HttpResponse response;
  const size_t status_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, status_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || status_line[8] != ' ') {
    return fail(Error::kProtocol, "bad status line: " + std::string(status_line));
  }
  const auto [end, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, response.status);
  if (ec != std::errc() || end != status_line.data() + 12) {
    return fail(Error::kProtocol, "bad status code: " + std::string(status_line));
  }
  response.reason = std::string(trim(status_line.substr(12)));
  head.remove_prefix(status_end + 2);
  while (!head.empty()) {
    const size_t line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    head.remove_prefix(line_end + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(Error::kProtocol, "bad header line: " + std::string(line));
    response.headers.emplace_back(lower(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }

  const bool no_body = head_request || response.status == 204 || response.status == 304 ||
                       (response.status >= 100 && response.status < 200);
  if (no_body) return response;
  const auto encoding = response.header("transfer-encoding");
  if (encoding && lower(*encoding) == "chunked") {
    auto body = decodeChunked(rest);
    if (!body) return body.error();
    response.body = std::move(*body);
    return response;
  }
  if (const auto length_text = response.header("content-length")) {
    size_t length = 0;
    const auto [cl_end, cl_ec] =
        std::from_chars(length_text->data(), length_text->data() + length_text->size(), length);
    if (cl_ec != std::errc() || cl_end != length_text->data() + length_text->size()) {
      return fail(Error::kProtocol, "bad content-length: " + *length_text);
    }
    if (rest.size() < length) {
      return fail(Error::kProtocol, "body truncated: " + std::to_string(rest.size()) + " of " +
                                        std::to_string(length) + " bytes");
    }
    response.body = std::string(rest.substr(0, length));
    return response;
  }
  response.body = std::string(rest);
  return response;
}

base::Result<HttpResponse> httpRequest(std::string_view host_port, const HttpRequest& request,
                                       std::chrono::milliseconds timeout) {
  auto connection = RawConnection::connect(host_port, timeout);
  if (!connection) return connection.error();
  std::string wire = request.method + " " + request.path + " HTTP/1.1\r\nHost: " + (request.host.empty() ? std::string(host_port) : request.host) +
                     "\r\nConnection: close\r\n";
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    wire += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  for (const auto& [name, value] : request.headers) wire += name + ": " + value + "\r\n";
  wire += "\r\n";
  wire += request.body;
  if (auto sent = connection->send(wire); !sent) return sent.error();
  const std::string raw = connection->readUntilClose(timeout);
  if (!connection->peerClosed()) {
    return fail(Error::kRouteTimeout, "no complete response from " + std::string(host_port) + " within " +
                                          std::to_string(timeout.count()) + " ms; got " +
                                          std::to_string(raw.size()) + " bytes");
  }
  return parseHttpResponse(raw, request.method == "HEAD");
}

base::Result<HttpResponse> httpGet(std::string_view host_port, std::string_view path,
                                   std::chrono::milliseconds timeout) {
  HttpRequest request;
  request.path = std::string(path);
  return httpRequest(host_port, request, timeout);
}

base::Result<HttpResponse> httpPost(std::string_view host_port, std::string_view path, std::string body,
                                    std::chrono::milliseconds timeout) {
  HttpRequest request;
  request.method = "POST";
  request.path = std::string(path);
  request.body = std::move(body);
  return httpRequest(host_port, request, timeout);
}

base::Result<HttpResponse> curlRequest(const std::vector<std::string>& command_prefix, std::string_view host_port,
                                       const HttpRequest& request) {
  // The status code follows the body on a line of its own.
  std::vector<std::string> args = command_prefix;
  for (std::string arg : {std::string("curl"), std::string("-sS"), std::string("-X"), request.method,
                          std::string("-w"), std::string("\\n%{http_code}"),
                          "http://" + std::string(host_port) + request.path}) {
    args.push_back(std::move(arg));
  }
  for (const auto& [name, value] : request.headers) {
    args.push_back("-H");
    args.push_back(name + ": " + value);
  }
  if (!request.body.empty()) {
    args.push_back("--data-binary");
    args.push_back(request.body);
  }
  CommandResult result = run(args, std::chrono::seconds(10));
  if (result.exit_code != 0) return fail(Error::kIo, "curl failed: " + result.describe());
  const size_t newline = result.stdout_text.rfind('\n');
  if (newline == std::string::npos) return fail(Error::kIo, "curl printed no status: " + result.describe());
  HttpResponse response;
  unsigned status = 0;
  const std::string code = result.stdout_text.substr(newline + 1);
  std::from_chars(code.data(), code.data() + code.size(), status);
  response.status = static_cast<int>(status);
  response.body = result.stdout_text.substr(0, newline);
  return response;
}

}  // namespace remora::harness
