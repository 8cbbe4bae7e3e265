// Snapshot and clock helpers shared by the xds/server session tests.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "xds/server/proxy_registry.h"
#include "xds/server/resource_snapshot.h"

namespace remora::xds::server::test {

inline NamedResource cluster(const std::string& name, int timeout_s = 1) {
  envoy::config::cluster::v3::Cluster c;
  c.set_name(name);
  c.mutable_connect_timeout()->set_seconds(timeout_s);
  NamedResource r{name, {}};
  r.body.PackFrom(c);
  return r;
}

inline NamedResource listener(const std::string& name) {
  envoy::config::listener::v3::Listener l;
  l.set_name(name);
  NamedResource r{name, {}};
  r.body.PackFrom(l);
  return r;
}

inline NamedResource endpoints(const std::string& name, int port) {
  envoy::config::endpoint::v3::ClusterLoadAssignment a;
  a.set_cluster_name(name);
  a.add_endpoints()->add_lb_endpoints()->mutable_endpoint()->mutable_address()->mutable_socket_address()->set_port_value(
      port);
  NamedResource r{name, {}};
  r.body.PackFrom(a);
  return r;
}

inline std::shared_ptr<const ResourceSnapshot> snapshot(const std::string& version, std::vector<NamedResource> rs) {
  auto s = ResourceSnapshot::create(version, std::move(rs));
  return s ? *s : nullptr;
}

// A clock the test moves by hand.
struct FakeClock {
  TimePoint now = TimePoint(std::chrono::seconds(1700000000));
  Clock clock() {
    return [this] { return now; };
  }
};

}  // namespace remora::xds::server::test
