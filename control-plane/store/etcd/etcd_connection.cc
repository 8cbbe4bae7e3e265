#include "control-plane/store/etcd/etcd_connection.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace remora::cp::store::etcd {
namespace {

struct Endpoint {
  std::string host;  // without brackets
  std::string port;
  enum class Family { kIpv4, kIpv6, kName } family = Family::kName;
};

base::Result<Endpoint> parseEndpoint(std::string text) {
  const std::string original = text;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (text.starts_with(scheme)) text.erase(0, scheme.size());
  }
  while (!text.empty() && text.back() == '/') text.pop_back();
  Endpoint endpoint;
  size_t colon;
  if (text.starts_with("[")) {
    const size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return base::fail(base::Error::kInvalidArgument, "etcd endpoint \"" + original + "\": expected [ipv6]:port");
    }
    endpoint.host = text.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return base::fail(base::Error::kInvalidArgument, "etcd endpoint \"" + original + "\": expected host:port");
    }
    endpoint.host = text.substr(0, colon);
  }
  endpoint.port = text.substr(colon + 1);
  if (endpoint.port.empty() || endpoint.port.find_first_not_of("0123456789") != std::string::npos ||
      endpoint.port.size() > 5 || std::stoi(endpoint.port) > 65535) {
    return base::fail(base::Error::kInvalidArgument, "etcd endpoint \"" + original + "\": bad port");
  }
  unsigned char buffer[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, endpoint.host.c_str(), buffer) == 1) {
    endpoint.family = Endpoint::Family::kIpv4;
  } else if (inet_pton(AF_INET6, endpoint.host.c_str(), buffer) == 1) {
    endpoint.family = Endpoint::Family::kIpv6;
  }
  return endpoint;
}

// A name among several endpoints: gRPC's ipv4:/ipv6: targets list addresses
// only, so names are resolved once, here. (A single name keeps dns:, which
// gRPC re-resolves.)
base::Status resolveToIpv4(Endpoint& endpoint) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(endpoint.host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    return base::fail(base::Error::kInvalidArgument,
                      "etcd endpoint " + endpoint.host + ": cannot resolve: " + gai_strerror(rc));
  }
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr, text, sizeof(text));
  freeaddrinfo(found);
  endpoint.host = text;
  endpoint.family = Endpoint::Family::kIpv4;
  return base::Status::ok();
}

base::Result<std::string> readPem(const std::string& option, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::fail(base::Error::kInvalidArgument, option + " " + path + ": cannot be read");
  std::stringstream content;
  content << in.rdbuf();
  if (content.str().empty()) return base::fail(base::Error::kInvalidArgument, option + " " + path + ": is empty");
  return content.str();
}

// The channel's target and, for TLS, the name certificates are checked
// against.
base::Result<std::pair<std::string, std::string>> channelTarget(const std::vector<std::string>& texts) {
  std::vector<Endpoint> endpoints;
  for (const std::string& text : texts) {
    auto endpoint = parseEndpoint(text);
    if (!endpoint) return endpoint.status();
    endpoints.push_back(std::move(*endpoint));
  }
  const std::string tls_name = endpoints.front().host;
  if (endpoints.size() == 1 && endpoints.front().family == Endpoint::Family::kName) {
    return std::pair{"dns:///" + endpoints.front().host + ":" + endpoints.front().port, tls_name};
  }
  bool all_v6 = true;
  for (Endpoint& endpoint : endpoints) {
    if (endpoint.family == Endpoint::Family::kName) {
      if (auto resolved = resolveToIpv4(endpoint); !resolved) return resolved;
    }
    all_v6 = all_v6 && endpoint.family == Endpoint::Family::kIpv6;
  }
  std::string target = all_v6 ? "ipv6:" : "ipv4:";
  for (size_t i = 0; i < endpoints.size(); ++i) {
    if (!all_v6 && endpoints[i].family == Endpoint::Family::kIpv6) {
      return base::fail(base::Error::kInvalidArgument,
                        "etcd endpoints: IPv4 and IPv6 addresses cannot be mixed (" + endpoints[i].host + ")");
    }
    if (i > 0) target += ',';
    target += all_v6 ? "[" + endpoints[i].host + "]:" + endpoints[i].port : endpoints[i].host + ":" + endpoints[i].port;
  }
  return std::pair{target, tls_name};
}

}  // namespace

