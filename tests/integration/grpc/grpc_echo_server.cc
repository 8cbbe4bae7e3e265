// grpc_echo_server: the reference gRPC server (gRPC C++) behind remora-proxy
// in integration tests. Binds 127.0.0.1:0 and writes the port to
// --port-file; every call carries initial metadata "x-initial: present" (and
// "x-server-port: <port>", so load-balancing tests see who answered) and
// trailing metadata "x-trailer: present", so a test can prove both crossed
// the proxy; a request with fail_code set ends the call with that status.
// Runs until SIGTERM or SIGINT. gRPC's own threads serve the calls.
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "echo.grpc.pb.h"

namespace {

using grpc::ServerContext;
using grpc::Status;
using remora::test::EchoReply;
using remora::test::EchoRequest;

constexpr int kMaxMessageBytes = 64 * 1024 * 1024;
// Set once the server listens, before it takes calls.
std::atomic<int> g_port{0};

void markCall(ServerContext* context) {
  context->AddInitialMetadata("x-initial", "present");
  context->AddInitialMetadata("x-server-port", std::to_string(g_port.load()));
  context->AddTrailingMetadata("x-trailer", "present");
}

Status requestedFailure(const EchoRequest& request) {
  return Status(static_cast<grpc::StatusCode>(request.fail_code()), request.fail_message());
}

void fillReply(const EchoRequest& request, EchoReply* reply) {
  reply->set_message(request.message());
  reply->set_index(request.index());
  reply->set_payload(request.payload());
}

class EchoService final : public remora::test::Echo::Service {
 public:
  Status Unary(ServerContext* context, const EchoRequest* request, EchoReply* reply) override {
    markCall(context);
    if (request->fail_code() != 0) return requestedFailure(*request);
    fillReply(*request, reply);
    return Status::OK;
  }

  Status ServerStream(ServerContext* context, const EchoRequest* request,
                      grpc::ServerWriter<EchoReply>* writer) override {
    markCall(context);
    for (int i = 0; i < request->reply_count(); ++i) {
      EchoReply reply;
      fillReply(*request, &reply);
      reply.set_message(request->message() + "#" + std::to_string(i));
      reply.set_index(i);
      if (!writer->Write(reply)) return Status(grpc::StatusCode::CANCELLED, "client went away");
    }
    if (request->fail_code() != 0) return requestedFailure(*request);
    return Status::OK;
  }

  Status BidiStream(ServerContext* context,
                    grpc::ServerReaderWriter<EchoReply, EchoRequest>* stream) override {
    markCall(context);
    EchoRequest request;
    while (stream->Read(&request)) {
      if (request.fail_code() != 0) return requestedFailure(request);
      EchoReply reply;
      fillReply(request, &reply);
      if (!stream->Write(reply)) return Status(grpc::StatusCode::CANCELLED, "client went away");
    }
    return Status::OK;
  }
};

int usage(const char* why) {
  std::fprintf(stderr, "grpc_echo_server: %s\nusage: grpc_echo_server [--address 127.0.0.1:0] [--port-file FILE]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1:0";
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--address" || arg == "--port-file") && i + 1 < argc) {
      (arg == "--address" ? address : port_file) = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      usage("the reference gRPC echo server");
      return 0;
    } else {
      return usage(("unknown argument " + arg).c_str());
    }
  }

  // Blocked before gRPC starts its threads, so only sigwait() sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  EchoService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "grpc_echo_server: could not listen on %s\n", address.c_str());
    return 1;
  }
  g_port = port;
  if (!port_file.empty()) {
    // Written under a temporary name and renamed: readers never see half a port.
    const std::string temporary = port_file + ".tmp";
    std::ofstream(temporary) << port << "\n";
    if (std::rename(temporary.c_str(), port_file.c_str()) != 0) {
      std::fprintf(stderr, "grpc_echo_server: cannot write %s: %s\n", port_file.c_str(), std::strerror(errno));
      return 1;
    }
  }
  std::printf("grpc_echo_server listening on port %d\n", port);
  std::fflush(stdout);

  int received = 0;
  sigwait(&stop_signals, &received);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}
