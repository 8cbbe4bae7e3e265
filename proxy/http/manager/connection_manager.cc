#include "proxy/http/manager/connection_manager.h"

#include "proxy/http/http1/http1_codec.h"
#include "proxy/http/http2/http2_codec.h"
#include "proxy/http/manager/active_stream.h"
#include "proxy/http/sniffer.h"

namespace remora::http::manager {

ManagerSettings managerSettingsFor(const xds::resources::HttpConnectionManager& c) {
  ManagerSettings s;
  s.request_headers_timeout = c.request_headers_timeout;
  s.stream_idle_timeout = c.stream_idle_timeout;
  s.request_timeout = c.request_timeout;
  s.idle_timeout = c.idle_timeout;
  s.drain_timeout = c.drain_timeout;
  s.limits.max_request_headers_kb = c.max_request_headers_kb;
  s.limits.max_headers_count = c.max_headers_count;
  s.limits.max_concurrent_streams = c.max_concurrent_streams;
  s.limits.initial_stream_window_size = c.initial_stream_window_size;
  s.limits.initial_connection_window_size = c.initial_connection_window_size;
  s.websocket_upgrade = c.websocket_upgrade;
  s.connect_upgrade = c.connect_upgrade;
  return s;
}

ConnectionManager::ConnectionManager(net::ConnectionPtr connection, Protocol protocol, bool auto_detect,
                                     const ManagerSettings& settings, StreamHandlerFactory& factory,
                                     ManagerCounters& counters, ConnectionOwner& owner)
    : connection_(std::move(connection)), settings_(settings), factory_(factory), counters_(counters), owner_(owner) {
  counters_.connections_total.inc();
  counters_.connections_active.add(1);
  connection_->setCallbacks(*this);
  if (!auto_detect) createCodec(protocol);
  net::Dispatcher& d = connection_->dispatcher();
  // A client that starts a request must finish its headers in time (against
  // slowloris); the timer runs while bytes of an unfinished header block wait.
  header_timer_ = d.createTimer([this] {
    counters_.header_timeouts.inc();
    if (streams_.empty()) {
      closeConnection(net::CloseType::kNoFlush);
    }
  });
  idle_timer_ = d.createTimer([this] {
    counters_.idle_timeouts.inc();
    if (streams_.empty()) {
      if (codec_) codec_->goAway();
      closeConnection(net::CloseType::kFlushWrite);
    }
  });
}

void ConnectionManager::createCodec(Protocol protocol) {
  if (protocol == Protocol::kHttp2) {
    codec_ = http2::makeHttp2ServerCodec(*this, *this, settings_.limits);
  } else {
    codec_ = http1::makeHttp1ServerCodec(*this, *this, settings_.limits);
  }
}

ConnectionManager::~ConnectionManager() {
  // Streams must not outlive the codec they point into.
  streams_.clear();
  if (!closed_) {
    counters_.connections_active.sub(1);
    closed_ = true;
  }
}

void ConnectionManager::start(net::Buffer& initial) {
  armIdleTimer();
  if (!initial.empty()) onData(initial, false);
}

void ConnectionManager::armIdleTimer() {
  if (settings_.idle_timeout.count() > 0) idle_timer_->enable(settings_.idle_timeout);
}

void ConnectionManager::onData(net::Buffer& data, bool end_stream) {
  if (closed_) {
    data.clear();
    return;
  }
  if (streams_.empty() && !data.empty() && !header_timer_->enabled() &&
      settings_.request_headers_timeout.count() > 0) {
    header_timer_->enable(settings_.request_headers_timeout);
  }
  if (!codec_) {
    detect_buffer_.move(data);
    SniffResult sniffed = sniff(detect_buffer_);
    if (sniffed == SniffResult::kNeedMoreData && !end_stream) return;
    createCodec(sniffed == SniffResult::kHttp2 ? Protocol::kHttp2 : Protocol::kHttp11);
    data.move(detect_buffer_);
  }
  in_dispatch_ = true;
  base::Status status = codec_->dispatch(data);
  // The client shut its write side: a tunnel's request ends, an incomplete
  // request is reset by the codec; complete requests still get responses.
  if (status && end_stream) status = codec_->onTransportEof();
  in_dispatch_ = false;
  if (!status) {
    // The codec already answered what the protocol allows (400/431 or GOAWAY).
    counters_.protocol_errors.inc();
    for (ActiveStream* s : streamList()) s->abort("downstream protocol error: " + status.message());
    closeConnection(net::CloseType::kFlushWrite);
    return;
  }
  if (end_stream) {
    remote_eof_ = true;
    // The client will send nothing more. Requests still being received can
    // never complete; complete ones still get their responses.
    for (ActiveStream* s : streamList()) {
      if (!s->requestComplete()) s->abort("client closed the connection mid-request");
    }
  }
  maybeClose();
}

void ConnectionManager::maybeClose() {
  if (closed_ || in_dispatch_) return;
  if (!codec_) {
    if (remote_eof_ || draining_) closeConnection(net::CloseType::kNoFlush);
    return;
  }
  if (codec_->closeNow()) {
    closeConnection(net::CloseType::kFlushWrite);
    return;
  }
  if (streams_.empty() && (codec_->wantsClose() || remote_eof_ || draining_)) {
    closeConnection(net::CloseType::kFlushWrite);
  }
}

void ConnectionManager::onEvent(net::ConnectionEvent event) {
  if (event == net::ConnectionEvent::kConnected) return;
  const bool was_closed = closed_;
  closed_ = true;
  if (!was_closed) counters_.connections_active.sub(1);
  header_timer_->disable();
  idle_timer_->disable();
  if (drain_timer_) drain_timer_->disable();
  for (ActiveStream* s : streamList()) s->abort("downstream connection closed");
  owner_.release(*this);
}

std::vector<ActiveStream*> ConnectionManager::streamList() const {
  // A copy: aborting a stream removes it from streams_.
  std::vector<ActiveStream*> out;
  out.reserve(streams_.size());
  for (const auto& p : streams_) out.push_back(p.get());
  return out;
}

void ConnectionManager::write(net::Buffer& data) {
  if (!closed_) connection_->write(data, false);
}

void ConnectionManager::readDisable(bool disable) {
  if (!closed_) connection_->readDisable(disable);
}

void ConnectionManager::onNewStream(Stream& stream) {
  header_timer_->disable();
  idle_timer_->disable();
  counters_.requests_total.inc();
  counters_.requests_active.add(1);
  auto active = std::make_unique<ActiveStream>(*this, stream);
  stream.setCallbacks(*active);
  streams_.push_back(std::move(active));
}

void ConnectionManager::onStreamDone(ActiveStream& stream) {
  counters_.requests_active.sub(1);
  for (auto it = streams_.begin(); it != streams_.end(); ++it) {
    if (it->get() == &stream) {
      connection_->dispatcher().deferredDelete(std::move(*it));
      streams_.erase(it);
      break;
    }
  }
  if (streams_.empty() && !closed_) armIdleTimer();
  maybeClose();
}

void ConnectionManager::drain() {
  if (closed_ || draining_) return;
  draining_ = true;
  if (codec_) codec_->goAway();
  // HTTP/2 clients learn from GOAWAY not to open streams here, so an idle
  // connection can go now. An idle HTTP/1.1 keep-alive connection cannot say
  // so: a client may be sending its next request this very moment, and
  // closing under it fails that request. It stays until that request is
  // answered (with "connection: close") or drain_timeout passes.
  if (streams_.empty() && codec_ && protocol() == Protocol::kHttp2) {
    closeConnection(net::CloseType::kFlushWrite);
    return;
  }
  // In-flight requests get drain_timeout to finish; then the connection goes.
  drain_timer_ = connection_->dispatcher().createTimer([this] { closeConnection(net::CloseType::kFlushWrite); });
  drain_timer_->enable(settings_.drain_timeout);
}

void ConnectionManager::closeConnection(net::CloseType type) {
  if (closed_) return;
  connection_->close(type);
}

}  // namespace remora::http::manager
