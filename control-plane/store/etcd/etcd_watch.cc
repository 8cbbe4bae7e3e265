// The thread behind EtcdClient::watchPrefix: one bidi Watch stream at a time,
// re-opened after any failure from the revision after the last delivered one.
#include <algorithm>
#include <condition_variable>
#include <thread>

#include "control-plane/store/etcd/etcd_connection.h"

namespace remora::cp::store::etcd {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2000};

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

class GrpcEtcdWatch final : public EtcdWatch {
 public:
  GrpcEtcdWatch(std::shared_ptr<EtcdConnection> connection, std::string prefix, int64_t start_revision,
                WatchHandlers handlers)
      : connection_(std::move(connection)),
        prefix_(std::move(prefix)),
        handlers_(std::move(handlers)),
        next_revision_(start_revision) {
    thread_ = std::thread([this] { run(); });
  }

  ~GrpcEtcdWatch() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      if (context_) context_->TryCancel();
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  struct Outcome {
    std::string why;           // why the stream ended ("" when stopping)
    bool progressed = false;   // it was created or delivered something
    bool restart_now = false;  // compaction handled: reopen without backoff
  };

  void run() {
    std::chrono::milliseconds backoff = kFirstBackoff;
    for (;;) {
      Outcome outcome = runStream();
      if (stopping()) return;
      if (outcome.restart_now) continue;
      if (outcome.progressed) backoff = kFirstBackoff;
      if (handlers_.on_error) handlers_.on_error(outcome.why);
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, backoff, [this] { return stopping_; })) return;
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
  }

  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // One stream, from open to failure. A fresh context each time: gRPC then
  // picks a member that is up, so a dead or leaderless member cannot hold
  // the watch.
  Outcome runStream() {
    Outcome outcome;
    auto context = std::make_shared<grpc::ClientContext>();
    // etcd's "require leader": a member cut off from the quorum cancels the
    // stream instead of keeping it open and silent.
    context->AddMetadata("hasleader", "true");
    if (auto prepared = connection_->prepareStream(*context); !prepared) {
      outcome.why = prepared.message();
      return outcome;
    }
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return outcome;
      context_ = context;
    }
    auto stream = connection_->watch().Watch(context.get());
    etcdserverpb::WatchRequest request;
    auto* create = request.mutable_create_request();
    create->set_key(prefix_);
    create->set_range_end(prefixRangeEnd(prefix_));
    create->set_start_revision(next_revision_);
    create->set_progress_notify(true);
    create->set_prev_kv(true);

    bool ended_early = false;
    if (!stream->Write(request)) {
      outcome.why = "etcd " + connection_->endpointsText() + ": could not send the watch request";
    } else {
      etcdserverpb::WatchResponse response;
      while (stream->Read(&response)) {
        if (response.compact_revision() != 0) {
          ended_early = true;
          const int64_t resumed =
              handlers_.on_compacted ? handlers_.on_compacted(response.compact_revision()) : -1;
          if (resumed < 0) {
            outcome.why = "etcd " + connection_->endpointsText() + ": revision " + std::to_string(next_revision_) +
                          " was compacted (now " + std::to_string(response.compact_revision()) +
                          ") and re-reading failed";
          } else {
            next_revision_ = resumed + 1;
            outcome.progressed = true;
            outcome.restart_now = true;
          }
          break;
        }
        if (response.canceled()) {
          ended_early = true;
          outcome.why = "etcd " + connection_->endpointsText() + ": watch canceled: " + response.cancel_reason();
          break;
        }
        if (response.created()) {
          outcome.progressed = true;
          if (handlers_.on_connected) handlers_.on_connected();
          continue;
        }
        if (response.events_size() == 0) continue;  // a progress notification
        std::vector<WatchEvent> events;
        events.reserve(static_cast<size_t>(response.events_size()));
        for (const auto& event : response.events()) {
          WatchEvent out;
          out.type = event.type() == mvccpb::Event::DELETE ? WatchEvent::Type::kDelete : WatchEvent::Type::kPut;
          out.kv = fromProto(event.kv());
          if (event.has_prev_kv()) out.prev_kv = fromProto(event.prev_kv());
          events.push_back(std::move(out));
        }
        outcome.progressed = true;
        next_revision_ = events.back().kv.mod_revision + 1;
        if (handlers_.on_events) handlers_.on_events(events, response.header().revision());
      }
    }
    // After an early exit the stream is still open: cancel it, or Finish()
    // would wait for etcd to close it.
    if (ended_early || !outcome.why.empty()) context->TryCancel();
    const grpc::Status status = stream->Finish();
    {
      std::lock_guard lock(mutex_);
      context_.reset();
    }
    if (EtcdConnection::isInvalidToken(status)) connection_->invalidateToken();
    if (outcome.why.empty()) {
      outcome.why = status.ok() ? "etcd " + connection_->endpointsText() + ": watch stream closed"
                                : connection_->toFailure(status).message;
    }
    return outcome;
  }

  std::shared_ptr<EtcdConnection> connection_;
  const std::string prefix_;
  const WatchHandlers handlers_;
  int64_t next_revision_;  // watch thread only

  std::mutex mutex_;  // guards stopping_ and context_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::shared_ptr<grpc::ClientContext> context_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<EtcdWatch> startWatch(std::shared_ptr<EtcdConnection> connection, std::string prefix,
                                      int64_t start_revision, WatchHandlers handlers) {
  return std::make_unique<GrpcEtcdWatch>(std::move(connection), std::move(prefix), start_revision,
                                         std::move(handlers));
}

}  // namespace remora::cp::store::etcd
