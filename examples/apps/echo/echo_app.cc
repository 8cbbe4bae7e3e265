// remora-echo: the demo's sample service and the resilience tests' fault-knob
// instance. An HTTP/1.1 and HTTP/2 (prior knowledge) server that answers:
//   GET  /            "hello from <name>\n"
//   ANY  /echo        the request body back, with x-echo-* request headers
//   GET  /status/N    status N
//   GET  /delay/MS    waits MS milliseconds, then 200
//   GET  /headers     the request headers as text
// Every response carries x-served-by: <name>, so a caller can see which
// instance answered.
//
// Fault knobs (per instance; set at start with flags, changed at run time):
//   POST /fault?fail=0.5&status=503&latency=300&latency_jitter=50&reset=0.1&health=fail
//        any subset; unnamed knobs keep their value; answers the knobs as JSON
//        (400 naming the knob on a bad value, and nothing changes).
//        fail     probability a request is answered with `status` (default
//                 503), after its body was read
//        latency  ms added before answering (or resetting); latency_jitter
//                 makes it uniform in [latency - jitter, latency + jitter]
//        reset    probability the request is reset instead of answered
//                 (HTTP/1: the connection closes, no response; HTTP/2: RST_STREAM)
//        health   ok | fail (health endpoints answer 503 / NOT_SERVING) |
//                 hang (health endpoints never answer)
//   POST /fault?crash=1    the process exits at once (_exit(3)), replying nothing
//   POST /fault/clear      every knob back to "no fault"
//   GET  /fault            the knobs as JSON
//   GET  /stats            {"requests": N, "failed": F, "reset": R, "by_method": {"GET": N}}
//                          counts every request except /fault*, /stats and the
//                          health endpoints: what really reached the instance
//   GET  /healthz          200 "ok", or 503 when health=fail
//   POST /grpc.health.v1.Health/Check   gRPC HealthCheckResponse: SERVING, or
//                          NOT_SERVING when health=fail; grpc-status 0
// Control and health endpoints are never faulted (only health= affects them).
// Draws come from one PRNG seeded with --seed (default: the bound port), so a
// run with the same seed and request order sees the same faults.
//
//   remora-echo --listen 127.0.0.1:0 --name catalog-1 [--port-file FILE]
//               [--fail-rate P] [--fail-status N] [--latency-ms MS]
//               [--latency-jitter-ms MS] [--reset-rate P] [--health ok|fail|hang] [--seed N]
//
// It runs on Remora's own event loop and connection manager, one thread.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <list>
#include <memory>
#include <string>

#include "examples/apps/echo/echo_handler.h"
#include "examples/apps/echo/fault_state.h"
#include "proxy/http/manager/connection_manager.h"
#include "proxy/net/listener.h"

namespace {

using namespace remora;

class EchoServer : public net::ListenerCallbacks,
                   public net::ConnectionOwner,
                   public http::manager::StreamHandlerFactory {
 public:
  EchoServer(net::Dispatcher& dispatcher, std::string name, echo::FaultKnobs knobs)
      : dispatcher_(dispatcher), name_(std::move(name)), faults_(knobs, 0) {}
  ~EchoServer() override { sessions_.clear(); }

  echo::FaultState& faults() { return faults_; }

  void onAccept(net::ConnectionPtr connection) override {
    auto s = std::make_unique<http::manager::ConnectionManager>(std::move(connection), http::Protocol::kHttp11,
                                                                /*auto_detect=*/true, settings_, *this, counters_,
                                                                *this);
    auto* raw = s.get();
    sessions_.push_back(std::move(s));
    net::Buffer none;
    raw->start(none);
  }
  void release(net::DeferredDeletable& session) override {
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->get() == &session) {
        dispatcher_.deferredDelete(std::move(*it));
        sessions_.erase(it);
        return;
      }
    }
  }
  std::unique_ptr<http::manager::StreamHandler> createHandler(http::manager::DownstreamStream& d) override {
    return std::make_unique<echo::EchoHandler>(d, name_, faults_);
  }

 private:
  net::Dispatcher& dispatcher_;
  std::string name_;
  echo::FaultState faults_;
  http::manager::ManagerSettings settings_;
  http::manager::ManagerCounters counters_;
  std::list<std::unique_ptr<net::DeferredDeletable>> sessions_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"remora-echo: the demo's sample service, with fault knobs"};
  std::string listen = "127.0.0.1:0";
  std::string name = "echo";
  std::string port_file;
  std::string health = "ok";
  uint64_t seed = 0;
  echo::FaultKnobs knobs;
  app.add_option("--listen", listen, "ip:port to listen on (port 0: any)");
  app.add_option("--name", name, "instance name, sent back in x-served-by");
  app.add_option("--port-file", port_file, "write the bound port here");
  app.add_option("--fail-rate", knobs.fail, "probability a request fails with --fail-status")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--fail-status", knobs.status, "status of a failed request")->check(CLI::Range(200, 599));
  app.add_option("--latency-ms", knobs.latency_ms, "latency added to every request");
  app.add_option("--latency-jitter-ms", knobs.latency_jitter_ms, "latency varies by up to this much");
  app.add_option("--reset-rate", knobs.reset, "probability a request is reset")->check(CLI::Range(0.0, 1.0));
  app.add_option("--health", health, "health endpoints: ok, fail or hang");
  auto* seed_option = app.add_option("--seed", seed, "fault PRNG seed (default: the bound port)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  ::signal(SIGPIPE, SIG_IGN);
  auto health_mode = echo::parseHealthMode(health);
  if (!health_mode) {
    std::fprintf(stderr, "remora-echo: --health: %s\n", health_mode.error().message.c_str());
    return 2;
  }
  knobs.health = *health_mode;
  auto address = net::Address::parse(listen);
  if (!address) {
    std::fprintf(stderr, "remora-echo: --listen: %s\n", address.error().message.c_str());
    return 2;
  }
  {
    net::Dispatcher dispatcher;
    EchoServer server(dispatcher, name, knobs);
    auto listener = net::Listener::bind(dispatcher, *address, server, /*reuse_port=*/false);
    if (!listener) {
      std::fprintf(stderr, "remora-echo: %s\n", listener.error().message.c_str());
      return 1;
    }
    const uint16_t port = (*listener)->localAddress().port();
    server.faults().seed(seed_option->count() > 0 ? seed : port);
    if (!port_file.empty()) {
      std::ofstream(port_file + ".tmp") << port << "\n";
      std::rename((port_file + ".tmp").c_str(), port_file.c_str());
    }
    std::fprintf(stderr, "remora-echo %s listening on %s\n", name.c_str(),
                 (*listener)->localAddress().toString().c_str());
    auto stop = [&dispatcher] { dispatcher.exit(); };
    auto term = dispatcher.listenForSignal(SIGTERM, stop);
    auto intr = dispatcher.listenForSignal(SIGINT, stop);
    dispatcher.run();
  }
  return 0;
}
