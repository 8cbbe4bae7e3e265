#include "tests/integration/harness/raw_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace remora::harness {
namespace {

using base::Error;
using base::fail;
using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

base::Result<std::pair<std::string, uint16_t>> splitHostPort(std::string_view host_port) {
  std::string_view host;
  std::string_view port;
  if (!host_port.empty() && host_port.front() == '[') {
    const size_t close = host_port.find(']');
    if (close == std::string_view::npos || close + 1 >= host_port.size() || host_port[close + 1] != ':') {
      return fail(Error::kInvalidArgument, "bad address: " + std::string(host_port));
    }
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    const size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos) return fail(Error::kInvalidArgument, "no port in: " + std::string(host_port));
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535 || host.empty()) {
    return fail(Error::kInvalidArgument, "bad address: " + std::string(host_port));
  }
  return std::pair<std::string, uint16_t>(std::string(host), static_cast<uint16_t>(value));
}

base::Result<RawConnection> RawConnection::connect(std::string_view host_port, std::chrono::milliseconds timeout) {
  auto parts = splitHostPort(host_port);
  if (!parts) return parts.error();
  sockaddr_storage storage{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (::inet_pton(AF_INET, parts->first.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(parts->second);
    length = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, parts->first.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(parts->second);
    length = sizeof(sockaddr_in6);
  } else {
    return fail(Error::kInvalidArgument, "not a numeric address: " + parts->first);
  }

  const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(Error::kIo, std::string("socket: ") + std::strerror(errno));
  RawConnection connection(fd);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    if (errno != EINPROGRESS) {
      return fail(Error::kConnectFailed, "connect " + std::string(host_port) + ": " + std::strerror(errno));
    }
    pollfd p{fd, POLLOUT, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready <= 0) return fail(Error::kConnectTimeout, "connect " + std::string(host_port) + ": timed out");
    int error = 0;
    socklen_t error_length = sizeof(error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_length);
    if (error != 0) {
      return fail(Error::kConnectFailed, "connect " + std::string(host_port) + ": " + std::strerror(error));
    }
  }
  // Tests send requests in deliberate pieces; Nagle would merge them.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return connection;
}

RawConnection::~RawConnection() { close(); }

RawConnection::RawConnection(RawConnection&& other) noexcept
    : fd_(other.fd_),
      peer_closed_(other.peer_closed_),
      peer_reset_(other.peer_reset_),
      pending_(std::move(other.pending_)) {
  other.fd_ = -1;
}

RawConnection& RawConnection::operator=(RawConnection&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    peer_closed_ = other.peer_closed_;
    peer_reset_ = other.peer_reset_;
    pending_ = std::move(other.pending_);
    other.fd_ = -1;
  }
  return *this;
}

base::Status RawConnection::send(std::string_view bytes) {
  if (fd_ < 0) return fail(Error::kIo, "send on a closed connection");
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 10000) <= 0) return fail(Error::kIo, "send: peer not reading for 10 s");
      continue;
    }
    return fail(Error::kIo, std::string("send: ") + std::strerror(errno));
  }
  return base::Status::ok();
}

bool RawConnection::readSome(std::string& out, std::chrono::milliseconds timeout) {
  if (fd_ < 0 || peer_closed_) return false;
  pollfd p{fd_, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return false;
  char chunk[65536];
  ssize_t n;
  do {
    n = ::recv(fd_, chunk, sizeof(chunk), 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    out.append(chunk, static_cast<size_t>(n));
    return true;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
  peer_closed_ = true;
  peer_reset_ = n < 0 && errno == ECONNRESET;
  return false;
}

std::string RawConnection::readAvailable(std::chrono::milliseconds timeout) {
  std::string out = std::move(pending_);
  pending_.clear();
  if (!out.empty() || readSome(out, timeout)) {
    while (readSome(out, std::chrono::milliseconds(0))) {
    }
  }
  return out;
}

std::string RawConnection::readUntil(std::string_view marker, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string out = std::move(pending_);
  pending_.clear();
  for (;;) {
    const size_t at = out.find(marker);
    if (at != std::string::npos) {
      pending_ = out.substr(at + marker.size());
      out.resize(at + marker.size());
      return out;
    }
    if (peer_closed_ || Clock::now() >= deadline) return out;
    readSome(out, std::chrono::milliseconds(remainingMs(deadline)));
  }
}

std::string RawConnection::readUntilClose(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string out = std::move(pending_);
  pending_.clear();
  while (!peer_closed_ && fd_ >= 0 && Clock::now() < deadline) {
    readSome(out, std::chrono::milliseconds(remainingMs(deadline)));
  }
  return out;
}

base::Status RawConnection::shutdownWrite() {
  if (fd_ < 0 || ::shutdown(fd_, SHUT_WR) != 0) {
    return fail(Error::kIo, std::string("shutdown: ") + std::strerror(errno));
  }
  return base::Status::ok();
}

void RawConnection::close(bool reset) {
  if (fd_ < 0) return;
  if (reset) {
    const linger option{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
  }
  ::close(fd_);
  fd_ = -1;
}

}  // namespace remora::harness
