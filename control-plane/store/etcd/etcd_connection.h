// EtcdConnection: the one gRPC channel to an etcd cluster, its stubs, the
// auth token and the rules every call follows (deadline, token metadata,
// error mapping). Internal to control-plane/store/etcd: EtcdClient's
// implementation and its watches share it through a shared_ptr, so a watch
// thread never outlives the channel it reads from.
//
// Thread-safe: the stubs and channel are gRPC's (thread-safe); the token is
// guarded by token_mutex_.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "control-plane/store/etcd/etcd_client.h"
#include "etcdserverpb/rpc.grpc.pb.h"

namespace remora::cp::store::etcd {

class EtcdConnection {
 public:
  // kInvalidArgument for bad options (no endpoints, an unreadable TLS file,
  // a malformed endpoint), naming the option.
  static base::Result<std::shared_ptr<EtcdConnection>> create(EtcdOptions options);

  etcdserverpb::KV::Stub& kv() { return *kv_; }
  etcdserverpb::Watch::Stub& watch() { return *watch_; }
  etcdserverpb::Lease::Stub& lease() { return *lease_; }
  const EtcdOptions& options() const { return options_; }
  const std::string& endpointsText() const { return endpoints_text_; }

  // Runs one unary call (or one short stream exchange) with a fresh context:
  // deadline request_timeout, wait-for-ready (so a call waits for a member
  // to be reachable rather than failing on the first down one), and the auth
  // token. When etcd says the token is invalid (expired, or etcd restarted
  // with simple tokens), authenticates again and retries once.
  //
  // Transient failures are retried within the same request_timeout, so an
  // election after a member dies is invisible: an idempotent call (reads)
  // on any kUnavailable, a mutation only when etcd says it did not apply it
  // ("no leader", "leader changed"), as etcd's own client does.
  base::Status call(const std::function<grpc::Status(grpc::ClientContext&)>& rpc, bool idempotent);

  // Adds the token (authenticating first if needed) to a long-lived stream's
  // context; no deadline.
  base::Status prepareStream(grpc::ClientContext& context);
  // Forgets the token, so the next call authenticates again.
  void invalidateToken();

  // A failed gRPC status as a Failure naming the endpoints:
  // "etcd 127.0.0.1:2379,127.0.0.1:2479: etcdserver: no leader".
  base::Failure toFailure(const grpc::Status& status) const;
  // A call that ran out of time: "no quorum?" when the channel is connected,
  // else the transport's own reason (refused, TLS handshake failed).
  base::Failure explainDeadline(const grpc::Status& status) const;
  static bool isInvalidToken(const grpc::Status& status);

 private:
  EtcdConnection() = default;
  // The token to send ("" without auth), authenticating when there is none.
  base::Result<std::string> token();

  EtcdOptions options_;
  std::string endpoints_text_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth_;

  std::mutex token_mutex_;  // guards token_
  std::string token_;
};

// Starts the watch thread of EtcdClient::watchPrefix (etcd_watch.cc).
std::unique_ptr<EtcdWatch> startWatch(std::shared_ptr<EtcdConnection> connection, std::string prefix,
                                      int64_t start_revision, WatchHandlers handlers);

}  // namespace remora::cp::store::etcd
