// ConnectionManager: serves HTTP on one downstream connection. It owns the
// connection and its server codec (HTTP/1.1 or HTTP/2), creates an
// ActiveStream per request with a handler from the factory, enforces the
// connection's timeouts (request headers, idle) and drains on shutdown.
//
// Worker-local. Owned by the listener that accepted the connection (through
// ConnectionOwner); when the connection closes it asks its owner to release
// it, and the owner defers the deletion.
#pragma once

#include <list>
#include <memory>
#include <vector>

#include "proxy/http/codec.h"
#include "proxy/http/manager/stream_handler.h"
#include "proxy/net/connection.h"
#include "xds/resources/model.h"

namespace remora::http::manager {

class ActiveStream;

using net::ConnectionOwner;

struct ManagerSettings {
  std::chrono::milliseconds request_headers_timeout{10000};
  std::chrono::milliseconds stream_idle_timeout{300000};
  std::chrono::milliseconds request_timeout{0};
  std::chrono::milliseconds idle_timeout{3600000};
  std::chrono::milliseconds drain_timeout{5000};
  CodecLimits limits;
  bool websocket_upgrade = false;
  bool connect_upgrade = false;
  observability::TrafficDirection direction = observability::TrafficDirection::kUnspecified;
  std::string_view listener;  // the listener's name (outlives its managers)
  // Sees every request (metrics, tracing, access log); null: none.
  StreamObserver* observer = nullptr;
};
ManagerSettings managerSettingsFor(const xds::resources::HttpConnectionManager& config);

class ConnectionManager : public net::ConnectionCallbacks,
                          public CodecTransport,
                          public ServerCodecCallbacks,
                          public net::DeferredDeletable {
 public:
  // auto_detect: the protocol is not known yet; the first bytes decide
  // (the HTTP/2 connection preface, else HTTP/1.1).
  ConnectionManager(net::ConnectionPtr connection, Protocol protocol, bool auto_detect,
                    const ManagerSettings& settings, StreamHandlerFactory& factory, ManagerCounters& counters,
                    ConnectionOwner& owner);
  ~ConnectionManager() override;

  // Feeds the bytes read while sniffing, then reads the connection.
  void start(net::Buffer& initial);
  // Graceful shutdown: GOAWAY / Connection: close, then close when idle.
  void drain();

  // net::ConnectionCallbacks
  void onData(net::Buffer& data, bool end_stream) override;
  void onEvent(net::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override {
    if (codec_) codec_->onTransportAboveHighWatermark();
  }
  void onBelowWriteBufferLowWatermark() override {
    if (codec_) codec_->onTransportBelowLowWatermark();
  }
  // CodecTransport
  void write(net::Buffer& data) override;
  void readDisable(bool disable) override;
  // ServerCodecCallbacks
  void onNewStream(Stream& stream) override;

  // ActiveStream reports here.
  void onStreamDone(ActiveStream& stream);
  void onResponseHeadersStarted() { header_timer_->disable(); }
  const ManagerSettings& settings() const { return settings_; }
  ManagerCounters& counters() { return counters_; }
  StreamHandlerFactory& factory() { return factory_; }
  net::Connection& connection() { return *connection_; }
  Protocol protocol() const { return codec_ ? codec_->protocol() : Protocol::kHttp11; }
  // Closes after the current response when the codec or a reset requires it.
  void maybeClose();

 private:
  void createCodec(Protocol protocol);
  void closeConnection(net::CloseType type);
  void armIdleTimer();
  std::vector<ActiveStream*> streamList() const;

  net::ConnectionPtr connection_;
  ManagerSettings settings_;
  StreamHandlerFactory& factory_;
  ManagerCounters& counters_;
  ConnectionOwner& owner_;
  std::unique_ptr<ServerCodec> codec_;  // null until the protocol is known
  net::Buffer detect_buffer_;
  std::list<std::unique_ptr<ActiveStream>> streams_;
  net::TimerPtr header_timer_;
  net::TimerPtr idle_timer_;
  net::TimerPtr drain_timer_;
  bool in_dispatch_ = false;
  bool closed_ = false;
  bool remote_eof_ = false;
  bool draining_ = false;
};

}  // namespace remora::http::manager
