// HttpPost: one HTTP/1.1 POST of a span batch to a collector, over its own
// TCP connection (opened, used for one request, closed): the span exporter
// posts about once a second, so keeping a connection alive would buy nothing
// and add a stale-connection case. Built on the proxy's own pieces
// (net::connectTcp, the HTTP/1 client codec); the response's status decides,
// its body is not read.
//
// Main thread (the exporter's dispatcher). The owner holds it by
// unique_ptr; `done` runs at most once, never from inside start(), and the
// owner may drop the object from inside `done` only through deferred
// deletion (done runs inside the object's own callbacks).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "proxy/http/codec.h"
#include "proxy/net/address.h"
#include "proxy/net/connection.h"
#include "proxy/net/dispatcher.h"

namespace remora::tracing {

struct HttpPostRequest {
  std::string authority;  // Host
  std::string path;
  std::string content_type;
  std::string body;
};

struct HttpPostResult {
  bool ok = false;      // a 2xx response arrived
  uint32_t status = 0;  // the response's status; 0 when none came
  std::string error;    // why it failed, in words ("connect failed: connection refused", "HTTP 503")
};

class HttpPost final : public net::DeferredDeletable,
                       public net::ConnectionCallbacks,
                       public http::CodecTransport,
                       public http::ClientCodecCallbacks {
 public:
  using DoneFn = std::function<void(HttpPostResult)>;

  // Connects to `address` and sends `request`; `timeout` bounds the whole
  // exchange (connect, send, response headers).
  static std::unique_ptr<HttpPost> start(net::Dispatcher& dispatcher, const net::Address& address,
                                         HttpPostRequest request, std::chrono::milliseconds timeout, DoneFn done);
  ~HttpPost() override;

  // No callback after this; the connection closes now.
  void cancel();

  // net::ConnectionCallbacks
  void onData(net::Buffer& data, bool end_stream) override;
  void onEvent(net::ConnectionEvent event) override;
  // http::CodecTransport
  void write(net::Buffer& data) override;
  void readDisable(bool disable) override;

 private:
  // The response half; its own object because http::StreamCallbacks::onData
  // and net::ConnectionCallbacks::onData share a signature.
  struct Response final : http::StreamCallbacks {
    explicit Response(HttpPost& post) : post(post) {}
    void onHeaders(http::HeaderMapPtr headers, bool end_stream) override;
    void onData(net::Buffer& data, bool) override { data.clear(); }
    void onTrailers(http::HeaderMapPtr) override {}
    void onReset(http::StreamResetReason reason, std::string_view detail) override;
    HttpPost& post;
  };

  HttpPost(net::Dispatcher& dispatcher, HttpPostRequest request, DoneFn done);
  void onConnected();
  void finish(HttpPostResult result);
  void closeConnection();

  net::Dispatcher& dispatcher_;
  HttpPostRequest request_;
  DoneFn done_;
  bool connected_ = false;
  Response response_{*this};
  net::ConnectionPtr connection_;
  // After connection_ and response_: dies first, and may still write to or
  // call back into them while it does.
  std::unique_ptr<http::ClientCodec> codec_;
  net::TimerPtr timeout_timer_;
};

}  // namespace remora::tracing
