// grpc_echo_client: the reference gRPC client (gRPC C++) in front of
// remora-proxy in integration tests. Makes unary, server-streaming or
// bidirectional calls to grpc_echo_server (directly or through the proxy),
// prints every reply, the initial and trailing metadata and the status, and
// exits 0 only when every message, the metadata and the expected status
// arrived intact. Single-threaded; one channel.
//
//   grpc_echo_client --target HOST:PORT [--mode unary|server|bidi] [--count N]
//                    [--payload-bytes N] [--fail-code C [--fail-message M]]
//                    [--authority A] [--timeout-ms T]
//
// With --fail-code the server is asked to end the call(s) with status C and
// the client then expects exactly that status (and message), still with the
// trailing metadata.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "echo.grpc.pb.h"

namespace {

using remora::test::EchoReply;
using remora::test::EchoRequest;

struct Options {
  std::string target;
  std::string mode = "unary";
  int count = 1;
  int payload_bytes = 0;
  int fail_code = 0;
  std::string fail_message = "requested failure";
  std::string authority;
  int timeout_ms = 10000;
};

constexpr int kMaxMessageBytes = 64 * 1024 * 1024;

// Binary, including NUL bytes, so a proxy that treats bodies as text breaks it.
std::string payloadPattern(int size, int seed) {
  std::string out(static_cast<size_t>(size), '\0');
  for (int i = 0; i < size; ++i) out[static_cast<size_t>(i)] = static_cast<char>((i + seed) % 251);
  return out;
}

class Checker {
 public:
  void fail(const std::string& why) {
    std::printf("ERROR: %s\n", why.c_str());
    ok_ = false;
  }
  bool ok() const { return ok_; }

  void expectReply(const EchoReply& reply, const std::string& message, int index, const std::string& payload) {
    std::printf("reply index=%d message=%s payload_bytes=%zu\n", reply.index(), reply.message().c_str(),
                reply.payload().size());
    if (reply.message() != message) fail("reply message '" + reply.message() + "', expected '" + message + "'");
    if (reply.index() != index) fail("reply index " + std::to_string(reply.index()) + ", expected " + std::to_string(index));
    if (reply.payload() != payload) fail("reply payload differs from the request's (" +
                                         std::to_string(reply.payload().size()) + " bytes)");
  }

  // Metadata and status at the end of every call.
  void expectEnd(const grpc::ClientContext& context, const grpc::Status& status, const Options& options) {
    for (const auto& [key, value] : context.GetServerInitialMetadata()) {
      std::printf("initial-metadata %.*s: %.*s\n", static_cast<int>(key.size()), key.data(),
                  static_cast<int>(value.size()), value.data());
    }
    bool trailer_seen = false;
    for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
      std::printf("trailing-metadata %.*s: %.*s\n", static_cast<int>(key.size()), key.data(),
                  static_cast<int>(value.size()), value.data());
      trailer_seen = trailer_seen || (key == "x-trailer" && value == "present");
    }
    std::printf("status code=%d message='%s'\n", static_cast<int>(status.error_code()),
                status.error_message().c_str());
    if (!trailer_seen) fail("trailing metadata 'x-trailer: present' missing");
    if (status.error_code() != static_cast<grpc::StatusCode>(options.fail_code)) {
      fail("status " + std::to_string(status.error_code()) + " '" + status.error_message() + "', expected " +
           std::to_string(options.fail_code));
    } else if (options.fail_code != 0 && status.error_message() != options.fail_message) {
      fail("status message '" + status.error_message() + "', expected '" + options.fail_message + "'");
    }
  }

 private:
  bool ok_ = true;
};

void prepare(grpc::ClientContext& context, const Options& options) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(options.timeout_ms));
}

void runUnary(remora::test::Echo::Stub& stub, const Options& options, Checker& check) {
  for (int i = 0; i < options.count; ++i) {
    EchoRequest request;
    request.set_message("unary-" + std::to_string(i));
    request.set_index(i);
    request.set_payload(payloadPattern(options.payload_bytes, i));
    request.set_fail_code(options.fail_code);
    request.set_fail_message(options.fail_message);
    EchoReply reply;
    grpc::ClientContext context;
    prepare(context, options);
    const grpc::Status status = stub.Unary(&context, request, &reply);
    if (status.ok()) check.expectReply(reply, request.message(), i, request.payload());
    check.expectEnd(context, status, options);
  }
}

