#include "control-plane/cli/api_client.h"

#include <httplib.h>

#include <charconv>

namespace remora::cli {

namespace {

// What went wrong, in the words an operator needs. httplib reports a refused
// and an unroutable connect alike; on the loopback default it is a refusal.
std::string describe(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection: return "connection refused";
    case httplib::Error::ConnectionTimeout: return "connection timed out";
    case httplib::Error::Read: return "no answer (the connection closed or the read timed out)";
    case httplib::Error::Write: return "the request could not be sent";
    case httplib::Error::SSLConnection: return "TLS handshake failed (is the server speaking https?)";
    case httplib::Error::SSLLoadingCerts: return "could not load the CA file (--ca-file)";
    case httplib::Error::SSLServerVerification:
      return "the server's certificate could not be verified (check --ca-file)";
    default: return httplib::to_string(error);
  }
}

}  // namespace

std::string unreachableMessage(std::string_view server, std::string_view why) {
  return "cannot reach the control plane at " + std::string(server) + ": " + std::string(why) +
         "; is remora-cp running? set --server or REMORA_SERVER";
}

base::Result<std::chrono::milliseconds> parseTimeout(std::string_view text) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  long long ms = -1;
  if (ec == std::errc() && value >= 0 && value <= 3600000) {
    if (unit.empty() || unit == "s") ms = value * 1000;
    if (unit == "ms") ms = value;
    if (unit == "m") ms = value * 60000;
  }
  if (ms < 1 || ms > 3600000) {
    return base::fail(base::Error::kInvalidArgument,
                      "--timeout " + std::string(text) + ": expected a duration such as 5s, 500ms or 1m (at most 1h)");
  }
  return std::chrono::milliseconds(ms);
}

base::Result<ServerUrl> parseServerUrl(std::string_view url) {
  ServerUrl out;
  std::string_view rest = url;
  if (const size_t scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
    const std::string_view scheme = rest.substr(0, scheme_end);
    if (scheme != "http" && scheme != "https") {
      return base::fail(base::Error::kInvalidArgument,
                        "--server " + std::string(url) + ": the scheme must be http or https");
    }
    out.tls = scheme == "https";
    rest.remove_prefix(scheme_end + 3);
  }
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/") {
      return base::fail(base::Error::kInvalidArgument, "--server " + std::string(url) + ": a path is not supported");
    }
    rest = rest.substr(0, slash);
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return base::fail(base::Error::kInvalidArgument, "--server " + std::string(url) + ": unclosed '['");
    }
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return base::fail(base::Error::kInvalidArgument, "--server " + std::string(url) + ": junk after ']'");
    }
    if (!rest.empty()) port_text = rest.substr(1);
  } else {
    const size_t colon = rest.rfind(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (out.host.empty()) return base::fail(base::Error::kInvalidArgument, "--server " + std::string(url) + ": no host");
  out.port = out.tls ? 443 : 15080;
  if (!port_text.empty() || rest.find(':') != std::string_view::npos) {
    int port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
      return base::fail(base::Error::kInvalidArgument,
                        "--server " + std::string(url) + ": the port must be 1..65535");
    }
    out.port = port;
  }
  return out;
}

base::Result<std::unique_ptr<HttpApiClient>> HttpApiClient::create(ApiClientOptions options) {
  base::Result<ServerUrl> url = parseServerUrl(options.server);
  if (!url) return url.error();
  if (!url->tls && !options.ca_file.empty()) {
    return base::fail(base::Error::kInvalidArgument, "--ca-file needs an https:// --server");
  }
  // ClientImpl/SSLClient directly: httplib::Client's URL parsing throws on a
  // bad scheme, and we parse the URL ourselves anyway.
  std::unique_ptr<httplib::ClientImpl> client;
  if (url->tls) {
    auto ssl = std::make_unique<httplib::SSLClient>(url->host, url->port);
    if (!options.ca_file.empty()) ssl->set_ca_cert_path(options.ca_file.c_str());
    ssl->enable_server_certificate_verification(true);
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(url->host, url->port);
  }
  const auto sec = static_cast<time_t>(options.timeout.count() / 1000);
  const auto usec = static_cast<time_t>((options.timeout.count() % 1000) * 1000);
  client->set_connection_timeout(sec, usec);
  client->set_read_timeout(sec, usec);
  client->set_write_timeout(sec, usec);
  client->set_keep_alive(false);
  if (!options.token.empty()) client->set_bearer_token_auth(options.token.c_str());
  return std::unique_ptr<HttpApiClient>(new HttpApiClient(std::move(options), std::move(client)));
}

HttpApiClient::HttpApiClient(ApiClientOptions options, std::unique_ptr<httplib::ClientImpl> client)
    : options_(std::move(options)), client_(std::move(client)) {}

HttpApiClient::~HttpApiClient() = default;

base::Result<ApiReply> HttpApiClient::send(std::string_view method, const std::string& path,
                                           const std::string& body) {
  constexpr const char* kJson = "application/json";
  httplib::Result result = method == "GET"    ? client_->Get(path.c_str())
                           : method == "POST" ? client_->Post(path.c_str(), body, kJson)
                           : method == "PUT"  ? client_->Put(path.c_str(), body, kJson)
                           : body.empty()     ? client_->Delete(path.c_str())
                                              : client_->Delete(path.c_str(), body, kJson);
  if (!result) {
    if (options_.sidecar_admin) {
      return base::fail(base::Error::kConnectFailed, "cannot reach the sidecar's admin endpoint at " + options_.server +
                                                         ": " + describe(result.error()) + "; check --admin");
    }
    return base::fail(base::Error::kConnectFailed, unreachableMessage(options_.server, describe(result.error())));
  }
  return ApiReply{result->status, result->body};
}

}  // namespace remora::cli
