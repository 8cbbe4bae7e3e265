#include "proxy/main/wait_ready.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

namespace remora::server {

namespace {

using Clock = std::chrono::steady_clock;

// Closes the socket on every path out of probeReady().
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool waitFor(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, remainingMs(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Non-blocking connect bounded by the deadline; "" on success, else why.
std::string connectTo(Fd& sock, const std::string& host, uint16_t port, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return "resolve " + host + ": " + ::gai_strerror(rc);
  }
  std::string why = "no address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    Fd candidate{::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol)};
    if (candidate.fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int rc = ::connect(candidate.fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      if (!waitFor(candidate.fd, POLLOUT, deadline)) {
        why = "timed out";
        continue;
      }
      int error = 0;
      socklen_t len = sizeof(error);
      ::getsockopt(candidate.fd, SOL_SOCKET, SO_ERROR, &error, &len);
      rc = error == 0 ? 0 : -1;
      errno = error;
    }
    if (rc != 0) {
      why = std::strerror(errno);
      continue;
    }
    std::swap(sock.fd, candidate.fd);
    ::freeaddrinfo(found);
    return "";
  }
  ::freeaddrinfo(found);
  return why;
}

// "HTTP/1.1 200 OK\r\n...\r\n\r\nbody" -> status and body. The admin
// endpoint always sends content-length; without one the body runs to the
// close (we asked for Connection: close).
bool parseResponse(const std::string& raw, ReadyProbe& probe) {
  const size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || raw.size() < 12) return false;
  int status = 0;
  auto [end, ec] = std::from_chars(raw.data() + 9, raw.data() + 12, status);
  if (ec != std::errc() || end != raw.data() + 12) return false;
  probe.status = status;
  probe.body = raw.substr(head_end + 4);
  std::string head = raw.substr(0, head_end);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t cl = head.find("\r\ncontent-length:");
  if (cl != std::string::npos) {
    size_t at = cl + 17;
    while (at < head.size() && head[at] == ' ') ++at;
    size_t length = 0;
    std::from_chars(head.data() + at, head.data() + head.size(), length);
    if (probe.body.size() > length) probe.body.resize(length);
  }
  return true;
}

}  // namespace

base::Result<std::pair<std::string, uint16_t>> splitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return base::fail(base::Error::kInvalidArgument, "'" + address + "' is not ip:port (e.g. 127.0.0.1:15000)");
  }
  std::string host = address.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']') return base::fail(base::Error::kInvalidArgument, "'" + address + "': unclosed '['");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return base::fail(base::Error::kInvalidArgument,
                      "'" + address + "': an IPv6 address needs brackets ([::1]:15000)");
  }
  uint32_t port = 0;
  const char* first = address.data() + colon + 1;
  const char* last = address.data() + address.size();
  auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || end != last || port == 0 || port > 65535) {
    return base::fail(base::Error::kInvalidArgument, "'" + address + "': the port must be 1..65535");
  }
  return std::make_pair(std::move(host), static_cast<uint16_t>(port));
}

ReadyProbe probeReady(const std::string& address, std::chrono::milliseconds timeout) {
  ReadyProbe probe;
  auto target = splitHostPort(address);
  if (!target) {
    probe.error = target.error().message;
    return probe;
  }
  const auto deadline = Clock::now() + timeout;
  Fd sock;
  if (std::string why = connectTo(sock, target->first, target->second, deadline); !why.empty()) {
    probe.error = "connect " + address + ": " + why;
    return probe;
  }
  const std::string request = "GET /ready HTTP/1.1\r\nHost: " + address +
                              "\r\nUser-Agent: remora-proxy-wait-ready\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    if (!waitFor(sock.fd, POLLOUT, deadline)) {
      probe.error = "send to " + address + ": timed out";
      return probe;
    }
    const ssize_t n = ::send(sock.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      probe.error = "send to " + address + ": " + std::strerror(errno);
      return probe;
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[4096];
  // /ready's body is a few lines; a peer that sends more is not our admin endpoint.
  while (raw.size() < 64 * 1024) {
    if (!waitFor(sock.fd, POLLIN, deadline)) {
      probe.error = "read from " + address + ": timed out";
      return probe;
    }
    const ssize_t n = ::recv(sock.fd, buf, sizeof(buf), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      probe.error = "read from " + address + ": " + std::strerror(errno);
      return probe;
    }
    raw.append(buf, static_cast<size_t>(n));
  }
  if (!parseResponse(raw, probe)) probe.error = "read from " + address + ": not an HTTP/1.1 response";
  return probe;
}

int waitReady(const WaitReadyOptions& options, std::FILE* out, std::FILE* err) {
  if (auto target = splitHostPort(options.admin_address); !target) {
    std::fprintf(err, "remora-proxy wait-ready: --admin-address: %s\n", target.error().message.c_str());
    return 2;
  }
  const auto start = Clock::now();
  const auto deadline = start + options.timeout;
  ReadyProbe last;
  for (;;) {
    // One probe never outlives the overall deadline, and never hangs on a
    // stuck peer for longer than a couple of seconds.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const auto per_probe = std::clamp(left, std::chrono::milliseconds(1), std::chrono::milliseconds(2000));
    last = probeReady(options.admin_address, per_probe);
    if (last.status == 200) {
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
      std::fprintf(out, "remora-proxy is ready (%s, after %lld ms)\n", options.admin_address.c_str(),
                   static_cast<long long>(waited));
      return 0;
    }
    if (Clock::now() + options.interval >= deadline) break;
    std::this_thread::sleep_for(options.interval);
  }
  std::string why = last.status != 0 ? "/ready answered " + std::to_string(last.status) + ": " + last.body
                                     : last.error + "\n";
  if (why.empty() || why.back() != '\n') why += '\n';
  std::fprintf(err, "remora-proxy wait-ready: not ready after %.1f s (%s); %s",
               std::chrono::duration<double>(options.timeout).count(), options.admin_address.c_str(), why.c_str());
  return 1;
}

}  // namespace remora::server
