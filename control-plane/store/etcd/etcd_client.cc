#include "control-plane/store/etcd/etcd_client.h"

#include "control-plane/store/etcd/etcd_connection.h"

namespace remora::cp::store::etcd {
namespace {

KeyValue fromProto(const mvccpb::KeyValue& kv) {
  KeyValue out;
  out.key = kv.key();
  out.value = kv.value();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.version = kv.version();
  out.lease = kv.lease();
  return out;
}

void fillCompare(const Compare& compare, etcdserverpb::Compare& out) {
  out.set_key(compare.key);
  switch (compare.result) {
    case Compare::Result::kEqual: out.set_result(etcdserverpb::Compare::EQUAL); break;
    case Compare::Result::kGreater: out.set_result(etcdserverpb::Compare::GREATER); break;
    case Compare::Result::kLess: out.set_result(etcdserverpb::Compare::LESS); break;
    case Compare::Result::kNotEqual: out.set_result(etcdserverpb::Compare::NOT_EQUAL); break;
  }
  switch (compare.target) {
    case Compare::Target::kVersion:
      out.set_target(etcdserverpb::Compare::VERSION);
      out.set_version(compare.number);
      break;
    case Compare::Target::kCreateRevision:
      out.set_target(etcdserverpb::Compare::CREATE);
      out.set_create_revision(compare.number);
      break;
    case Compare::Target::kModRevision:
      out.set_target(etcdserverpb::Compare::MOD);
      out.set_mod_revision(compare.number);
      break;
    case Compare::Target::kValue:
      out.set_target(etcdserverpb::Compare::VALUE);
      out.set_value(compare.value);
      break;
    case Compare::Target::kLease:
      out.set_target(etcdserverpb::Compare::LEASE);
      out.set_lease(compare.number);
      break;
  }
}

void fillOp(const TxnOp& op, etcdserverpb::RequestOp& out) {
  switch (op.type) {
    case TxnOp::Type::kPut: {
      auto* put = out.mutable_request_put();
      put->set_key(op.key);
      put->set_value(op.value);
      put->set_lease(op.lease);
      break;
    }
    case TxnOp::Type::kDelete: {
      auto* del = out.mutable_request_delete_range();
      del->set_key(op.key);
      if (op.prefix) del->set_range_end(prefixRangeEnd(op.key));
      break;
    }
    case TxnOp::Type::kGet: {
      auto* get = out.mutable_request_range();
      get->set_key(op.key);
      if (op.prefix) get->set_range_end(prefixRangeEnd(op.key));
      break;
    }
  }
}

class GrpcEtcdClient final : public EtcdClient {
 public:
  explicit GrpcEtcdClient(std::shared_ptr<EtcdConnection> connection) : connection_(std::move(connection)) {}

  base::Result<RangeResult> range(std::string_view key, bool prefix, int64_t revision) override {
    etcdserverpb::RangeRequest request;
    request.set_key(std::string(key));
    if (prefix) request.set_range_end(prefixRangeEnd(key));
    request.set_revision(revision);
    etcdserverpb::RangeResponse response;
    auto status = connection_->call(
        [&](grpc::ClientContext& context) { return connection_->kv().Range(&context, request, &response); },
        true);
    if (!status) return status.error();
    RangeResult result;
    result.revision = response.header().revision();
    result.kvs.reserve(static_cast<size_t>(response.kvs_size()));
    for (const auto& kv : response.kvs()) result.kvs.push_back(fromProto(kv));
    return result;
  }

  base::Result<int64_t> put(std::string_view key, std::string_view value, int64_t lease) override {
    etcdserverpb::PutRequest request;
    request.set_key(std::string(key));
    request.set_value(std::string(value));
    request.set_lease(lease);
    etcdserverpb::PutResponse response;
    auto status = connection_->call(
        [&](grpc::ClientContext& context) { return connection_->kv().Put(&context, request, &response); },
        false);
    if (!status) return status.error();
    return response.header().revision();
  }

  base::Result<int64_t> remove(std::string_view key, bool prefix) override {
    etcdserverpb::DeleteRangeRequest request;
    request.set_key(std::string(key));
    if (prefix) request.set_range_end(prefixRangeEnd(key));
    etcdserverpb::DeleteRangeResponse response;
    auto status = connection_->call(
        [&](grpc::ClientContext& context) { return connection_->kv().DeleteRange(&context, request, &response); },
        true);
    if (!status) return status.error();
    return response.header().revision();
  }