base::Result<std::shared_ptr<EtcdConnection>> EtcdConnection::create(EtcdOptions options) {
  if (options.endpoints.empty()) return base::fail(base::Error::kInvalidArgument, "etcd endpoints: none given");
  if (options.request_timeout.count() <= 0) {
    return base::fail(base::Error::kInvalidArgument, "etcd request timeout must be positive");
  }
  auto target = channelTarget(options.endpoints);
  if (!target) return target.status();

  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (!options.ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    auto ca = readPem("etcd CA file", options.ca_file);
    if (!ca) return ca.status();
    ssl.pem_root_certs = std::move(*ca);
    if (options.cert_file.empty() != options.key_file.empty()) {
      return base::fail(base::Error::kInvalidArgument, "etcd client certificate: cert file and key file go together");
    }
    if (!options.cert_file.empty()) {
      auto cert = readPem("etcd cert file", options.cert_file);
      if (!cert) return cert.status();
      auto key = readPem("etcd key file", options.key_file);
      if (!key) return key.status();
      ssl.pem_cert_chain = std::move(*cert);
      ssl.pem_private_key = std::move(*key);
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }

  grpc::ChannelArguments arguments;
  // Each call goes to a member that is up; losing one member of three is
  // then invisible to callers.
  arguments.SetLoadBalancingPolicyName("round_robin");
  // gRPC's default reconnect backoff grows to 120 s: a member that comes
  // back would stay unused for minutes. etcd members restart in seconds.
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // Keepalive finds a member that vanished without closing its sockets (a
  // partition, a frozen host), so a watch on it does not wait forever. etcd
  // refuses pings more often than every 5 s (--grpc-keepalive-min-time).
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // A list of every object can exceed gRPC's default 4 MiB.
  arguments.SetMaxReceiveMessageSize(256 * 1024 * 1024);
  if (!options.ca_file.empty()) arguments.SetSslTargetNameOverride(target->second);

  std::shared_ptr<EtcdConnection> connection(new EtcdConnection());
  for (size_t i = 0; i < options.endpoints.size(); ++i) {
    if (i > 0) connection->endpoints_text_ += ',';
    connection->endpoints_text_ += options.endpoints[i];
  }
  connection->channel_ = grpc::CreateCustomChannel(target->first, credentials, arguments);
  connection->kv_ = etcdserverpb::KV::NewStub(connection->channel_);
  connection->watch_ = etcdserverpb::Watch::NewStub(connection->channel_);
  connection->lease_ = etcdserverpb::Lease::NewStub(connection->channel_);
  connection->auth_ = etcdserverpb::Auth::NewStub(connection->channel_);
  connection->options_ = std::move(options);
  return connection;
}

base::Result<std::string> EtcdConnection::token() {
  if (options_.username.empty()) return std::string();
  {
    std::lock_guard lock(token_mutex_);
    if (!token_.empty()) return token_;
  }
  etcdserverpb::AuthenticateRequest request;
  request.set_name(options_.username);
  request.set_password(options_.password);
  etcdserverpb::AuthenticateResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + options_.request_timeout);
  context.set_wait_for_ready(true);
  const grpc::Status status = auth_->Authenticate(&context, request, &response);
  if (!status.ok()) {
    base::Failure failure =
        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ? explainDeadline(status) : toFailure(status);
    failure.message = "authenticating as " + options_.username + ": " + failure.message;
    return failure;
  }
  std::lock_guard lock(token_mutex_);
  token_ = response.token();
  return token_;
}

