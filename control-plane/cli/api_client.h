// remoractl's side of the JSON management API (docs/api.md): one HTTP(S)
// request at a time to remora-cp, bearer token and CA file as configured.
// `ApiTransport` is the seam the command tests fake; `HttpApiClient` is the
// real one over cpp-httplib, which stays inside api_client.cc.
//
// Used by the commands on the main (only) thread of remoractl.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "xds/base/status.h"

namespace httplib {
class ClientImpl;
}

namespace remora::cli {

struct ApiReply {
  int status = 0;
  std::string body;
};

class ApiTransport {
 public:
  virtual ~ApiTransport() = default;
  // One request; a body is sent as application/json. Any HTTP status is a
  // reply. Fails with kConnectFailed when no answer came (refused, timed
  // out, TLS failure): the message is the whole sentence to print.
  virtual base::Result<ApiReply> send(std::string_view method, const std::string& path,
                                      const std::string& body) = 0;
};

struct ServerUrl {
  bool tls = false;
  std::string host;  // without IPv6 brackets
  int port = 0;
};

// "http://127.0.0.1:15080", "https://cp.example:8443/", "[::1]:15080" (no
// scheme: http). The port defaults to 15080 for http and 443 for https.
// Fails with kInvalidArgument naming what is wrong.
base::Result<ServerUrl> parseServerUrl(std::string_view url);

struct ApiClientOptions {
  std::string server = "http://127.0.0.1:15080";
  std::string token;    // empty: no Authorization header
  std::string ca_file;  // https only; empty: the system's trust store
  // Connect, and each read and write. Longer than remora-cp's own store
  // deadline (5 s per etcd call, a read then a write), so a store that cannot
  // commit is reported with the server's 503 and its reason, not as silence.
  std::chrono::milliseconds timeout{15000};
  // The peer is a sidecar's admin endpoint (proxy-config), not remora-cp:
  // only the "cannot reach" message differs.
  bool sidecar_admin = false;
};

class HttpApiClient final : public ApiTransport {
 public:
  // Fails with kInvalidArgument for a bad --server URL, or a --ca-file on
  // plain http.
  static base::Result<std::unique_ptr<HttpApiClient>> create(ApiClientOptions options);
  ~HttpApiClient() override;

  base::Result<ApiReply> send(std::string_view method, const std::string& path, const std::string& body) override;

 private:
  HttpApiClient(ApiClientOptions options, std::unique_ptr<httplib::ClientImpl> client);

  ApiClientOptions options_;
  std::unique_ptr<httplib::ClientImpl> client_;
};

// --timeout: "5s", "500ms", "1m", or a bare number of seconds; 1 ms..1 h.
base::Result<std::chrono::milliseconds> parseTimeout(std::string_view text);

// The sentence remoractl prints when the server gave no answer:
// "cannot reach the control plane at URL: WHY; is remora-cp running? set
// --server or REMORA_SERVER".
std::string unreachableMessage(std::string_view server, std::string_view why);

}  // namespace remora::cli
