#include "proxy/upstream/health_check_session.h"

#include <utility>
#include <vector>

#include "proxy/grpc/grpc_status.h"
#include "proxy/grpc/grpc_stream.h"
#include "proxy/http/codec.h"
#include "proxy/http/http1/http1_codec.h"
#include "proxy/http/http2/http2_codec.h"
#include "proxy/net/connection.h"

namespace remora::upstream {
namespace {

using xds::resources::HealthCheck;

constexpr std::string_view kGrpcHealthPath = "/grpc.health.v1.Health/Check";
constexpr uint64_t kGrpcServing = 1;  // grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING

std::string connectFailure(std::string_view reason) {
  // uv_strerror(ECONNREFUSED): the common case gets the short name operators grep for.
  if (reason == "connection refused") return "connect refused";
  if (reason.empty()) return "connect failed";
  return "connect failed: " + std::string(reason);
}

// The parts both connection-based probes share: the connection, the one-shot
// done callback, and turning a close into a reason.
class ConnectionProbe : public HealthCheckSession, public net::ConnectionCallbacks {
 public:
  ConnectionProbe(net::Dispatcher& dispatcher, const HealthCheckTarget& target, DoneFn done) : done_(std::move(done)) {
    connection_ = connectUpstream(dispatcher, target.address, target.tls.get(), nullptr, nullptr);
    connection_->setCallbacks(*this);
  }

  void cancel() override {
    done_ = nullptr;
    closeConnection(net::CloseType::kNoFlush);
  }

  void onEvent(net::ConnectionEvent event) override {
    if (event == net::ConnectionEvent::kConnected) {
      connected_ = true;
      onConnected();
      return;
    }
    if (!connected_) {
      finish(false, connectFailure(connection_->failureReason()));
    } else {
      finish(false, closedReason());
    }
  }

 protected:
  virtual void onConnected() = 0;
  // What a close after the connect means for this probe.
  virtual std::string closedReason() const { return "connection reset"; }

  bool finished() const { return !done_; }
  void finish(bool pass, std::string reason, net::CloseType close = net::CloseType::kNoFlush) {
    if (!done_) return;
    // Moved out first: the owner cancels and releases us from inside `done`.
    DoneFn done = std::move(done_);
    done_ = nullptr;
    closeConnection(close);
    done(pass, std::move(reason));
  }
  void closeConnection(net::CloseType type) {
    if (connection_->state() != net::Connection::State::kClosed) connection_->close(type);
  }
  bool open() const { return connection_->state() == net::Connection::State::kOpen; }

  net::ConnectionPtr connection_;

 private:
  DoneFn done_;
  bool connected_ = false;
};

// GET <path> over HTTP/1.1 or HTTP/2 (prior knowledge); the status decides.
class HttpProbe final : public ConnectionProbe, public http::CodecTransport, public http::ClientCodecCallbacks {
 public:
  HttpProbe(net::Dispatcher& dispatcher, const HealthCheck& config, const HealthCheckTarget& target, DoneFn done)
      : ConnectionProbe(dispatcher, target, std::move(done)),
        path_(config.path.empty() ? "/" : config.path),
        authority_(target.authority),
        expected_(config.expected_statuses),
        http2_(config.http2),
        secure_(target.tls != nullptr) {}
  // The codec goes first: it may still write to (and call back into) us while it dies.
  ~HttpProbe() override { codec_.reset(); }

  void onConnected() override {
    if (http2_) {
      codec_ = http::http2::makeHttp2ClientCodec(*this, *this, limits_);
    } else {
      codec_ = http::http1::makeHttp1ClientCodec(*this, *this, limits_);
    }
    http::HeaderMap headers;
    headers.add(":method", "GET");
    headers.add(":scheme", secure_ ? "https" : "http");
    headers.add(":authority", authority_);
    headers.add(":path", path_);
    headers.add("user-agent", "remora-health-check");
    codec_->newStream(response_).encodeHeaders(headers, /*end_stream=*/true);
  }

