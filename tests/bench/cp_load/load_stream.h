// LoadStream: one simulated sidecar's ADS stream on gRPC C++'s callback API
// (ClientBidiReactor), so a thousand of them share gRPC's few threads. This
// base owns the stream's own channel (its own TCP connection), the read loop
// and a write queue; AdsLoadStream (state of the world) and DeltaLoadStream
// (incremental) decide what to ask for and how to ACK.
//
// Threads: start() and cancel() on the driver's thread; the reactions on
// gRPC's callback threads. Reads are serial (one outstanding read), so a
// subclass's onResponse() never runs concurrently with itself; writes may be
// queued from any thread. The driver deletes a stream only after its OnDone
// (LoadState::waitEnded).
#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "envoy/config/core/v3/base.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "tests/bench/cp_load/load_state.h"
#include "tests/bench/cp_load/resource_names.h"

namespace remora::bench {

inline constexpr const char* kListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener";
inline constexpr const char* kClusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr const char* kRouteType = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
inline constexpr const char* kEndpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

// The node a sidecar of service "svc-<index % services>" announces: id
// "load-<index>", metadata REMORA_SERVICE, REMORA_NAMESPACE=default,
// POD_IP=10.200.<index / 256>.<index % 256>, APP_PORTS=8080.
envoy::config::core::v3::Node loadNode(int index, int services);
std::string serviceName(int service);  // "svc-0007"

// A channel of its own: a local subchannel pool and an argument unique to
// `index`, so gRPC opens one TCP connection per simulated proxy instead of
// multiplexing them all on one.
std::shared_ptr<grpc::Channel> ownChannel(const std::string& address, int index);

using AdsStub = envoy::service::discovery::v3::AggregatedDiscoveryService::Stub;

// What the driver sees of a stream, whatever its flavour.
class SimulatedProxy {
 public:
  virtual ~SimulatedProxy() = default;
  // Opens the stream to `address` (a new channel) and sends the first requests.
  virtual void start(const std::string& address, int services) = 0;
  // Ends the stream; OnDone follows on a gRPC thread.
  virtual void cancel() = 0;
};

template <typename Request, typename Response>
class LoadStream : public SimulatedProxy, public grpc::ClientBidiReactor<Request, Response> {
 public:
  LoadStream(int index, LoadState& state, ResourceNameCache& names)
      : index_(index), state_(state), record_(state.proxy(index)), names_(names) {}
  ~LoadStream() override = default;
  LoadStream(const LoadStream&) = delete;
  LoadStream& operator=(const LoadStream&) = delete;

  void start(const std::string& address, int services) override {
    channel_ = ownChannel(address, index_);
    stub_ = envoy::service::discovery::v3::AggregatedDiscoveryService::NewStub(channel_);
    call(*stub_, context_);
    sendInitial(loadNode(index_, services));
    this->StartRead(&response_);
    this->StartCall();
  }
  void cancel() override { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream is over; OnDone follows
    const int64_t now = nowNs();
    const uint64_t size = response_.ByteSizeLong();
    record_.bytes += size;
    if (int type = typeIndex(response_.type_url()); type >= 0) record_.type_bytes[type] += size;
    ++record_.responses;
    uint64_t max = record_.max_response_bytes.load();
    while (size > max && !record_.max_response_bytes.compare_exchange_weak(max, size)) {
    }
    onResponse(response_, now);
    this->StartRead(&response_);
  }

  void OnWriteDone(bool ok) override {
    Request* next = nullptr;
    {
      std::lock_guard lock(mutex_);
      queue_.pop_front();
      if (ok && !queue_.empty()) next = &queue_.front();
      if (next == nullptr) writing_ = false;
    }
    if (next != nullptr) this->StartWrite(next);
  }

  void OnDone(const grpc::Status& status) override {
    state_.streamEnded(index_, status.ok() ? "" : std::to_string(status.error_code()) + " " + status.error_message());
  }

 protected:
  // Starts the RPC of this flavour on `stub` (no I/O until StartCall).
  virtual void call(AdsStub& stub, grpc::ClientContext& context) = 0;
  // Queues the first requests; the first carries the node.
  virtual void sendInitial(const envoy::config::core::v3::Node& node) = 0;
  // A response arrived at `now_ns`; queue the ACK and any new subscription.
  virtual void onResponse(const Response& response, int64_t now_ns) = 0;

  // Queues a request; written in order, one at a time.
  void send(Request request) {
    Request* next = nullptr;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(request));
      if (writing_) return;
      writing_ = true;
      next = &queue_.front();  // deque: stays put while later ones are pushed
    }
    this->StartWrite(next);
  }

  // Marks write `watch` seen when the assignment carries its address.
  void checkWatch(const std::string& assignment_bytes, int64_t now_ns, const WriteWatch* watch) {
    if (watch == nullptr) return;
    auto& seen = record_.seen_ns[static_cast<size_t>(watch->index)];
    if (seen.load(std::memory_order_relaxed) != 0) return;
    if (assignmentHasAddress(assignment_bytes, watch->address)) seen = now_ns;
  }

  void markSynced(int64_t now_ns) {
    if (record_.synced_ns.load(std::memory_order_relaxed) == 0) record_.synced_ns = now_ns;
  }
  bool synced() const { return record_.synced_ns.load(std::memory_order_relaxed) != 0; }

  const int index_;
  LoadState& state_;
  ProxyRecord& record_;
  ResourceNameCache& names_;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<AdsStub> stub_;
  grpc::ClientContext context_;
  Response response_;
  std::mutex mutex_;
  std::deque<Request> queue_;
  bool writing_ = false;
};

}  // namespace remora::bench
