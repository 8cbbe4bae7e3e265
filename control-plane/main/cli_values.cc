#include "control-plane/main/cli_values.h"

#include <charconv>
#include <cmath>
#include <fstream>

#include "control-plane/mesh/spec_checks.h"

namespace remora::cp {

using base::Error;
using base::fail;

base::Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const std::string_view unit(end, text.data() + text.size() - end);
  if (ec != std::errc() || end == text.data()) {
    return fail(Error::kInvalidArgument, "\"" + std::string(text) + "\" is not a duration like 10s or 250ms");
  }
  uint64_t factor = 0;
  if (unit == "ms") factor = 1;
  if (unit == "s") factor = 1000;
  if (unit == "m") factor = 60'000;
  if (unit == "h") factor = 3'600'000;
  if (factor == 0) {
    return fail(Error::kInvalidArgument, "\"" + std::string(text) + "\" needs a unit: ms, s, m or h");
  }
  if (value > 365ull * 24 * 3'600'000 / factor) {
    return fail(Error::kInvalidArgument, "\"" + std::string(text) + "\" is longer than a year");
  }
  return std::chrono::milliseconds(value * factor);
}

base::Result<std::pair<std::string, uint16_t>> splitHostPort(std::string_view address) {
  auto parsed = mesh::parseIpPort(address);
  if (!parsed) return fail(Error::kInvalidArgument, "\"" + std::string(address) + "\": " + parsed.error().message);
  return std::make_pair(std::move(parsed->first), static_cast<uint16_t>(parsed->second));
}

base::Result<std::string> readToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(Error::kIo, "cannot read " + path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.erase(0, 1);
  if (line.empty()) return fail(Error::kInvalidArgument, path + " holds no token on its first line");
  return line;
}

base::Status checkApiExposure(std::string_view api_address, bool has_token, bool has_tls) {
  auto split = splitHostPort(api_address);
  if (!split) return split.error();
  const std::string& host = split->first;
  const bool loopback = host.rfind("127.", 0) == 0 || host == "::1";
  if (loopback || (has_token && has_tls)) return base::Status::ok();
  return fail(Error::kInvalidArgument, "--api-address " + std::string(api_address) +
                                           " is reachable from other hosts: it needs --api-token-file and "
                                           "--api-tls-cert/--api-tls-key (or use a loopback address)");
}

base::Result<mesh::MeshTracing> parseTracingCollector(std::string_view url) {
  mesh::MeshTracing out;
  out.enabled = true;
  const std::string quoted = "\"" + std::string(url) + "\"";
  std::string_view rest = url;
  if (rest.starts_with("otlp://")) {
    rest.remove_prefix(7);
    out.format = mesh::MeshTracing::Format::kOtlp;
    out.path = std::string(mesh::kOtlpDefaultPath);
  } else if (rest.starts_with("zipkin://")) {
    rest.remove_prefix(9);
    out.format = mesh::MeshTracing::Format::kZipkin;
    out.path = std::string(mesh::kZipkinDefaultPath);
  } else {
    return fail(Error::kInvalidArgument,
                quoted + " must start with otlp:// (OTLP/HTTP) or zipkin:// (Zipkin v2 JSON)");
  }
  const size_t slash = rest.find('/');
  // The path goes into each export request's :path as it is.
  if (slash != std::string_view::npos && rest.size() > slash + 1) out.path = std::string(rest.substr(slash));
  for (char c : out.path) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '#') {
      return fail(Error::kInvalidArgument, quoted + ": the path holds a space, control character or '#'");
    }
  }
  auto host_port = mesh::parseIpPort(rest.substr(0, slash));
  if (!host_port) return fail(Error::kInvalidArgument, quoted + ": " + host_port.error().message);
  if (host_port->second == 0) return fail(Error::kInvalidArgument, quoted + ": the port must be 1..65535");
  out.host = std::move(host_port->first);
  out.port = host_port->second;
  return out;
}

base::Result<double> parseSamplingPercent(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return fail(Error::kInvalidArgument, "\"" + std::string(text) + "\" is not a number like 1 or 0.5");
  }
  if (value < 0 || value > 100) {
    return fail(Error::kInvalidArgument, "\"" + std::string(text) + "\" is not a percentage 0..100");
  }
  return value;
}

base::Result<std::vector<std::string>> parseEtcdEndpoints(std::string_view text) {
  std::vector<std::string> endpoints;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view entry = text.substr(start, comma - start);
    start = comma + 1;
    for (std::string_view scheme : {"http://", "https://"}) {
      if (entry.substr(0, scheme.size()) == scheme) entry.remove_prefix(scheme.size());
    }
    if (!entry.empty() && entry.back() == '/') entry.remove_suffix(1);
    const size_t colon = entry.rfind(':');
    uint32_t port = 0;
    bool port_ok = colon != std::string_view::npos && colon + 1 < entry.size() && colon + 6 >= entry.size();
    for (size_t i = colon + 1; port_ok && i < entry.size(); ++i) {
      port_ok = entry[i] >= '0' && entry[i] <= '9';
      port = port * 10 + static_cast<uint32_t>(entry[i] - '0');
    }
    if (!port_ok || colon == 0 || port == 0 || port > 65535) {
      return base::fail(base::Error::kInvalidArgument,
                        "'" + std::string(entry) + "' is not host:port (e.g. 10.0.0.5:2379)");
    }
    endpoints.emplace_back(entry);
  }
  return endpoints;
}

}  // namespace remora::cp
