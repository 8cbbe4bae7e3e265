// XdsCache: remora-proxy's dynamic configuration. It receives the resources
// of each xDS response (as the AdsMux's watcher), validates them, combines
// them with the bootstrap's static resources into a new immutable Snapshot,
// and publishes it; only when all of that succeeds is the response ACKed and
// the resources kept. Anything that fails NACKs the whole response and leaves
// the running config as it was.
//
//   - Clusters (CDS) and listeners (LDS) are wildcard subscriptions; the
//     endpoint (EDS) and route (RDS) names follow from them, and change as
//     they do.
//   - An EDS cluster serves the endpoints of its ClusterLoadAssignment (none
//     until it arrives). A listener whose RDS routes have not arrived yet is
//     warming: it is left out of the snapshot, or, if an older version of it
//     is running, that one keeps serving until the routes arrive.
//   - Route tables are compiled once, when their resource is accepted, and
//     shared by every snapshot after it.
//
// Main thread only.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proxy/config/snapshot.h"
#include "proxy/config/tls_registry.h"
#include "proxy/router/route_table.h"
#include "xds/client/ads_mux.h"
#include "xds/resources/model.h"
#include "xds/resources/resource_decoder.h"

namespace remora::config {

class XdsCache : public xds::client::SubscriptionWatcher {
 public:
  // Switches the proxy to a snapshot; a failure (a listener port that cannot
  // be bound) NACKs the update.
  using Publish = std::function<base::Status(std::shared_ptr<const Snapshot>)>;
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // What we hold of one resource, for /config_dump.
  struct Entry {
    std::string version;  // the response's version (SotW) or the resource's (delta)
    std::chrono::system_clock::time_point accepted_at;
    std::shared_ptr<const google::protobuf::Any> body;  // as received
    std::string skipped;  // non-empty: accepted but not used, and why
  };

  // `tls` resolves the TLS of listeners and clusters and receives SDS secrets;
  // it outlives the cache.
  XdsCache(std::shared_ptr<const xds::resources::Bootstrap> bootstrap, std::shared_ptr<const Snapshot> initial,
           Publish publish, Clock clock, TlsRegistry& tls);
  ~XdsCache() override;

  // Subscribes `mux` to what the bootstrap's dynamic_resources ask for, and
  // keeps it to follow EDS and RDS names.
  void attach(xds::client::AdsMux& mux);

  base::Status onUpdate(std::string_view type_url, const std::vector<xds::client::ResourceUpdate>& updated,
                        const std::vector<std::string>& removed, bool state_of_the_world,
                        std::string_view version) override;

  // True once the first config arrived: clusters and listeners (where
  // dynamic) accepted once, and the endpoints and routes they named at that
  // point too. Stays true afterwards.
  bool initialized() const { return initialized_; }
  // While not initialized: what is missing ("no Cluster response yet", ...).
  std::string waitingFor() const;
  // When the last update was accepted (nullopt: never).
  std::optional<std::chrono::system_clock::time_point> lastUpdate() const { return last_update_; }

  const std::map<std::string, Entry>& entries(xds::resources::ResourceType type) const;
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  // Listeners left out of the snapshot because their routes have not arrived.
  const std::set<std::string>& warmingListeners() const { return warming_; }

 private:
  struct Compiled;  // decoded, validated and compiled resources of every type
  // Builds the snapshot `state` describes; refreshes state.filled.
  base::Result<std::shared_ptr<const Snapshot>> assemble(Compiled& state, std::set<std::string>& warming) const;
  void followNames();
  void checkInitialized();

  std::shared_ptr<const xds::resources::Bootstrap> bootstrap_;
  TlsRegistry& tls_;
  Publish publish_;
  Clock clock_;
  xds::client::AdsMux* mux_ = nullptr;
  std::unique_ptr<Compiled> state_;
  std::map<std::string, Entry> entries_[5];  // by ResourceType
  std::shared_ptr<const Snapshot> snapshot_;
  std::set<std::string> warming_;
  std::set<std::string> accepted_types_;
  std::optional<std::chrono::system_clock::time_point> last_update_;
  uint64_t next_version_ = 2;
  bool initialized_ = false;
};

}  // namespace remora::config
