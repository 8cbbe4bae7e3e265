#include "proxy/grpc/grpc_stream.h"

#include <utility>

#include "proxy/grpc/grpc_stream_session.h"

namespace remora::grpc {

std::unique_ptr<GrpcStream> GrpcStream::start(net::Dispatcher& dispatcher, GrpcStreamOptions options,
                                              GrpcStreamCallbacks& callbacks) {
  auto session = std::make_unique<GrpcStreamSession>(dispatcher, std::move(options), callbacks);
  session->start();
  return std::unique_ptr<GrpcStream>(new GrpcStream(dispatcher, std::move(session)));
}

GrpcStream::GrpcStream(net::Dispatcher& dispatcher, std::unique_ptr<GrpcStreamSession> session)
    : dispatcher_(dispatcher), session_(std::move(session)) {}

GrpcStream::~GrpcStream() {
  session_->abandon();
  // We may be inside one of the session's callbacks (onMessage runs inside
  // the codec's dispatch): it dies once the loop iteration unwinds.
  dispatcher_.deferredDelete(std::move(session_));
}

void GrpcStream::sendMessage(std::string_view serialized) { session_->sendMessage(serialized); }
void GrpcStream::finish() { session_->finish(); }
bool GrpcStream::ready() const { return session_->ready(); }
size_t GrpcStream::queuedBytes() const { return session_->queuedBytes(); }

}  // namespace remora::grpc
