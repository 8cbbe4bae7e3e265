#include "proxy/config/ads_client.h"

#include <spdlog/spdlog.h>

#include "proxy/grpc/grpc_status.h"

namespace remora::config {

namespace {
constexpr const char* kSotwPath = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";
constexpr const char* kDeltaPath = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";
}  // namespace

AdsClient::AdsClient(net::Dispatcher& dispatcher, AdsClientOptions options, XdsCache& cache,
                     AdsClientObserver& observer, std::function<uint64_t()> random)
    : dispatcher_(dispatcher), options_(std::move(options)), observer_(observer),
      mux_(options_.mode, options_.node, cache),
      backoff_(options_.backoff_base, options_.backoff_max, std::move(random)) {
  cache.attach(mux_);
  retry_timer_ = dispatcher_.createTimer([this] { connect(); });
}

AdsClient::~AdsClient() {
  // No callback may reach a half-destroyed client.
  stream_.reset();
  retry_timer_.reset();
}

void AdsClient::start() {
  down_since_ = std::chrono::steady_clock::now();
  connect();
}

void AdsClient::connect() {
  grpc::GrpcStreamOptions o;
  o.address = options_.address;
  o.authority = options_.authority;
  o.path = options_.mode == xds::client::AdsMux::Mode::kDelta ? kDeltaPath : kSotwPath;
  o.connect_timeout = options_.connect_timeout;
  o.keepalive_interval = options_.keepalive_interval;
  o.keepalive_timeout = options_.keepalive_timeout;
  o.connect = options_.connect;
  stream_ = grpc::GrpcStream::start(dispatcher_, std::move(o), *this);
}

void AdsClient::onReady() {
  connected_ = true;
  down_since_.reset();
  observer_.onConnected(true);
  spdlog::info("xds: connected to {} ({})", options_.address.toString(), options_.authority);
  mux_.onStreamStarted();
  flush();
}

void AdsClient::flush() {
  if (!stream_) return;
  for (auto& request : mux_.takeRequests()) {
    std::string bytes;
    std::visit([&bytes](const auto& r) { r.SerializeToString(&bytes); }, request);
    stream_->sendMessage(bytes);
  }
}

void AdsClient::onMessage(std::string message) {
  // A stream that delivers a response has proven itself: the next failure
  // starts the backoff from its base again.
  backoff_.reset();
  std::string type_url;
  bool accepted = false;
  if (options_.mode == xds::client::AdsMux::Mode::kDelta) {
    xds::client::DeltaDiscoveryResponse response;
    if (!response.ParseFromString(message)) {
      observer_.onStreamFailure("malformed DeltaDiscoveryResponse");
      spdlog::warn("xds: dropped a DeltaDiscoveryResponse that does not parse ({} bytes)", message.size());
      return;
    }
    type_url = response.type_url();
    accepted = mux_.onDeltaResponse(response);
  } else {
    xds::client::DiscoveryResponse response;
    if (!response.ParseFromString(message)) {
      observer_.onStreamFailure("malformed DiscoveryResponse");
      spdlog::warn("xds: dropped a DiscoveryResponse that does not parse ({} bytes)", message.size());
      return;
    }
    type_url = response.type_url();
    accepted = mux_.onResponse(response);
  }
  observer_.onResponse(type_url, accepted);
  if (!accepted) {
    const auto* s = mux_.state(type_url);
    spdlog::warn("xds: rejected {}: {}", type_url, s && s->last_error ? *s->last_error : "unknown type");
  }
  if (held_ && held_()) return;
  flush();
}

void AdsClient::leave() {
  if (leaving_) return;
  leaving_ = true;
  retry_timer_->disable();
  if (stream_) stream_->finish();
}

void AdsClient::onClose(int grpc_status, std::string message) {
  const bool was_connected = connected_;
  connected_ = false;
  if (!down_since_) down_since_ = std::chrono::steady_clock::now();
  failure_ = grpc::statusName(grpc_status) + ": " + message;
  mux_.onStreamClosed();
  // The stream may be destroyed from inside its own callback.
  stream_.reset();
  if (was_connected) observer_.onConnected(false);
  if (leaving_) {
    spdlog::info("xds: left the control plane ({})", failure_);
    return;
  }
  observer_.onStreamFailure(failure_);
  const auto delay = backoff_.next();
  spdlog::warn("xds: stream to {} ended ({}); reconnecting in {} ms", options_.address.toString(), failure_,
               delay.count());
  retry_timer_->enable(delay);
}

}  // namespace remora::config
