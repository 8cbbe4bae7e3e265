#include "proxy/upstream/transport.h"

namespace remora::upstream {
namespace {

// A connection that could not even start (its TLS context is not there yet):
// it reports kRemoteClose with the reason on the next loop iteration, like a
// refused connect, so callers handle one failure path.
class FailedConnection final : public net::Connection {
 public:
  FailedConnection(net::Dispatcher& dispatcher, const net::Address& address, std::string reason)
      : dispatcher_(dispatcher), remote_(address), reason_(std::move(reason)) {
    timer_ = dispatcher_.createTimer([this] {
      state_ = State::kClosed;
      if (callbacks_ != nullptr) callbacks_->onEvent(net::ConnectionEvent::kRemoteClose);
    });
    timer_->enable(std::chrono::milliseconds(0));
  }
  void setCallbacks(net::ConnectionCallbacks& callbacks) override { callbacks_ = &callbacks; }
  void write(net::Buffer& data, bool) override { data.clear(); }
  void readDisable(bool) override {}
  bool readEnabled() const override { return false; }
  void close(net::CloseType) override {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    timer_->disable();
    if (callbacks_ != nullptr) callbacks_->onEvent(net::ConnectionEvent::kLocalClose);
  }
  State state() const override { return state_; }
  size_t bufferedBytes() const override { return 0; }
  void setBufferLimits(uint32_t) override {}
  const net::Address& remoteAddress() const override { return remote_; }
  const net::Address& localAddress() const override { return local_; }
  uint64_t id() const override { return 0; }
  std::string_view failureReason() const override { return reason_; }
  net::Dispatcher& dispatcher() override { return dispatcher_; }

 private:
  net::Dispatcher& dispatcher_;
  net::Address remote_;
  net::Address local_;
  std::string reason_;
  net::ConnectionCallbacks* callbacks_ = nullptr;
  State state_ = State::kConnecting;
  net::TimerPtr timer_;
};

}  // namespace

void TlsObserver::onHandshakeDone(std::string_view, bool resumed) {
  counters_.handshakes.inc();
  if (resumed) counters_.resumed.inc();
}

void TlsObserver::onHandshakeFailed(tls::HandshakeFailure reason, std::string_view) {
  const auto index = static_cast<size_t>(reason);
  if (index < counters_.failures.size()) counters_.failures[index].inc();
}

net::ConnectionPtr connectUpstream(net::Dispatcher& dispatcher, const net::Address& address, const TlsSettings* tls,
                                   tls::ClientSessionCache* sessions, tls::HandshakeObserver* observer) {
  if (tls == nullptr) return net::connectTcp(dispatcher, address);
  std::shared_ptr<const tls::TlsContext> context = tls->slot ? tls->slot->current() : nullptr;
  if (!context) {
    return std::make_unique<FailedConnection>(dispatcher, address,
                                              "tls: no client certificate or trust bundle yet (waiting for " +
                                                  tls->waiting_for + ")");
  }
  tls::TlsConnection::ClientOptions options;
  options.sni = tls->sni;
  options.validation = tls->validation;
  options.sessions = sessions;
  if (sessions != nullptr) options.session_key = address.toString() + "/" + tls->sni;
  return tls::TlsConnection::client(std::move(context), net::connectTcp(dispatcher, address), std::move(options),
                                    observer);
}

}  // namespace remora::upstream
