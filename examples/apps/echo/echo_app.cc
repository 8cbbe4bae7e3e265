// remora-echo: the sample service of the demo. An HTTP/1.1 and HTTP/2 (prior
// knowledge) server that answers:
//   GET  /            "hello from <name>\n"
//   ANY  /echo        the request body back, with x-echo-* request headers
//   GET  /status/N    status N
//   GET  /delay/MS    waits MS milliseconds, then 200
//   GET  /headers     the request headers as text
// Every response carries x-served-by: <name>, so a caller can see which
// instance answered. It runs on Remora's own event loop and connection
// manager, one thread.
//
//   remora-echo --listen 127.0.0.1:0 --name catalog-1 [--port-file FILE]
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <list>
#include <memory>
#include <string>

#include "proxy/http/manager/connection_manager.h"
#include "proxy/net/listener.h"

namespace {

using namespace remora;

class EchoHandler : public http::manager::StreamHandler {
 public:
  EchoHandler(http::manager::DownstreamStream& downstream, const std::string& name)
      : downstream_(downstream), name_(name) {}

  void onRequestHeaders(http::HeaderMapPtr headers, bool end_stream) override {
    request_ = std::move(headers);
    if (end_stream) respond();
  }
  void onRequestData(net::Buffer& data, bool end_stream) override {
    // Bodies are echoed whole; the sample app is not a streaming benchmark.
    body_.move(data);
    if (end_stream) respond();
  }
  void onRequestTrailers(http::HeaderMapPtr) override { respond(); }
  void onDownstreamReset(std::string_view) override { timer_.reset(); }

 private:
  void respond() {
    const std::string path(request_->path().substr(0, request_->path().find('?')));
    if (path.rfind("/delay/", 0) == 0) {
      const long ms = std::strtol(path.c_str() + 7, nullptr, 10);
      timer_ = downstream_.dispatcher().createTimer([this] { send(200, "delayed\n"); });
      timer_->enable(std::chrono::milliseconds(ms < 0 ? 0 : ms));
      return;
    }
    if (path.rfind("/status/", 0) == 0) {
      const long code = std::strtol(path.c_str() + 8, nullptr, 10);
      send(code >= 200 && code <= 599 ? static_cast<uint32_t>(code) : 400, "status\n");
      return;
    }
    if (path == "/echo") {
      send(200, body_.toString(), /*echo_headers=*/true);
      return;
    }
    if (path == "/headers") {
      std::string out;
      for (const auto& f : *request_) out += f.name + ": " + f.value + "\n";
      send(200, out);
      return;
    }
    send(200, "hello from " + name_ + "\n");
  }

  void send(uint32_t status, const std::string& body, bool echo_headers = false) {
    auto h = std::make_unique<http::HeaderMap>();
    h->add(":status", std::to_string(status));
    h->add("content-type", "text/plain");
    h->add("x-served-by", name_);
    h->add("content-length", std::to_string(body.size()));
    if (echo_headers) {
      for (const auto& f : *request_) {
        if (f.name.rfind("x-echo-", 0) == 0) h->add(f.name, f.value);
      }
    }
    const bool head = request_->method() == "HEAD";
    downstream_.encodeHeaders(std::move(h), body.empty() || head);
    if (!body.empty() && !head) {
      net::Buffer b(body);
      downstream_.encodeData(b, true);
    }
  }

  http::manager::DownstreamStream& downstream_;
  const std::string& name_;
  http::HeaderMapPtr request_;
  net::Buffer body_;
  net::TimerPtr timer_;
};

class EchoServer : public net::ListenerCallbacks,
                   public net::ConnectionOwner,
                   public http::manager::StreamHandlerFactory {
 public:
  EchoServer(net::Dispatcher& dispatcher, std::string name) : dispatcher_(dispatcher), name_(std::move(name)) {}
  ~EchoServer() override { sessions_.clear(); }

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
    return std::make_unique<EchoHandler>(d, name_);
  }

 private:
  net::Dispatcher& dispatcher_;
  std::string name_;
  http::manager::ManagerSettings settings_;
  http::manager::ManagerCounters counters_;
  std::list<std::unique_ptr<net::DeferredDeletable>> sessions_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"remora-echo: the demo's sample service"};
  std::string listen = "127.0.0.1:0";
  std::string name = "echo";
  std::string port_file;
  app.add_option("--listen", listen, "ip:port to listen on (port 0: any)");
  app.add_option("--name", name, "instance name, sent back in x-served-by");
  app.add_option("--port-file", port_file, "write the bound port here");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  ::signal(SIGPIPE, SIG_IGN);
  auto address = net::Address::parse(listen);
  if (!address) {
    std::fprintf(stderr, "remora-echo: --listen: %s\n", address.error().message.c_str());
    return 2;
  }
  int exit_code = 0;
  {
    net::Dispatcher dispatcher;
    EchoServer server(dispatcher, name);
    auto listener = net::Listener::bind(dispatcher, *address, server, /*reuse_port=*/false);
    if (!listener) {
      std::fprintf(stderr, "remora-echo: %s\n", listener.error().message.c_str());
      return 1;
    }
    if (!port_file.empty()) {
      std::ofstream(port_file + ".tmp") << (*listener)->localAddress().port() << "\n";
      std::rename((port_file + ".tmp").c_str(), port_file.c_str());
    }
    std::fprintf(stderr, "remora-echo %s listening on %s\n", name.c_str(),
                 (*listener)->localAddress().toString().c_str());
    auto stop = [&dispatcher] { dispatcher.exit(); };
    auto term = dispatcher.listenForSignal(SIGTERM, stop);
    auto intr = dispatcher.listenForSignal(SIGINT, stop);
    dispatcher.run();
  }
  return exit_code;
}