void runServerStream(remora::test::Echo::Stub& stub, const Options& options, Checker& check) {
  EchoRequest request;
  request.set_message("stream");
  request.set_payload(payloadPattern(options.payload_bytes, 7));
  request.set_reply_count(options.count);
  request.set_fail_code(options.fail_code);
  request.set_fail_message(options.fail_message);
  grpc::ClientContext context;
  prepare(context, options);
  auto reader = stub.ServerStream(&context, request);
  EchoReply reply;
  int received = 0;
  while (reader->Read(&reply)) {
    check.expectReply(reply, "stream#" + std::to_string(received), received, request.payload());
    ++received;
  }
  const grpc::Status status = reader->Finish();
  if (received != options.count) {
    check.fail("received " + std::to_string(received) + " replies, expected " + std::to_string(options.count));
  }
  check.expectEnd(context, status, options);
}

void runBidi(remora::test::Echo::Stub& stub, const Options& options, Checker& check) {
  grpc::ClientContext context;
  prepare(context, options);
  auto stream = stub.BidiStream(&context);
  // With --fail-code the last message asks for the failure: count-1 echoes.
  const int echoes = options.fail_code != 0 ? options.count - 1 : options.count;
  int received = 0;
  for (int i = 0; i < options.count; ++i) {
    EchoRequest request;
    request.set_message("bidi-" + std::to_string(i));
    request.set_index(i);
    request.set_payload(payloadPattern(options.payload_bytes, i));
    if (i == echoes) {
      request.set_fail_code(options.fail_code);
      request.set_fail_message(options.fail_message);
    }
    if (!stream->Write(request)) {
      check.fail("write " + std::to_string(i) + " failed: the stream ended early");
      break;
    }
    if (i == echoes) break;
    EchoReply reply;
    if (!stream->Read(&reply)) {
      check.fail("no reply to message " + std::to_string(i));
      break;
    }
    check.expectReply(reply, request.message(), i, request.payload());
    ++received;
  }
  stream->WritesDone();
  EchoReply extra;
  while (stream->Read(&extra)) check.fail("unexpected extra reply index=" + std::to_string(extra.index()));
  const grpc::Status status = stream->Finish();
  if (received != echoes) {
    check.fail("received " + std::to_string(received) + " replies, expected " + std::to_string(echoes));
  }
  check.expectEnd(context, status, options);
}

int usage(const char* why) {
  std::fprintf(stderr,
               "grpc_echo_client: %s\n"
               "usage: grpc_echo_client --target HOST:PORT [--mode unary|server|bidi] [--count N]\n"
               "       [--payload-bytes N] [--fail-code C [--fail-message M]] [--authority A] [--timeout-ms T]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage("the reference gRPC echo client");
      return 0;
    }
    if (i + 1 >= argc) return usage(("missing value for " + arg).c_str());
    const std::string value = argv[++i];
    if (arg == "--target") {
      options.target = value;
    } else if (arg == "--mode") {
      options.mode = value;
    } else if (arg == "--count") {
      options.count = std::atoi(value.c_str());
    } else if (arg == "--payload-bytes") {
      options.payload_bytes = std::atoi(value.c_str());
    } else if (arg == "--fail-code") {
      options.fail_code = std::atoi(value.c_str());
    } else if (arg == "--fail-message") {
      options.fail_message = value;
    } else if (arg == "--authority") {
      options.authority = value;
    } else if (arg == "--timeout-ms") {
      options.timeout_ms = std::atoi(value.c_str());
    } else {
      return usage(("unknown argument " + arg).c_str());
    }
  }
  if (options.target.empty()) return usage("--target is required");
  if (options.count < 1 || options.payload_bytes < 0 || options.timeout_ms < 1) return usage("bad numeric value");
  if (options.mode != "unary" && options.mode != "server" && options.mode != "bidi") return usage("bad --mode");

  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(kMaxMessageBytes);
  arguments.SetMaxSendMessageSize(kMaxMessageBytes);
  if (!options.authority.empty()) arguments.SetString(GRPC_ARG_DEFAULT_AUTHORITY, options.authority);
  auto channel = grpc::CreateCustomChannel(options.target, grpc::InsecureChannelCredentials(), arguments);
  auto stub = remora::test::Echo::NewStub(channel);

  Checker check;
  if (options.mode == "unary") {
    runUnary(*stub, options, check);
  } else if (options.mode == "server") {
    runServerStream(*stub, options, check);
  } else {
    runBidi(*stub, options, check);
  }
  std::printf("RESULT: %s\n", check.ok() ? "PASS" : "FAIL");
  return check.ok() ? 0 : 1;
}
