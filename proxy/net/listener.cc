#include "proxy/net/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <string>

#include "proxy/net/tcp_connection.h"

namespace remora::net {
namespace {

base::Failure socketError(const char* call, const Address& address, int uv_error) {
  return base::fail(base::Error::kIo, std::string(call) + " " + address.toString() + ": " + uv_strerror(uv_error));
}

// A socket made by hand: libuv 1.44 cannot set SO_REUSEPORT, so we create,
// configure and bind it, then hand the fd to libuv. backlog < 0: bind only.
base::Result<int> openListeningSocket(const Address& address, bool reuse_port, int backlog) {
  if (address.sockaddrLength() == 0) {
    return base::fail(base::Error::kInvalidArgument, "listen: address is unspecified");
  }
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return socketError("socket", address, -errno);
  auto failWith = [&](const char* call) -> base::Failure {
    int err = -errno;
    ::close(fd);
    return socketError(call, address, err);
  };
  int one = 1;
  // Restarting the proxy must not wait out TIME_WAIT on the listening port.
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) return failWith("setsockopt SO_REUSEADDR");
  if (reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return failWith("setsockopt SO_REUSEPORT");
  }
  // "[::]" means IPv6 only: an IPv4 listener on the same port is configured separately.
  if (address.family() == AF_INET6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
    return failWith("setsockopt IPV6_V6ONLY");
  }
  if (::bind(fd, address.sockaddr(), address.sockaddrLength()) != 0) return failWith("bind");
  if (backlog >= 0 && ::listen(fd, backlog) != 0) return failWith("listen");
  return fd;
}

class TcpListener final : public Listener {
 public:
  TcpListener(Dispatcher& dispatcher, ListenerCallbacks& callbacks)
      : dispatcher_(dispatcher), callbacks_(callbacks), handle_(new uv_tcp_t) {
    uv_tcp_init(dispatcher_.uvLoop(), handle_);
    handle_->data = this;
  }

  ~TcpListener() override {
    handle_->data = nullptr;
    // Closing also closes a connection libuv accepted while we were paused.
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) noexcept {
      delete reinterpret_cast<uv_tcp_t*>(h);
    });
  }

  base::Status start(int fd, const Address& requested, int backlog) {
    int rc = uv_tcp_open(handle_, fd);
    if (rc != 0) {
      ::close(fd);
      return socketError("uv_tcp_open", requested, rc);
    }
    sockaddr_storage ss{};
    int len = sizeof(ss);
    rc = uv_tcp_getsockname(handle_, reinterpret_cast<sockaddr*>(&ss), &len);
    if (rc != 0) return socketError("getsockname", requested, rc);
    local_ = Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss));
    rc = uv_listen(stream(), backlog, &TcpListener::onConnection);
    if (rc != 0) return socketError("listen", requested, rc);
    return base::Status::ok();
  }

  const Address& localAddress() const override { return local_; }

  void pause() override { paused_ = true; }

  void resume() override {
    if (!paused_) return;
    paused_ = false;
    if (accept_waiting_) {
      accept_waiting_ = false;
      // uv_accept also makes libuv poll the socket again.
      acceptOne();
    }
  }

 private:
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(handle_); }

  static void onConnection(uv_stream_t* server, int status) noexcept {
    auto* self = static_cast<TcpListener*>(server->data);
    if (self == nullptr) return;
    // Accept errors (EMFILE, ENOBUFS) are transient; libuv keeps listening.
    // TODO(observability): count accept failures per listener.
    if (status < 0) return;
    if (self->paused_) {
      // Left unclaimed on purpose: libuv stops polling until uv_accept.
      self->accept_waiting_ = true;
      return;
    }
    self->acceptOne();
  }

  void acceptOne() {
    std::unique_ptr<TcpConnection> conn = TcpConnection::accept(dispatcher_, stream());
    if (conn) callbacks_.onAccept(std::move(conn));
  }

  Dispatcher& dispatcher_;
  ListenerCallbacks& callbacks_;
  uv_tcp_t* handle_;  // freed by its close callback
  Address local_;
  bool paused_ = false;
  bool accept_waiting_ = false;  // libuv holds an accepted connection we have not claimed
};

}  // namespace

base::Result<std::unique_ptr<Listener>> Listener::bind(Dispatcher& dispatcher, const Address& address,
                                                       ListenerCallbacks& callbacks, bool reuse_port, int backlog) {
  base::Result<int> fd = openListeningSocket(address, reuse_port, backlog);
  if (!fd) return fd.error();
  auto listener = std::make_unique<TcpListener>(dispatcher, callbacks);
  base::Status started = listener->start(*fd, address, backlog);
  if (!started) return started.error();
  return std::unique_ptr<Listener>(std::move(listener));
}

base::Result<PortReservation> PortReservation::reserve(const Address& address) {
  base::Result<int> fd = openListeningSocket(address, /*reuse_port=*/true, /*backlog=*/-1);
  if (!fd) return fd.error();
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(*fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    int err = -errno;
    ::close(*fd);
    return socketError("getsockname", address, err);
  }
  return PortReservation(*fd, Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss)));
}

PortReservation& PortReservation::operator=(PortReservation&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    address_ = other.address_;
    other.fd_ = -1;
  }
  return *this;
}

PortReservation::~PortReservation() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace remora::net
