// EtcdClient: remora-cp's client of etcd's v3 gRPC API (KV, Watch, Lease,
// Auth), on gRPC C++ and our own subset of etcd's protos
// (control-plane/store/etcd/proto). It is what EtcdStore (objects) and the
// replica coordination (sidecar registrations, proxy status) are built on.
//
// One gRPC channel over every configured endpoint: gRPC's round_robin policy
// sends each call to a member that is up, so losing one member of three is
// invisible. Every call has a deadline (request_timeout); a cluster without
// quorum answers kUnavailable, naming the endpoints and etcd's own words.
//
// Thread-safe: calls may come from any thread at once. Watches run on a
// thread each (EtcdWatch) and resume after any failure from the revision
// after the last one they delivered.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xds/base/status.h"

namespace remora::cp::store::etcd {

struct EtcdOptions {
  // "host:port" each; an "http://" or "https://" prefix is accepted and
  // dropped (TLS is decided by ca_file below).
  std::vector<std::string> endpoints;
  // TLS to etcd when ca_file is set; cert_file/key_file add a client
  // certificate (etcd's --client-cert-auth).
  std::string ca_file, cert_file, key_file;
  // etcd authentication (Auth.Authenticate) when username is set; the token
  // is renewed when etcd says it is invalid.
  std::string username, password;
  std::chrono::milliseconds dial_timeout{5000};
  std::chrono::milliseconds request_timeout{5000};
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct RangeResult {
  std::vector<KeyValue> kvs;
  int64_t revision = 0;  // the store's revision when the range was read
};

// One comparison of a Txn (etcd's Compare): the key's `target` compared with
// `number` (revisions, version) or `value`.
struct Compare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue, kLease };
  enum class Result { kEqual, kGreater, kLess, kNotEqual };
  std::string key;
  Target target = Target::kModRevision;
  Result result = Result::kEqual;
  int64_t number = 0;
  std::string value;
};

// One operation of a Txn branch.
struct TxnOp {
  enum class Type { kPut, kDelete, kGet };
  Type type = Type::kPut;
  std::string key;
  std::string value;    // kPut
  int64_t lease = 0;    // kPut: 0 = no lease
  bool prefix = false;  // kDelete, kGet: every key starting with `key`
};

struct TxnResult {
  bool succeeded = false;  // the compares held: the success branch ran
  int64_t revision = 0;    // the store's revision after the txn
  // For each kGet of the branch that ran, in order: what it read.
  std::vector<std::vector<KeyValue>> gets;
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete: the key and mod_revision (= the delete's revision)
  std::optional<KeyValue> prev_kv;  // the value before this event (watch asks prev_kv)
};

// The handlers of one watch; called on the watch's own thread, in revision
// order.
struct WatchHandlers {
  // A batch of events, all of one revision or of consecutive ones;
  // `revision` is the header revision of the response.
  std::function<void(const std::vector<WatchEvent>& events, int64_t revision)> on_events;
  // The revision to resume from was compacted away: the caller must re-read
  // the prefix (range) and continue from the returned revision + 1. The watch
  // restarts from whatever this returns + 1. A negative return means the
  // re-read failed: the watch backs off and reports the compaction again.
  std::function<int64_t(int64_t compact_revision)> on_compacted;
  // The watch stream broke or could not open (etcd down); it retries with
  // backoff. `why` is for logs and metrics. Optional.
  std::function<void(const std::string& why)> on_error;
  // The stream is (re)established and synced. Optional.
  std::function<void()> on_connected;
};

// A running watch. Destroying it cancels the stream and joins the thread.
class EtcdWatch {
 public:
  virtual ~EtcdWatch() = default;
};

class EtcdClient {
 public:
  // Creates the channel (lazily connected: an unreachable cluster is not an
  // error here; the first call says so). kInvalidArgument for a bad option
  // (no endpoints, an unreadable TLS file), naming it.
  static base::Result<std::unique_ptr<EtcdClient>> create(EtcdOptions options);
  virtual ~EtcdClient() = default;

  // Keys in [key, key+1) or, with prefix, every key starting with `key`.
  // `revision` 0 reads the latest. Linearizable reads.
  virtual base::Result<RangeResult> range(std::string_view key, bool prefix, int64_t revision = 0) = 0;
  // Returns the revision of the put.
  virtual base::Result<int64_t> put(std::string_view key, std::string_view value, int64_t lease = 0) = 0;
  // Returns the revision of the delete (the current one if nothing matched).
  virtual base::Result<int64_t> remove(std::string_view key, bool prefix = false) = 0;
  virtual base::Result<TxnResult> txn(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                                      const std::vector<TxnOp>& failure) = 0;

  // Leases: granted with a TTL, kept alive by keepAlive() (one round trip on
  // a LeaseKeepAlive stream; kNotFound once the lease has expired), revoked
  // (its keys deleted) on a clean shutdown.
  virtual base::Result<int64_t> grantLease(std::chrono::seconds ttl) = 0;
  virtual base::Status keepAlive(int64_t lease) = 0;
  virtual base::Status revokeLease(int64_t lease) = 0;

  // Watches every key starting with `prefix` from `start_revision` on
  // (inclusive; etcd's start_revision), with prev_kv.
  virtual std::unique_ptr<EtcdWatch> watchPrefix(std::string prefix, int64_t start_revision,
                                                 WatchHandlers handlers) = 0;

  // "127.0.0.1:2379,127.0.0.1:22379": for messages.
  virtual const std::string& endpointsText() const = 0;
};

// The first key after every key that starts with `prefix` (etcd's
// range_end for a prefix): the prefix with its last byte incremented.
std::string prefixRangeEnd(std::string_view prefix);

}  // namespace remora::cp::store::etcd
