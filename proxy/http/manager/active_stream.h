// ActiveStream: one request/response exchange on a downstream connection.
// It receives the client's request events from the codec, hands them to its
// StreamHandler (the router), encodes the handler's response back, and builds
// every local reply Remora sends.
//
// Worker-local; owned by its ConnectionManager.
#pragma once

#include <memory>
#include <string>

#include "proxy/http/codec.h"
#include "proxy/http/manager/stream_handler.h"
#include "proxy/net/dispatcher.h"

namespace remora::http::manager {

class ConnectionManager;

class ActiveStream : public StreamCallbacks, public DownstreamStream, public net::DeferredDeletable {
 public:
  ActiveStream(ConnectionManager& manager, Stream& stream);
  ~ActiveStream() override;

  // StreamCallbacks: the client's request.
  void onHeaders(HeaderMapPtr headers, bool end_stream) override;
  void onData(net::Buffer& data, bool end_stream) override;
  void onTrailers(HeaderMapPtr trailers) override;
  void onReset(StreamResetReason reason, std::string_view detail) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // DownstreamStream: the response.
  void encodeHeaders(HeaderMapPtr headers, bool end_stream) override;
  void encodeData(net::Buffer& data, bool end_stream) override;
  void encodeTrailers(HeaderMapPtr trailers) override;
  void encodeInformational(const HeaderMap& headers) override;
  void sendLocalReply(uint32_t status, base::Error reason, std::string_view detail) override;
  void resetDownstream(base::Error reason, std::string_view detail) override;
  void readDisableDownstream(bool disable) override;
  bool responseStarted() const override { return response_started_; }
  Protocol protocol() const override;
  const net::Address& remoteAddress() const override;
  const net::Address& localAddress() const override;
  const net::Address* originalDestination() const override;
  std::string_view peerIdentity() const override;
  net::Dispatcher& dispatcher() override;
  observability::RequestRecord* record() override { return &record_; }
  uint64_t prepareUpstreamAttempt(HeaderMap& upstream_headers) override;

  // The connection closed or is draining under this stream.
  void abort(std::string_view reason);
  bool requestComplete() const { return request_done_; }
  bool responseComplete() const { return response_done_; }

 private:
  void requestEnded();
  void responseEnded();
  void finish();
  void onIdleTimeout();
  void touch();

  ConnectionManager& manager_;
  Stream* stream_;  // the codec's; null once the stream ended or was reset
  std::unique_ptr<StreamHandler> handler_;
  net::TimerPtr idle_timer_;
  net::Dispatcher::MonotonicTime last_activity_{};
  net::TimerPtr request_timer_;
  uint32_t response_status_ = 0;
  bool request_done_ = false;
  bool response_started_ = false;
  bool response_done_ = false;
  bool finished_ = false;
  bool is_head_ = false;
  bool is_grpc_ = false;  // content-type application/grpc*: local replies speak gRPC
  observability::RequestRecord record_;
};

// Status, x-remora-error value and words for a local reply. Also used by
// tests and docs: this is the whole catalogue of replies Remora makes up.
uint32_t localReplyStatus(base::Error reason);
// A gRPC request's local reply: the grpc-status for a reason (timeouts are
// DEADLINE_EXCEEDED) or else for the HTTP status (the gRPC spec's mapping),
// and grpc-message's percent-encoding.
uint32_t grpcStatusFor(base::Error reason, uint32_t http_status);
std::string grpcMessageEncode(std::string_view text);

}  // namespace remora::http::manager
