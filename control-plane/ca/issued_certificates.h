// IssuedCertificates: what `remoractl identity` shows. Per workload identity,
// the last certificate the CA issued (serial, issuedAt, notAfter, the peer
// address that asked) is kept in the Store (internal kind
// "IssuedCertificate", namespace = the identity's, name = its service
// account), so it survives a restart. Which proxies (xDS node ids) currently
// run as each identity is known from their mTLS ADS streams and kept in
// memory only (it is live state: it empties with the streams).
//
// Thread-safe: gRPC threads record, the API thread lists.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "control-plane/ca/spiffe_id.h"
#include "control-plane/store/store.h"
#include "xds/base/status.h"

namespace remora::cp::ca {

struct IssuedRecord {
  std::string identity;  // spiffe://...
  std::string namespace_;
  std::string service_account;
  std::string serial;
  int64_t issued_unix = 0;
  int64_t not_after_unix = 0;
  std::string requested_by;          // the gRPC peer ("ipv4:127.0.0.1:41234")
  std::vector<std::string> proxies;  // node ids with an mTLS ADS stream as this identity
};

class IssuedCertificates {
 public:
  explicit IssuedCertificates(store::Store& store) : store_(store) {}

  base::Status record(const SpiffeId& identity, const std::string& serial, int64_t issued_unix,
                      int64_t not_after_unix, const std::string& requested_by);
  // An ADS stream authenticated as `identity` (its URI) named `node_id`; and its end.
  void proxyConnected(const std::string& identity, const std::string& node_id);
  void proxyDisconnected(const std::string& identity, const std::string& node_id);

  // Ordered by namespace, service account.
  base::Result<std::vector<IssuedRecord>> list();

 private:
  store::Store& store_;
  std::mutex mutex_;
  std::map<std::string, std::multiset<std::string>> proxies_;  // identity -> node ids (one per stream)
};

}  // namespace remora::cp::ca
