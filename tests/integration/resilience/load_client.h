// A bounded HTTP/1.1 keep-alive load for the resilience tests: callers that
// hold their connections open, as a real service's pool does (the harness's
// httpRequest closes after each answer). KeepAliveClient is used by one thread;
// runLoad() starts its own client threads, which only record, so the test
// thread does every assertion.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace remora::itest {

// One answer as a client saw it. `error` is set when no complete response
// arrived (connection failure, close, client timeout: a hang).
struct Reply {
  int status = 0;
  std::string served_by;      // x-served-by
  std::string remora_error;   // x-remora-error
  std::string retry_refused;  // x-remora-retry-refused
  std::string body;
  std::string error;
  std::chrono::milliseconds latency{0};
  std::chrono::steady_clock::time_point sent;
  std::chrono::steady_clock::time_point done;

  bool ok() const { return status >= 200 && status < 300; }
  double ms() const { return std::chrono::duration<double, std::milli>(done - sent).count(); }
  // "503 x-remora-error=overflow body=..." or "no response: why".
  std::string describe() const;
};

class KeepAliveClient {
 public:
  // `host_port`: numeric IPv4 "ip:port". Connects on the first send.
  explicit KeepAliveClient(std::string host_port) : host_port_(std::move(host_port)) {}
  ~KeepAliveClient() { closeSocket(); }
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  // Opens the connection now (a burst can then start on ready sockets).
  bool connect(std::string& error) {
    closeSocket();
    return connectSocket(std::chrono::steady_clock::now() + std::chrono::seconds(5), error);
  }
  // One request on the open connection (a new one after an error or a
  // "connection: close"); never waits longer than `timeout` in all.
  Reply send(const std::string& method, const std::string& path, const std::string& body = "",
             std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  using Deadline = std::chrono::steady_clock::time_point;
  Reply exchange(const std::string& method, const std::string& path, const std::string& body, Deadline deadline);
  bool connectSocket(Deadline deadline, std::string& error);
  bool readMore(Deadline deadline, std::string& error);
  void closeSocket();

  std::string host_port_;
  int fd_ = -1;
  std::string buffer_;
};

// What a load saw: counts by status and by serving instance (200s only),
// client errors, and the slowest answer.
struct LoadResult {
  int total = 0;
  std::map<int, int> statuses;
  std::map<std::string, int> served_by;
  int errors = 0;
  std::vector<std::string> error_samples;  // the first few
  std::chrono::milliseconds max_latency{0};
  double seconds = 0;

  void add(const Reply& r);
  void merge(const LoadResult& other);
  int count(int status) const;
  // served_by[name] / total.
  double share(const std::string& name) const;
  // One line (plus error samples) for RESULT lines and failure messages.
  std::string describe() const;
};

// `clients` keep-alive clients send GET `path` to `address` until
// `max_requests` were sent in all or `cap` passed.
LoadResult runLoad(const std::string& address, int clients, int max_requests, std::chrono::milliseconds cap,
                   const std::string& path = "/");

}  // namespace remora::itest