  // net::ConnectionCallbacks
  void onData(net::Buffer& data, bool end_stream) override {
    if (finished() || !codec_) {
      data.clear();
      return;
    }
    base::Status status = codec_->dispatch(data);
    if (status && end_stream && !finished()) status = codec_->onTransportEof();
    if (!status) {
      finish(false, "protocol error: " + status.message());
    } else if (end_stream) {
      finish(false, "connection reset");
    }
  }
  // http::CodecTransport
  void write(net::Buffer& data) override {
    if (open()) {
      connection_->write(data, false);
    } else {
      data.clear();
    }
  }
  void readDisable(bool disable) override {
    if (open()) connection_->readDisable(disable);
  }
  // The response headers decide; the body is not read.
  void onResponseHeaders(const http::HeaderMap& headers) {
    const uint32_t status = headers.status();
    if (statusExpected(expected_, status)) {
      finish(true, "HTTP " + std::to_string(status));
    } else {
      finish(false, "HTTP " + std::to_string(status) + " (expected " + describeExpected(expected_) + ")");
    }
  }
  void onResponseReset(http::StreamResetReason reason) {
    finish(false, reason == http::StreamResetReason::kRemoteReset && http2_ ? "stream reset" : "connection reset");
  }

 private:
  const std::string path_;
  const std::string authority_;
  const std::vector<std::pair<uint32_t, uint32_t>> expected_;
  const bool http2_;
  const bool secure_;
  http::CodecLimits limits_;
  // Its own object: StreamCallbacks::onData and ConnectionCallbacks::onData
  // have the same signature.
  struct Response final : http::StreamCallbacks {
    explicit Response(HttpProbe& probe) : probe(probe) {}
    void onHeaders(http::HeaderMapPtr headers, bool) override { probe.onResponseHeaders(*headers); }
    void onData(net::Buffer& data, bool) override { data.clear(); }
    void onTrailers(http::HeaderMapPtr) override {}
    void onReset(http::StreamResetReason reason, std::string_view) override { probe.onResponseReset(reason); }
    HttpProbe& probe;
  } response_{*this};
  std::unique_ptr<http::ClientCodec> codec_;  // after response_: dies first, may still call it
};

// Connect; then optionally send bytes and wait for every expected chunk, in order.
class TcpProbe final : public ConnectionProbe {
 public:
  TcpProbe(net::Dispatcher& dispatcher, const HealthCheck& config, const HealthCheckTarget& target, DoneFn done)
      : ConnectionProbe(dispatcher, target, std::move(done)), send_(config.send), receive_(config.receive) {}

  void onConnected() override {
    if (!send_.empty()) {
      net::Buffer out(send_);
      connection_->write(out, false);
    }
    // Flush: with nothing to wait for, the bytes we just queued must still go out.
    if (receive_.empty()) finish(true, "connected", net::CloseType::kFlushWrite);
  }

  void onData(net::Buffer& data, bool end_stream) override {
    received_ += data.toString();
    data.clear();
    if (finished()) return;
    if (matched()) {
      finish(true, "expected bytes received");
    } else if (end_stream) {
      finish(false, closedReason());
    }
  }

 protected:
  std::string closedReason() const override { return "connection closed before the expected bytes arrived"; }

 private:
  // Every chunk of `receive_` found in what arrived, each after the previous one.
  bool matched() const {
    size_t at = 0;
    for (const std::string& chunk : receive_) {
      const size_t found = received_.find(chunk, at);
      if (found == std::string::npos) return false;
      at = found + chunk.size();
    }
    return true;
  }

  const std::string send_;
  const std::vector<std::string> receive_;
  std::string received_;
};

// grpc.health.v1.Health/Check over the in-loop gRPC client.
class GrpcProbe final : public HealthCheckSession, public grpc::GrpcStreamCallbacks {
 public:
  GrpcProbe(net::Dispatcher& dispatcher, const HealthCheck& config, const HealthCheckTarget& target, DoneFn done)
      : done_(std::move(done)) {
    grpc::GrpcStreamOptions options;
    options.address = target.address;
    options.authority = target.authority;
    options.path = std::string(kGrpcHealthPath);
    options.connect_timeout = config.timeout;  // the checker's timeout fires first; this only bounds the connect
    options.keepalive_interval = std::chrono::milliseconds(0);
    options.max_message_bytes = 64 * 1024;
    if (target.tls) {
      options.connect = [tls = target.tls](net::Dispatcher& d, const net::Address& address) {
        return connectUpstream(d, address, tls.get(), nullptr, nullptr);
      };
    }
    stream_ = grpc::GrpcStream::start(dispatcher, std::move(options), *this);
    stream_->sendMessage(encodeRequest(config.service_name));
    stream_->finish();
  }

