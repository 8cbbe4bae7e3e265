#include "tests/integration/resilience/load_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/raw_connection.h"

namespace remora::itest {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool waitFor(pollfd& p, Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left > 0 && ::poll(&p, 1, static_cast<int>(left)) == 1;
}

}  // namespace

std::string Reply::describe() const {
  if (status == 0) return "no response: " + error;
  return std::to_string(status) + (remora_error.empty() ? "" : " x-remora-error=" + remora_error) +
         " body=" + body.substr(0, 120);
}

Reply KeepAliveClient::send(const std::string& method, const std::string& path, const std::string& body,
                            milliseconds timeout) {
  const auto start = Clock::now();
  Reply reply = exchange(method, path, body, start + timeout);
  reply.sent = start;
  reply.done = Clock::now();
  reply.latency = std::chrono::duration_cast<milliseconds>(reply.done - start);
  if (!reply.error.empty()) closeSocket();
  return reply;
}

Reply KeepAliveClient::exchange(const std::string& method, const std::string& path, const std::string& body,
                                Deadline deadline) {
  Reply reply;
  if (fd_ < 0 && !connectSocket(deadline, reply.error)) return reply;
  std::string wire = method + " " + path + " HTTP/1.1\r\nHost: resilience.test\r\n";
  if (!body.empty() || method == "POST") wire += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  wire += "\r\n" + body;
  if (::send(fd_, wire.data(), wire.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(wire.size())) {
    reply.error = "send failed";
    return reply;
  }
  size_t head_end = std::string::npos;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!readMore(deadline, reply.error)) return reply;
  }
  std::string lower = buffer_.substr(0, head_end + 4);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const size_t cl = lower.find("\r\ncontent-length:");
  if (cl == std::string::npos) {
    // Every answer here (the app's and the proxy's local replies) carries a
    // length; anything else is a protocol surprise worth seeing.
    reply.error = "response without content-length: " + buffer_.substr(0, head_end);
    return reply;
  }
  const size_t end = head_end + 4 + std::strtoul(lower.c_str() + cl + 17, nullptr, 10);
  while (buffer_.size() < end) {
    if (!readMore(deadline, reply.error)) return reply;
  }
  auto parsed = harness::parseHttpResponse(buffer_.substr(0, end), method == "HEAD");
  buffer_.erase(0, end);
  if (!parsed) {
    reply.error = parsed.error().message;
    return reply;
  }
  reply.status = parsed->status;
  reply.served_by = parsed->header("x-served-by").value_or("");
  reply.remora_error = parsed->header("x-remora-error").value_or("");
  reply.retry_refused = parsed->header("x-remora-retry-refused").value_or("");
  reply.body = parsed->body;
  if (lower.find("\r\nconnection: close") != std::string::npos) closeSocket();
  return reply;
}

bool KeepAliveClient::connectSocket(Deadline deadline, std::string& error) {
  auto hp = harness::splitHostPort(host_port_);
  if (!hp) {
    error = hp.error().message;
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(hp->second);
  if (::inet_pton(AF_INET, hp->first.c_str(), &addr.sin_addr) != 1) {
    error = "not an IPv4 address: " + hp->first;
    return false;
  }
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno != EINPROGRESS)) {
    error = std::string("connect: ") + std::strerror(errno);
    return false;
  }
  pollfd p{fd_, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof(err);
  if (!waitFor(p, deadline) || ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    error = "connect failed or timed out";
    return false;
  }
  buffer_.clear();
  return true;
}

bool KeepAliveClient::readMore(Deadline deadline, std::string& error) {
  pollfd p{fd_, POLLIN, 0};
  if (!waitFor(p, deadline)) {
    error = "client timeout: no complete response";
    return false;
  }
  char chunk[16384];
  const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0) {
    error = n == 0 ? "connection closed before a complete response" : std::string("recv: ") + std::strerror(errno);
    return false;
  }
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

void KeepAliveClient::closeSocket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

void LoadResult::add(const Reply& r) {
  ++total;
  max_latency = std::max(max_latency, r.latency);
  if (!r.error.empty()) {
    ++errors;
    if (error_samples.size() < 5) error_samples.push_back(r.error + " after " + std::to_string(r.latency.count()) + " ms");
    return;
  }
  ++statuses[r.status];
  if (r.status == 200) ++served_by[r.served_by];
}

void LoadResult::merge(const LoadResult& other) {
  total += other.total;
  errors += other.errors;
  max_latency = std::max(max_latency, other.max_latency);
  for (const auto& [k, v] : other.statuses) statuses[k] += v;
  for (const auto& [k, v] : other.served_by) served_by[k] += v;
  for (const auto& e : other.error_samples) {
    if (error_samples.size() < 5) error_samples.push_back(e);
  }
}

int LoadResult::count(int status) const {
  const auto it = statuses.find(status);
  return it == statuses.end() ? 0 : it->second;
}

double LoadResult::share(const std::string& name) const {
  const auto it = served_by.find(name);
  return total == 0 || it == served_by.end() ? 0.0 : static_cast<double>(it->second) / total;
}

std::string LoadResult::describe() const {
  std::string out = "requests=" + std::to_string(total) + " errors=" + std::to_string(errors) + " statuses={";
  for (const auto& [k, v] : statuses) out += std::to_string(k) + ":" + std::to_string(v) + " ";
  out += "} served_by={";
  for (const auto& [k, v] : served_by) out += k + ":" + std::to_string(v) + " ";
  out += "} max_latency_ms=" + std::to_string(max_latency.count());
  for (const auto& e : error_samples) out += "\n  error: " + e;
  return out;
}

LoadResult runLoad(const std::string& address, int clients, int max_requests, milliseconds cap,
                   const std::string& path) {
  std::atomic<int> tickets{0};
  std::mutex mutex;
  LoadResult all;
  const auto start = Clock::now();
  const auto stop_at = start + cap;
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&] {
      KeepAliveClient client(address);
      LoadResult mine;
      while (Clock::now() < stop_at && tickets.fetch_add(1) < max_requests) mine.add(client.send("GET", path));
      std::lock_guard<std::mutex> lock(mutex);
      all.merge(mine);
    });
  }
  for (auto& t : threads) t.join();
  all.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return all;
}

}  // namespace remora::itest
