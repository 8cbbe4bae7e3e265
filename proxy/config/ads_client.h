// AdsClient: remora-proxy's one Aggregated Discovery Service stream to the
// control plane. It keeps the stream up, across several control-plane
// replicas when the ADS cluster lists several: after any failure it dials the
// next address (AdsAddressRotation: at once after a stream that worked,
// jittered exponential backoff once every address failed in a row, names
// re-resolved then), and resumes with the versions it holds. It feeds every DiscoveryResponse to the
// AdsMux (whose watcher, the XdsCache, applies it) and sends what the mux
// asks: the initial subscriptions with the node, then ACKs and NACKs.
//
// While the control plane is unreachable nothing changes: the proxy serves its
// last good config; connected() and failure() say why it is stale.
//
// Main thread only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "proxy/config/ads_address_rotation.h"
#include "proxy/config/xds_cache.h"
#include "proxy/grpc/grpc_stream.h"
#include "proxy/net/dispatcher.h"
#include "xds/client/ads_mux.h"

namespace remora::config {

struct AdsClientOptions {
  // The ADS cluster's endpoints (control-plane replicas), dialled in turn;
  // at least one.
  std::vector<net::Address> addresses;
  std::string authority;  // the ADS cluster's name
  xds::client::AdsMux::Mode mode = xds::client::AdsMux::Mode::kStateOfTheWorld;
  envoy::config::core::v3::Node node;  // sent in the first request of each stream
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{30000};
  // A stream up this long counts as working even if the server sent nothing
  // (a resumed stream whose versions were current): its end fails over at
  // once instead of counting toward a failed cycle.
  std::chrono::milliseconds stable_after{5000};
  // An HTTP/2 PING after this long without a byte from the control plane. Not
  // shorter: gRPC servers by default answer pings more often than every 5
  // minutes on a quiet stream with GOAWAY "too many pings".
  std::chrono::milliseconds keepalive_interval{300000};
  std::chrono::milliseconds keepalive_timeout{20000};
  // The transport (TLS with the workload certificate when the ADS cluster
  // has a transport_socket); plain TCP when unset.
  std::function<net::ConnectionPtr(net::Dispatcher&, const net::Address&)> connect;
  // Resolves the control plane's names again (blocking getaddrinfo): run on a
  // short-lived thread of the client's own, never on the loop, after each
  // cycle in which every address failed; an empty answer keeps the old
  // addresses. Unset: the addresses are fixed.
  std::function<std::vector<net::Address>()> resolve;
};

// What the client tells the server about itself, for metrics.
class AdsClientObserver {
 public:
  virtual ~AdsClientObserver() = default;
  virtual void onConnected(bool connected) = 0;
  virtual void onStreamFailure(const std::string& why) = 0;
  // One response handled: accepted (ACK) or rejected (NACK).
  virtual void onResponse(std::string_view type_url, bool accepted) = 0;
  // The stream came up on `address` (after onConnected(true)); `failover`:
  // an earlier stream was up on another address.
  virtual void onControlPlane(const net::Address& address, bool failover) {
    (void)address;
    (void)failover;
  }
};

class AdsClient : public grpc::GrpcStreamCallbacks {
 public:
  AdsClient(net::Dispatcher& dispatcher, AdsClientOptions options, XdsCache& cache, AdsClientObserver& observer,
            std::function<uint64_t()> random);
  ~AdsClient() override;

  // Opens the first stream.
  void start();
  // While `held` returns true, requests made by responses (ACKs, NACKs,
  // new subscriptions) wait: the server holds them until the workers serve
  // the config a response produced, so an ACK means "serving", then calls
  // flush().
  void holdRequestsWhile(std::function<bool()> held) { held_ = std::move(held); }
  // Sends whatever the mux has queued (no-op without a stream).
  void flush();
  // The proxy is shutting down: half-closes the stream so the control plane
  // knows this is a goodbye, not a crash (it withdraws the proxy's endpoints
  // at once), and never reconnects. The config in use stays.
  void leave();

  bool connected() const { return connected_; }
  // Why the last stream ended or could not open ("" if none failed yet).
  const std::string& failure() const { return failure_; }
  // Since when the stream has been down (nullopt while connected).
  std::optional<std::chrono::steady_clock::time_point> downSince() const { return down_since_; }
  const xds::client::AdsMux& mux() const { return mux_; }
  // The address the stream is up on, or the one being dialled.
  const net::Address& currentAddress() const { return rotation_.current(); }
  const std::vector<net::Address>& addresses() const { return rotation_.addresses(); }
  // Streams that came up on another address than the previous one.
  uint64_t failovers() const { return failovers_; }

  // grpc::GrpcStreamCallbacks
  void onReady() override;
  void onMessage(std::string message) override;
  void onClose(int grpc_status, std::string message) override;

 private:
  void connect();
  void startResolve();

  net::Dispatcher& dispatcher_;
  AdsClientOptions options_;
  AdsClientObserver& observer_;
  xds::client::AdsMux mux_;
  AdsAddressRotation rotation_;
  std::unique_ptr<grpc::GrpcStream> stream_;
  net::TimerPtr retry_timer_;
  std::function<bool()> held_;
  bool leaving_ = false;
  std::string failure_;
  std::optional<std::chrono::steady_clock::time_point> down_since_;
  bool connected_ = false;
  bool proven_ = false;  // the current stream delivered a response
  std::chrono::steady_clock::time_point up_since_;
  uint64_t failovers_ = 0;
  // The resolver thread (at most one); joined when its answer arrives and in
  // the destructor. `alive_` tells its posted answer whether we still exist.
  std::thread resolver_;
  bool resolving_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace remora::config