  base::Result<TxnResult> txn(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                              const std::vector<TxnOp>& failure) override {
    etcdserverpb::TxnRequest request;
    for (const Compare& compare : compares) fillCompare(compare, *request.add_compare());
    for (const TxnOp& op : success) fillOp(op, *request.add_success());
    for (const TxnOp& op : failure) fillOp(op, *request.add_failure());
    // A Txn without puts or deletes reads only: safe to repeat.
    bool read_only = true;
    for (const auto* branch : {&success, &failure}) {
      for (const TxnOp& op : *branch) read_only = read_only && op.type == TxnOp::Type::kGet;
    }
    etcdserverpb::TxnResponse response;
    auto status = connection_->call(
        [&](grpc::ClientContext& context) { return connection_->kv().Txn(&context, request, &response); },
        read_only);
    if (!status) return status.error();
    TxnResult result;
    result.succeeded = response.succeeded();
    result.revision = response.header().revision();
    for (const auto& op : response.responses()) {
      if (!op.has_response_range()) continue;
      std::vector<KeyValue> kvs;
      for (const auto& kv : op.response_range().kvs()) kvs.push_back(fromProto(kv));
      result.gets.push_back(std::move(kvs));
    }
    return result;
  }

  base::Result<int64_t> grantLease(std::chrono::seconds ttl) override {
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl.count());
    etcdserverpb::LeaseGrantResponse response;
    auto status = connection_->call([&](grpc::ClientContext& context) {
      return connection_->lease().LeaseGrant(&context, request, &response);
    }, false);
    if (!status) return status.error();
    if (!response.error().empty()) {
      return base::fail(base::Error::kIo, "etcd " + endpointsText() + ": lease grant: " + response.error());
    }
    return response.id();
  }

  base::Status keepAlive(int64_t lease) override {
    // One request and one answer on a fresh stream: a replica renews every
    // few seconds, so a long-lived stream would only add a thread and
    // reconnect logic for no gain.
    etcdserverpb::LeaseKeepAliveResponse response;
    bool answered = false;
    auto status = connection_->call([&](grpc::ClientContext& context) {
      auto stream = connection_->lease().LeaseKeepAlive(&context);
      etcdserverpb::LeaseKeepAliveRequest request;
      request.set_id(lease);
      if (stream->Write(request)) answered = stream->Read(&response);
      stream->WritesDone();
      if (answered) context.TryCancel();  // we are done; do not wait for etcd to close
      grpc::Status finished = stream->Finish();
      return answered ? grpc::Status::OK : finished;
    }, true);
    if (!status) return status;
    if (!answered) {
      return base::fail(base::Error::kUnavailable, "etcd " + endpointsText() + ": lease keep-alive got no answer");
    }
    if (response.ttl() <= 0) {
      return base::fail(base::Error::kNotFound, "etcd " + endpointsText() + ": lease " + std::to_string(lease) +
                                                    " has expired");
    }
    return base::Status::ok();
  }

  base::Status revokeLease(int64_t lease) override {
    etcdserverpb::LeaseRevokeRequest request;
    request.set_id(lease);
    etcdserverpb::LeaseRevokeResponse response;
    return connection_->call([&](grpc::ClientContext& context) {
      return connection_->lease().LeaseRevoke(&context, request, &response);
    }, true);
  }

  std::unique_ptr<EtcdWatch> watchPrefix(std::string prefix, int64_t start_revision,
                                         WatchHandlers handlers) override {
    return startWatch(connection_, std::move(prefix), start_revision, std::move(handlers));
  }

  const std::string& endpointsText() const override { return connection_->endpointsText(); }

 private:
  std::shared_ptr<EtcdConnection> connection_;
};

}  // namespace

base::Result<std::unique_ptr<EtcdClient>> EtcdClient::create(EtcdOptions options) {
  auto connection = EtcdConnection::create(std::move(options));
  if (!connection) return connection.status();
  return std::unique_ptr<EtcdClient>(new GrpcEtcdClient(std::move(*connection)));
}

std::string prefixRangeEnd(std::string_view prefix) {
  std::string end(prefix);
  // Drop trailing 0xff bytes (they cannot be incremented); a prefix of only
  // 0xff bytes, or an empty one, means "to the end of the key space": "\0".
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

}  // namespace remora::cp::store::etcd
