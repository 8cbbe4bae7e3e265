#include "proxy/router/tcp_proxy.h"

namespace remora::router {

TcpProxySession::TcpProxySession(net::ConnectionPtr downstream, upstream::Cluster* cluster,
                                 std::chrono::milliseconds idle_timeout, TcpProxyCounters& counters,
                                 net::ConnectionOwner& owner)
    : downstream_(std::move(downstream)), cluster_(cluster), idle_timeout_(idle_timeout), counters_(counters),
      owner_(owner) {
  counters_.connections_total.inc();
  counters_.connections_active.add(1);
  downstream_->setCallbacks(downstream_side_);
}

TcpProxySession::~TcpProxySession() {
  counters_.connections_active.sub(1);
  if (host_ != nullptr) host_->requestFinished();
}

void TcpProxySession::start(net::Buffer& initial) {
  // Bytes read while the listener sniffed the protocol are part of the stream.
  counters_.bytes_sent_upstream.inc(initial.length());
  early_data_.move(initial);
  upstream::LoadBalancerContext context;
  if (downstream_->localAddressRestored()) context.original_destination = &downstream_->localAddress();
  host_ = cluster_ != nullptr ? cluster_->pickHost(context) : nullptr;
  if (host_ == nullptr) {
    if (cluster_ != nullptr) cluster_->onNoHost(context);
    // Nothing to connect to: there is no protocol to explain it in, so the
    // connection is closed and the reason counted.
    counters_.no_upstream.inc();
    closeBoth(net::CloseType::kNoFlush);
    return;
  }
  host_->requestStarted();
  net::Dispatcher& d = downstream_->dispatcher();
  // Until the upstream answers, stop reading the client beyond what we hold.
  downstream_->readDisable(true);
  upstream_ = cluster_->connect(host_->address());
  upstream_->setCallbacks(upstream_side_);
  connect_timer_ = d.createTimer([this] {
    counters_.connect_failures.inc();
    closeBoth(net::CloseType::kNoFlush);
  });
  connect_timer_->enable(cluster_->config().connect_timeout);
  if (idle_timeout_.count() > 0) {
    idle_timer_ = d.createTimer([this] {
      counters_.idle_timeouts.inc();
      closeBoth(net::CloseType::kFlushWrite);
    });
    idle_timer_->enable(idle_timeout_);
  }
}

void TcpProxySession::touch() {
  if (idle_timer_) idle_timer_->enable(idle_timeout_);
}

void TcpProxySession::onData(bool from_downstream, net::Buffer& data, bool end_stream) {
  touch();
  if (from_downstream) {
    downstream_eof_ = downstream_eof_ || end_stream;
    counters_.bytes_sent_upstream.inc(data.length());
    if (!upstream_connected_) {
      early_data_.move(data);
      return;
    }
    upstream_->write(data, end_stream);
  } else {
    upstream_eof_ = upstream_eof_ || end_stream;
    counters_.bytes_sent_downstream.inc(data.length());
    downstream_->write(data, end_stream);
  }
  // Both directions finished: the exchange is complete.
  if (downstream_eof_ && upstream_eof_) closeBoth(net::CloseType::kFlushWrite);
}

void TcpProxySession::onEvent(bool downstream, net::ConnectionEvent event) {
  if (event == net::ConnectionEvent::kConnected) {
    connect_timer_->disable();
    upstream_connected_ = true;
    if (!early_data_.empty() || downstream_eof_) upstream_->write(early_data_, downstream_eof_);
    downstream_->readDisable(false);
    return;
  }
  if (!downstream && !upstream_connected_) counters_.connect_failures.inc();
  // One side closed: flush what the other side still has to send, then close it.
  closeBoth(net::CloseType::kFlushWrite);
}

void TcpProxySession::onWatermark(bool downstream, bool above) {
  // The side whose output backs up is fed by the other side: pause that one.
  net::Connection* feeder = downstream ? upstream_.get() : downstream_.get();
  if (feeder != nullptr && feeder->state() != net::Connection::State::kClosed) feeder->readDisable(above);
}

void TcpProxySession::closeBoth(net::CloseType type) {
  if (connect_timer_) connect_timer_->disable();
  if (idle_timer_) idle_timer_->disable();
  if (upstream_ && upstream_->state() != net::Connection::State::kClosed) upstream_->close(type);
  if (downstream_->state() != net::Connection::State::kClosed) downstream_->close(type);
  if (!released_) {
    released_ = true;
    owner_.release(*this);
  }
}

}  // namespace remora::router
