#include "proxy/main/server.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>

#include "proxy/config/bootstrap_loader.h"
#include "proxy/main/config_dump.h"

namespace remora::server {

Server::Server(Options options) : options_(std::move(options)) {}

Server::~Server() {
  admin_.reset();
  stopWorkers();
}

base::Status Server::start() {
  started_ = std::chrono::system_clock::now();
  auto families = declareProxyFamilies(stats_);
  if (!families) return families.error();
  families_ = *families;
  auto& main_stats = stats_.mainStats();
  ready_gauge_ = main_stats.gauge(families_.server_ready);
  draining_gauge_ = main_stats.gauge(families_.server_draining);
  main_stats.gauge(families_.server_start_time)
      .set(std::chrono::duration<double>(started_.time_since_epoch()).count());
  main_stats.gauge(families_.server_workers).set(options_.concurrency);
  auto loaded = config::loadBootstrapFile(options_.config_path);
  if (!loaded) return loaded.error();
  config_json_ = loaded->json;
  auto bootstrap = std::make_shared<const xds::resources::Bootstrap>(std::move(loaded->bootstrap));
  auto snapshot = config::buildSnapshot(bootstrap, 1);
  if (!snapshot) return snapshot.error();
  snapshot_ = *snapshot;

  // Workers bind their listeners before their loops start: the first binds
  // the configured addresses (port 0 resolves here), the others join the same
  // ports through SO_REUSEPORT.
  for (uint32_t i = 0; i < options_.concurrency; ++i) {
    threads_.push_back(std::make_unique<net::WorkerThread>("worker-" + std::to_string(i)));
    auto& shard = stats_.addShard("worker-" + std::to_string(i));
    workers_.push_back(std::make_unique<Worker>(threads_.back()->dispatcher(), i, shard, families_));
    if (auto s = workers_.back()->initialize(snapshot_, listener_addresses_); !s) return s;
  }
  for (size_t i = 0; i < threads_.size(); ++i) {
    Worker* w = workers_[i].get();
    // The worker's connections and timers close on its own thread, while its
    // loop can still run their close callbacks.
    threads_[i]->start([](net::Dispatcher&) {}, [w](net::Dispatcher&) { w->shutdown(); });
  }

  admin_ = std::make_unique<admin::AdminServer>(main_);
  registerAdminEndpoints();
  const auto& a = snapshot_->bootstrap->admin.address;
  auto admin_address = net::Address::fromIpPort(a.address, static_cast<uint16_t>(a.port));
  if (!admin_address) return base::fail(admin_address.error().code, "admin.address: " + admin_address.error().message);
  if (auto s = admin_->bind(*admin_address); !s) return s;

  signals_.push_back(main_.listenForSignal(SIGTERM, [this] { beginDrain("SIGTERM"); }));
  signals_.push_back(main_.listenForSignal(SIGINT, [this] { beginDrain("SIGINT"); }));
  ready_ = true;
  ready_gauge_.set(1);

  if (!options_.admin_address_path.empty()) {
    // Written to a temporary name and renamed, so a reader never sees half a line.
    const std::string tmp = options_.admin_address_path + ".tmp";
    std::ofstream(tmp) << admin_->localAddress().toString() << "\n";
    if (::rename(tmp.c_str(), options_.admin_address_path.c_str()) != 0) {
      return base::fail(base::Error::kIo, "--admin-address-path: cannot write " + options_.admin_address_path);
    }
  }
  spdlog::info("remora-proxy ready: admin {} with {} listener(s) on {} worker(s)", admin_->localAddress().toString(),
               listener_addresses_.size(), workers_.size());
  return {};
}

int Server::run() {
  if (auto s = start(); !s) {
    spdlog::error("{}", s.message());
    admin_.reset();
    stopWorkers();
    return 1;
  }
  main_.run();
  admin_.reset();
  signals_.clear();
  drain_deadline_.reset();
  stopWorkers();
  return exit_code_;
}

void Server::stopWorkers() {
  for (auto& t : threads_) t->stop();
  // Workers whose thread never started are destroyed here, on the main thread.
  workers_.clear();
  threads_.clear();
}

void Server::beginDrain(std::string why) {
  if (draining_) return;
  draining_ = true;
  ready_ = false;
  ready_gauge_.set(0);
  draining_gauge_.set(1);
  spdlog::info("draining ({}): listeners stop accepting, in-flight requests get up to {} ms", why,
               options_.drain_time.count());
  // Each worker posts back once it has no session left; the last one ends
  // the main loop. Only the main thread ever runs on_drained.
  net::Dispatcher* main = &main_;
  auto on_drained = std::make_shared<std::function<void()>>([this] {
    if (++workers_drained_ == workers_.size()) main_.exit();
  });
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    threads_[i]->dispatcher().post([w, main, on_drained] {
      w->drain([main, on_drained] { main->post([on_drained] { (*on_drained)(); }); });
    });
  }
  drain_deadline_ = main_.createTimer([this] {
    spdlog::warn("drain time over: closing remaining connections");
    main_.exit();
  });
  // The admin endpoint keeps serving while draining, so /ready shows 503.
  drain_deadline_->enable(options_.drain_time);
}

void Server::registerAdminEndpoints() {
  admin_->addHandler("/ready", "200 when serving, 503 while starting or draining", false,
                     [this](const admin::AdminRequest&, admin::Responder respond) {
                       if (ready_) respond({200, "text/plain; charset=utf-8", "LIVE\n"});
                       else respond({503, "text/plain; charset=utf-8", draining_ ? "DRAINING\n" : "STARTING\n"});
                     });
  admin_->addHandler("/listeners", "listeners and their bound addresses (JSON)", false,
                     [this](const admin::AdminRequest&, admin::Responder respond) {
                       std::string body = "{\"listeners\":[";
                       for (size_t i = 0; i < snapshot_->listeners.size(); ++i) {
                         if (i) body += ",";
                         body += "{\"name\":\"" + snapshot_->listeners[i].config->name + "\",\"address\":\"" +
                                 listener_addresses_[i].toString() + "\"}";
                       }
                       body += "]}\n";
                       respond({200, "application/json", body});
                     });
  admin_->addHandler("/config_dump", "the running configuration (JSON)", false,
                     [this](const admin::AdminRequest&, admin::Responder respond) {
                       respond({200, "application/json", configDumpJson(*snapshot_, config_json_)});
                     });
  admin_->addHandler("/stats", "counters and gauges, one per line", false,
                     [this](const admin::AdminRequest&, admin::Responder respond) {
                       respond({200, "text/plain; charset=utf-8", stats_.renderPlain()});
                     });
  admin_->addHandler("/stats/prometheus", "metrics in Prometheus text format", false,
                     [this](const admin::AdminRequest&, admin::Responder respond) {
                       respond({200, "text/plain; version=0.0.4; charset=utf-8", stats_.renderPrometheus()});
                     });
  admin_->addHandler("/quitquitquit", "drain and exit", true,
                     [this](const admin::AdminRequest&, admin::Responder respond) {
                       respond({200, "text/plain; charset=utf-8", "OK\n"});
                       main_.post([this] { beginDrain("/quitquitquit"); });
                     });
}

}  // namespace remora::server
