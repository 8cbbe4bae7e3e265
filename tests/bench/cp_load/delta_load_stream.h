// DeltaLoadStream: a simulated sidecar on an incremental (delta) ADS stream.
// Listener and Cluster are wildcard subscriptions; route configurations and
// assignments are subscribed and unsubscribed by name as the held listeners
// and clusters change. Every response is ACKed with its nonce.
//
// Lives like its base (load_stream.h).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/bench/cp_load/load_stream.h"

namespace remora::bench {

class DeltaLoadStream final : public LoadStream<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                                                envoy::service::discovery::v3::DeltaDiscoveryResponse> {
 public:
  using LoadStream::LoadStream;

 private:
  using Request = envoy::service::discovery::v3::DeltaDiscoveryRequest;
  using Response = envoy::service::discovery::v3::DeltaDiscoveryResponse;

  struct TypeState {
    bool answered = false;
    std::map<std::string, std::string> held;  // name -> version
  };

  void call(AdsStub& stub, grpc::ClientContext& context) override;
  void sendInitial(const envoy::config::core::v3::Node& node) override;
  void onResponse(const Response& response, int64_t now_ns) override;

  // Sends the (un)subscriptions that turn `current` into `wanted`.
  void resubscribe(const char* type_url, std::set<std::string>& current, std::set<std::string> wanted);
  // Also records the stages reached in the ProxyRecord.
  bool complete();

  std::map<std::string, TypeState> types_;
  // What each held listener / cluster asks for, to recompute the union when
  // only some of them change.
  std::map<std::string, std::vector<std::string>> listener_routes_;
  std::map<std::string, std::string> cluster_eds_;
  std::set<std::string> route_names_;
  std::set<std::string> eds_names_;
};

}  // namespace remora::bench
