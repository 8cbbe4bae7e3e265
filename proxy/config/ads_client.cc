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
      rotation_(options_.addresses, options_.backoff_base, options_.backoff_max, std::move(random)) {
  cache.attach(mux_);
  retry_timer_ = dispatcher_.createTimer([this] { connect(); });
}

AdsClient::~AdsClient() {
  // No callback may reach a half-destroyed client.
  stream_.reset();
  retry_timer_.reset();
  // getaddrinfo cannot be cancelled: shutdown waits for it (bounded by the
  // resolver's own timeout), and its posted answer finds alive_ gone.
  if (resolver_.joinable()) resolver_.join();
  alive_.reset();
}

void AdsClient::start() {
  down_since_ = std::chrono::steady_clock::now();
  connect();
}

void AdsClient::connect() {
  grpc::GrpcStreamOptions o;
  o.address = rotation_.current();
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
  proven_ = false;
  up_since_ = std::chrono::steady_clock::now();
  down_since_.reset();
  const bool failover = rotation_.onConnected();
  if (failover) ++failovers_;
  observer_.onConnected(true);
  observer_.onControlPlane(rotation_.current(), failover);
  spdlog::info("xds: connected to {} (cluster {}, {} address(es){})", rotation_.current().toString(),
               options_.authority, rotation_.addresses().size(), failover ? ", failed over" : "");
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
  // fails over at once and starts the backoff from its base again.
  proven_ = true;
  rotation_.onProven();
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
  const bool proven =
      proven_ || (was_connected && std::chrono::steady_clock::now() - up_since_ >= options_.stable_after);
  const net::Address address = rotation_.current();
  connected_ = false;
  proven_ = false;
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
  const AdsAddressRotation::Retry retry = rotation_.onFailure(proven);
  if (retry.cycle_completed) startResolve();
  spdlog::warn("xds: stream to {} ended ({}); connecting to {} in {} ms", address.toString(), failure_,
               rotation_.current().toString(), retry.delay.count());
  retry_timer_->enable(retry.delay);
}

void AdsClient::startResolve() {
  if (!options_.resolve || resolving_) return;
  if (resolver_.joinable()) resolver_.join();  // finished: its answer was posted
  resolving_ = true;
  std::weak_ptr<int> alive = alive_;
  net::Dispatcher* dispatcher = &dispatcher_;
  // The thread touches only copies and the dispatcher (which outlives us:
  // the destructor joins the thread first).
  resolver_ = std::thread([this, alive, dispatcher, resolve = options_.resolve] {
    std::vector<net::Address> found = resolve();
    dispatcher->post([this, alive, found = std::move(found)]() mutable {
      if (alive.expired()) return;
      resolving_ = false;
      if (found.empty() || found == rotation_.addresses()) return;
      spdlog::info("xds: the control plane's names now resolve to {} addresses", found.size());
      rotation_.replaceAddresses(std::move(found));
    });
  });
}

}  // namespace remora::config
