// The bootstrap proto -> the validated model Bootstrap: node, admin, static
// listeners and clusters, with the checks that need the whole file (unique
// names and addresses, every cluster a route or tcp_proxy names exists).
// Called once at start-up and by `remora-proxy validate` on the main thread;
// pure, any thread.
#pragma once

#include <string_view>
#include <vector>

#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

// Errors name the field from the file's root ("static_resources.clusters[1]...").
// dynamic_resources must be ADS (ads_config over a STATIC HTTP/2 cluster, with
// lds_config/cds_config `ads: {}`) and needs node.id. Without it, EDS clusters
// and RDS routes are refused, since nothing could fetch them; with it they are
// fetched over ADS. With CDS on, static listeners may name clusters that are
// not (yet) in static_resources.
base::Result<Bootstrap> toBootstrap(const envoy::config::bootstrap::v3::Bootstrap& proto);

// kNotFound naming the first route or tcp_proxy of `listener` (converted from
// the proto at `path`) that names a cluster not in `clusters`. Also used for
// xDS snapshots, where listeners and clusters arrive separately.
base::Status checkClusterReferences(const Listener& listener, const std::vector<Cluster>& clusters,
                                    std::string_view path);

}  // namespace remora::xds::resources
