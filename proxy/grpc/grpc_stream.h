// GrpcStream: one bidirectional-streaming gRPC call made by the proxy itself
// (the ADS stream to the control plane), over its own TCP connection and our
// HTTP/2 client codec, on the main thread's loop: a sidecar carries no gRPC
// library threads. Generic transport only: serialized messages in and out,
// no protobuf, no retry (the caller reconnects, with BackoffStrategy).
//
// Thread: lives on the one Dispatcher given to start() (the main thread) and
// is used only from it. Owned by its caller through the unique_ptr start()
// returns; destroying it at any time (also from inside any of its callbacks)
// cancels the call: RST_STREAM CANCEL, GOAWAY and the connection closed,
// without further callbacks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/net/address.h"
#include "proxy/net/connection.h"
#include "proxy/net/dispatcher.h"

namespace remora::grpc {

struct GrpcStreamOptions {
  net::Address address;   // the server (one endpoint of a static cluster)
  std::string authority;  // :authority, e.g. the cluster name
  std::string path;       // "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
  std::vector<std::pair<std::string, std::string>> metadata;  // extra request headers (lower-case names)
  std::chrono::milliseconds connect_timeout{5000};
  // An HTTP/2 PING goes out when nothing has been received for this long;
  // 0 turns keepalive off.
  std::chrono::milliseconds keepalive_interval{30000};
  // No byte (the PING's ACK or anything else) within this after a PING: the
  // call fails with UNAVAILABLE.
  std::chrono::milliseconds keepalive_timeout{10000};
  // A larger incoming message fails the call with RESOURCE_EXHAUSTED.
  uint32_t max_message_bytes = 64 * 1024 * 1024;
  // Output the connection may buffer before the HTTP/2 codec is told to stop
  // (then our own queue holds further messages; none is dropped).
  uint32_t connection_buffer_limit = 1024 * 1024;
  // Opens the transport (TLS to the control plane); plain TCP when unset.
  // kConnected must mean "ready for HTTP/2 bytes" (handshake done).
  std::function<net::ConnectionPtr(net::Dispatcher&, const net::Address&)> connect;
};

// Events of one call, on the dispatcher's thread. Any callback may destroy the
// GrpcStream; then no further callback comes.
class GrpcStreamCallbacks {
 public:
  virtual ~GrpcStreamCallbacks() = default;
  // The TCP connection is up and the request headers (plus any message sent
  // before) went to the codec.
  virtual void onReady() {}
  // One whole, de-framed message, in arrival order.
  virtual void onMessage(std::string message) = 0;
  // The call ended, exactly once, and never from inside a call the owner made
  // into the stream (start, sendMessage, finish): always from its own loop
  // event. grpc_status is the server's (trailers, or a trailers-only
  // response; grpc-message percent-decoded), or ours for a failure:
  //  UNAVAILABLE (14): connect failed/refused/timed out, connection closed or
  //    reset, stream reset or refused (GOAWAY), keepalive PING not acknowledged;
  //  INTERNAL (13): HTTP/2 protocol error, non-200 :status, a response that is
  //    not application/grpc, a compressed or truncated message, no trailers;
  //  RESOURCE_EXHAUSTED (8): an incoming message over max_message_bytes;
  //  UNKNOWN (2): trailers without a (valid) grpc-status.
  // The message says why: "connect to 127.0.0.1:1234 failed: connection
  // refused", "keepalive: PING not acknowledged within 10000 ms", "HTTP status
  // 404". After it, the stream may only be destroyed.
  virtual void onClose(int grpc_status, std::string message) = 0;
};

class GrpcStreamSession;

class GrpcStream {
 public:
  // Starts connecting; events follow on `dispatcher`. `callbacks` must
  // outlive the stream. Never fails synchronously: a bad address or a refused
  // connect arrives as onClose on a later loop iteration.
  static std::unique_ptr<GrpcStream> start(net::Dispatcher& dispatcher, GrpcStreamOptions options,
                                           GrpcStreamCallbacks& callbacks);

  ~GrpcStream();
  GrpcStream(const GrpcStream&) = delete;
  GrpcStream& operator=(const GrpcStream&) = delete;

  // Frames (5-byte prefix, uncompressed) and queues one message. Before
  // onReady it waits for the connection; while the peer's flow-control window
  // or the socket is full it waits in our queue. Ignored after finish() or
  // once the call has ended.
  void sendMessage(std::string_view serialized);
  // Ends our side (END_STREAM after every queued message); the server may
  // still send, and the call ends with its status.
  void finish();
  // Connected, and the call has not ended.
  bool ready() const;
  // Framed bytes accepted by sendMessage() and not yet handed to the HTTP/2
  // codec (held back by flow control or the connect).
  size_t queuedBytes() const;

 private:
  GrpcStream(net::Dispatcher& dispatcher, std::unique_ptr<GrpcStreamSession> session);

  net::Dispatcher& dispatcher_;
  std::unique_ptr<GrpcStreamSession> session_;
};

}  // namespace remora::grpc