void EtcdConnection::invalidateToken() {
  std::lock_guard lock(token_mutex_);
  token_.clear();
}

base::Status EtcdConnection::prepareStream(grpc::ClientContext& context) {
  auto current = token();
  if (!current) return current.status();
  if (!current->empty()) context.AddMetadata("token", *current);
  return base::Status::ok();
}

base::Status EtcdConnection::call(const std::function<grpc::Status(grpc::ClientContext&)>& rpc,
                                  bool idempotent) {
  const auto deadline = std::chrono::system_clock::now() + options_.request_timeout;
  bool reauthenticated = false;
  for (;;) {
    auto current = token();
    if (!current) return current.status();
    grpc::ClientContext context;
    context.set_deadline(deadline);
    context.set_wait_for_ready(true);
    if (!current->empty()) context.AddMetadata("token", *current);
    const grpc::Status status = rpc(context);
    if (status.ok()) return base::Status::ok();
    if (!reauthenticated && !options_.username.empty() && isInvalidToken(status)) {
      reauthenticated = true;
      invalidateToken();
      continue;
    }
    const std::string& said = status.error_message();
    const bool not_applied = said.find("etcdserver: no leader") != std::string::npos ||
                             said.find("etcdserver: leader changed") != std::string::npos;
    const bool transient = status.error_code() == grpc::StatusCode::UNAVAILABLE && (idempotent || not_applied);
    // A short pause lets the election finish; never past the deadline.
    const auto retry_at = std::chrono::system_clock::now() + std::chrono::milliseconds(50);
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return explainDeadline(status);
    if (!transient || retry_at >= deadline) return toFailure(status);
    std::this_thread::sleep_until(retry_at);
  }
}

base::Failure EtcdConnection::explainDeadline(const grpc::Status& status) const {
  // Connected and still no answer: etcd itself is stuck (no quorum). Not
  // connected: wait_for_ready hid why (a member down, a refused TLS
  // handshake); one quick read that does not wait says it.
  if (channel_->GetState(false) == GRPC_CHANNEL_READY) return toFailure(status);
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(1, '\0'));
  request.set_limit(1);
  etcdserverpb::RangeResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  const grpc::Status probe = kv_->Range(&context, request, &response);
  if (probe.error_code() != grpc::StatusCode::UNAVAILABLE || probe.error_message().empty()) return toFailure(status);
  return base::fail(base::Error::kUnavailable, "etcd " + endpoints_text_ + ": no member reachable within " +
                                                   std::to_string(options_.request_timeout.count()) +
                                                   " ms: " + probe.error_message());
}

bool EtcdConnection::isInvalidToken(const grpc::Status& status) {
  return status.error_message().find("invalid auth token") != std::string::npos;
}

base::Failure EtcdConnection::toFailure(const grpc::Status& status) const {
  const std::string& said = status.error_message();
  std::string message = "etcd " + endpoints_text_ + ": ";
  base::Error code = base::Error::kIo;
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      code = base::Error::kUnavailable;
      message += said.empty() ? "unavailable" : said;
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      code = base::Error::kUnavailable;
      message += "no answer within " + std::to_string(options_.request_timeout.count()) +
                 " ms (deadline exceeded; no quorum?)";
      break;
    case grpc::StatusCode::INVALID_ARGUMENT:
      code = base::Error::kInvalidArgument;
      message += said;
      break;
    case grpc::StatusCode::NOT_FOUND:
      code = base::Error::kNotFound;
      message += said;
      break;
    default:
      message += said.empty() ? "gRPC status " + std::to_string(status.error_code()) : said;
      break;
  }
  // etcd answers some quorum losses with other codes; its words decide.
  for (std::string_view words : {"etcdserver: no leader", "etcdserver: request timed out",
                                 "etcdserver: leader changed", "etcdserver: too many requests"}) {
    if (said.find(words) != std::string::npos) code = base::Error::kUnavailable;
  }
  return base::fail(code, std::move(message));
}

}  // namespace remora::cp::store::etcd