  void cancel() override {
    done_ = nullptr;
    stream_.reset();  // cancels the call and closes its connection
  }

  void onMessage(std::string message) override { serving_status_ = decodeStatus(message); }

  void onClose(int grpc_status, std::string message) override {
    if (grpc_status != grpc::kStatusOk) {
      const bool refused = message.find("connection refused") != std::string::npos;
      finish(false, refused ? "connect refused" : "gRPC " + grpc::statusName(grpc_status) + ": " + message);
      return;
    }
    if (!serving_status_) {
      finish(false, "gRPC health: no HealthCheckResponse");
    } else if (*serving_status_ == kGrpcServing) {
      finish(true, "SERVING");
    } else {
      finish(false, *serving_status_ == 2 ? std::string("gRPC NOT_SERVING")
                                          : "gRPC serving status " + std::to_string(*serving_status_));
    }
  }

 private:
  // HealthCheckRequest{service = 1}: omitted when empty, as protobuf does.
  static std::string encodeRequest(const std::string& service) {
    std::string out;
    if (service.empty()) return out;
    out.push_back('\x0a');
    appendVarint(out, service.size());
    out += service;
    return out;
  }
  static void appendVarint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
  static bool readVarint(std::string_view& in, uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
      const auto byte = static_cast<uint8_t>(in.front());
      in.remove_prefix(1);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  // HealthCheckResponse.status (field 1, varint); other fields are skipped
  // so a newer server's additions do not fail the check.
  static std::optional<uint64_t> decodeStatus(std::string_view in) {
    std::optional<uint64_t> status;
    while (!in.empty()) {
      uint64_t key = 0;
      uint64_t value = 0;
      if (!readVarint(in, key)) return std::nullopt;
      switch (key & 7) {
        case 0:
          if (!readVarint(in, value)) return std::nullopt;
          if ((key >> 3) == 1) status = value;
          break;
        case 1:
        case 5: {
          const size_t n = (key & 7) == 1 ? 8 : 4;
          if (in.size() < n) return std::nullopt;
          in.remove_prefix(n);
          break;
        }
        case 2:
          if (!readVarint(in, value) || in.size() < value) return std::nullopt;
          in.remove_prefix(value);
          break;
        default:
          return std::nullopt;
      }
    }
    // proto3 omits a zero enum: a message without field 1 means UNKNOWN (0).
    return status.value_or(0);
  }

  void finish(bool pass, std::string reason) {
    if (!done_) return;
    DoneFn done = std::move(done_);
    done_ = nullptr;
    done(pass, std::move(reason));
  }

  DoneFn done_;
  std::unique_ptr<grpc::GrpcStream> stream_;
  std::optional<uint64_t> serving_status_;
};

}  // namespace

bool statusExpected(const std::vector<std::pair<uint32_t, uint32_t>>& ranges, uint32_t status) {
  if (ranges.empty()) return status == 200;
  for (const auto& [start, end] : ranges) {
    if (status >= start && status < end) return true;
  }
  return false;
}

std::string describeExpected(const std::vector<std::pair<uint32_t, uint32_t>>& ranges) {
  if (ranges.empty()) return "200";
  std::string out;
  for (const auto& [start, end] : ranges) {
    if (!out.empty()) out += ", ";
    out += std::to_string(start);
    if (end > start + 1) out += "-" + std::to_string(end - 1);
  }
  return out;
}

HealthCheckSessionPtr startHealthCheckSession(net::Dispatcher& dispatcher, const HealthCheck& config,
                                              const HealthCheckTarget& target, HealthCheckSession::DoneFn done) {
  switch (config.kind) {
    case HealthCheck::Kind::kHttp:
      return std::make_unique<HttpProbe>(dispatcher, config, target, std::move(done));
    case HealthCheck::Kind::kTcp:
      return std::make_unique<TcpProbe>(dispatcher, config, target, std::move(done));
    case HealthCheck::Kind::kGrpc:
      return std::make_unique<GrpcProbe>(dispatcher, config, target, std::move(done));
  }
  return std::make_unique<TcpProbe>(dispatcher, config, target, std::move(done));
}

}  // namespace remora::upstream
