// AdsLoadStream: a simulated sidecar on a state-of-the-world ADS stream,
// subscribing as Envoy does: Listener and Cluster as wildcards, then the
// route configurations its listeners load by RDS and the assignments of its
// EDS clusters, each by name, updating those names whenever listeners or
// clusters change. Every response is ACKed with its version and nonce.
//
// Lives like its base (load_stream.h): created and started by the driver,
// reactions on gRPC's threads.
#pragma once

#include <map>
#include <set>
#include <string>

#include "tests/bench/cp_load/load_stream.h"

namespace remora::bench {

class AdsLoadStream final : public LoadStream<envoy::service::discovery::v3::DiscoveryRequest,
                                              envoy::service::discovery::v3::DiscoveryResponse> {
 public:
  using LoadStream::LoadStream;

 private:
  using Request = envoy::service::discovery::v3::DiscoveryRequest;
  using Response = envoy::service::discovery::v3::DiscoveryResponse;

  struct TypeState {
    std::string version;  // last version received (and ACKed)
    std::string nonce;
    bool answered = false;
    std::set<std::string> held;  // names received so far (until synced)
  };

  void call(AdsStub& stub, grpc::ClientContext& context) override;
  void sendInitial(const envoy::config::core::v3::Node& node) override;
  void onResponse(const Response& response, int64_t now_ns) override;

  Request request(const std::string& type_url, const std::set<std::string>* names) const;
  // Also records the stages reached in the ProxyRecord.
  bool complete();

  std::map<std::string, TypeState> types_;
  std::set<std::string> route_names_;
  std::set<std::string> eds_names_;
};

}  // namespace remora::bench
