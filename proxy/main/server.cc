#include "proxy/main/server.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "proxy/config/bootstrap_loader.h"
#include "proxy/main/admin_handlers.h"
#include "proxy/main/config_dump.h"
#include "proxy/main/flag_bootstrap.h"

namespace remora::server {

Server::Server(Options options) : options_(std::move(options)) {}

Server::~Server() {
  scrape_.reset();
  admin_.reset();
  stopWorkers();
}

base::Status Server::start() {
  started_ = std::chrono::system_clock::now();
  auto families = declareProxyFamilies(stats_);
  if (!families) return families.error();
  families_ = *families;
  telemetry_ = std::make_unique<Telemetry>(main_, stats_, families_);
  auto& main_stats = stats_.mainStats();
  ready_gauge_ = main_stats.gauge(families_.server_ready);
  draining_gauge_ = main_stats.gauge(families_.server_draining);
  main_stats.gauge(families_.server_start_time)
      .set(std::chrono::duration<double>(started_.time_since_epoch()).count());
  main_stats.gauge(families_.server_workers).set(options_.concurrency);
  auto loaded = options_.bootstrap_yaml.empty()
                    ? config::loadBootstrapFile(options_.config_path)
                    : config::loadBootstrapString(options_.bootstrap_yaml, config::ConfigFormat::kYaml, "<flags>");
  if (!loaded) return loaded.error();
  config_json_ = loaded->json;
  auto bootstrap = std::make_shared<const xds::resources::Bootstrap>(std::move(loaded->bootstrap));
  auto snapshot = config::buildSnapshot(bootstrap, 1, &tls_);
  if (!snapshot) return snapshot.error();

  // Workers bind their listeners before their loops start: the main thread
  // resolves each listener's port (port 0 included) and every worker binds
  // its own SO_REUSEPORT socket to it.
  host_health_ = std::make_unique<HostHealth>(
      main_, stats_.mainStats(), families_,
      [this](const std::string& cluster, const std::string& address, upstream::HostHealthFlag flag, bool set) {
        for (size_t i = 0; i < workers_.size(); ++i) {
          Worker* w = workers_[i].get();
          if (!workers_running_) {
            w->setHostFlag(cluster, address, flag, set);
            continue;
          }
          threads_[i]->dispatcher().post([w, cluster, address, flag, set] { w->setHostFlag(cluster, address, flag, set); });
        }
      });
  for (uint32_t i = 0; i < options_.concurrency; ++i) {
    threads_.push_back(std::make_unique<net::WorkerThread>("worker-" + std::to_string(i)));
    auto& shard = stats_.addShard("worker-" + std::to_string(i));
    workers_.push_back(std::make_unique<Worker>(threads_.back()->dispatcher(), i, shard, families_, telemetry_.get()));
    workers_.back()->setOutcomeReporter([this](std::vector<OutcomeRecord> batch) {
      auto shared = std::make_shared<std::vector<OutcomeRecord>>(std::move(batch));
      main_.post([this, shared] {
        if (host_health_) host_health_->record(std::move(*shared));
      });
    });
  }
  if (auto s = publish(*snapshot); !s) return s;
  for (size_t i = 0; i < threads_.size(); ++i) {
    Worker* w = workers_[i].get();
    // The worker's connections and timers close on its own thread, while its
    // loop can still run their close callbacks.
    threads_[i]->start([](net::Dispatcher&) {}, [w](net::Dispatcher&) { w->shutdown(); });
  }
  workers_running_ = true;

  admin_ = std::make_unique<admin::AdminServer>(main_);
  registerAdminEndpoints();
  const auto& a = bootstrap->admin.address;
  auto admin_address = net::Address::fromIpPort(a.address, static_cast<uint16_t>(a.port));
  if (!admin_address) return base::fail(admin_address.error().code, "admin.address: " + admin_address.error().message);
  if (auto s = admin_->bind(*admin_address); !s) return s;

  signals_.push_back(main_.listenForSignal(SIGTERM, [this] { beginDrain("SIGTERM"); }));
  signals_.push_back(main_.listenForSignal(SIGINT, [this] { beginDrain("SIGINT"); }));
  node_ = loaded->proto.node();
  if (tls_.needsWorkloadIdentity()) {
    if (auto s = startIdentity(node_); !s) return s;
  } else if (auto s = startXds(node_); !s) {
    return s;
  }
  ready_ = true;
  refreshGauges();

  if (auto s = startScrapeEndpoint(); !s) return s;
  if (auto s = writeAddressFile(options_.admin_address_path, admin_->localAddress(), "--admin-address-path"); !s) {
    return s;
  }
  spdlog::info("remora-proxy ready: admin {} with {} listener(s) on {} worker(s)", admin_->localAddress().toString(),
               listener_addresses_.size(), workers_.size());
  return {};
}

base::Status Server::publish(std::shared_ptr<const config::Snapshot> snapshot) {
  // Draining workers must not open new listeners.
  if (draining_) return base::fail(base::Error::kDraining, "the proxy is draining; config updates are not applied");
  Worker::ListenerAddresses addresses;
  auto reservations = std::make_shared<std::vector<net::PortReservation>>();
  for (const auto& ls : snapshot->listeners) {
    const auto& l = *ls.config;
    const xds::resources::Listener* running = nullptr;
    if (snapshot_) {
      for (const auto& r : snapshot_->listeners) {
        if (r.config->name == l.name) running = r.config.get();
      }
    }
    auto bound = listener_addresses_.find(l.name);
    if (running != nullptr && running->address == l.address && bound != listener_addresses_.end()) {
      addresses.emplace(l.name, bound->second);
      continue;
    }
    auto configured = net::Address::fromIpPort(l.address.address, static_cast<uint16_t>(l.address.port));
    if (!configured) return base::fail(configured.error().code, "listener '" + l.name + "': " + configured.error().message);
    auto reserved = net::PortReservation::reserve(*configured);
    if (!reserved) return base::fail(reserved.error().code, "listener '" + l.name + "': " + reserved.error().message);
    addresses.emplace(l.name, reserved->address());
    reservations->push_back(std::move(*reserved));
  }
  // Exporters and access logs exist before any worker builds a listener
  // that names them; a log that cannot be opened refuses the config.
  if (auto s = telemetry_->prepare(*snapshot); !s) return s;
  snapshot_ = snapshot;
  telemetry_->setSnapshot(snapshot_);
  listener_addresses_ = addresses;
  if (host_health_) host_health_->update(*snapshot_);

  if (!workers_running_) {
    for (auto& w : workers_) {
      if (auto s = w->apply(snapshot, addresses); !s) return s;
    }
    applied_version_ = snapshot->version;
    return {};
  }
  // The reservations are released once every worker has bound its sockets.
  auto pending = std::make_shared<size_t>(workers_.size());
  net::Dispatcher* main = &main_;
  const uint64_t version = snapshot->version;
  // Made and run on the main thread only; the workers just hand it back.
  auto on_applied = std::make_shared<std::function<void()>>([this, pending, reservations, version] {
    if (--*pending != 0) return;
    reservations->clear();
    if (version > applied_version_) applied_version_ = version;
    // ACKs held back until now go out: an ACK means the workers serve it.
    if (ads_ && applied_version_ >= snapshot_->version) ads_->flush();
  });
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    threads_[i]->dispatcher().post([w, snapshot, addresses, main, on_applied, version] {
      if (auto s = w->apply(snapshot, addresses); !s) spdlog::error("applying config {}: {}", version, s.message());
      main->post([on_applied] { (*on_applied)(); });
    });
  }
  return {};
}

base::Status Server::startXds(const envoy::config::core::v3::Node& node) {
  const auto& bootstrap = snapshot_->bootstrap;
  if (!bootstrap->dynamic) return {};
  const auto& d = *bootstrap->dynamic;
  const xds::resources::Cluster* ads_cluster = nullptr;
  for (const auto& c : bootstrap->clusters) {
    if (c.name == d.ads_cluster) ads_cluster = &c;
  }
  // The converter guarantees a static cluster with an endpoint; checked again
  // so a converter bug is an error message, not a crash.
  if (ads_cluster == nullptr || ads_cluster->endpoints.empty()) {
    return base::fail(base::Error::kInvalidArgument, "dynamic_resources: ADS cluster '" + d.ads_cluster + "' has no endpoint");
  }
  // Every endpoint is a control-plane replica the client may fail over to.
  std::vector<net::Address> addresses;
  for (const auto& endpoint : ads_cluster->endpoints) {
    const auto& ep = endpoint.address;
    auto address = net::Address::fromIpPort(ep.address, static_cast<uint16_t>(ep.port));
    if (!address) return base::fail(address.error().code, "ADS cluster '" + d.ads_cluster + "': " + address.error().message);
    if (std::find(addresses.begin(), addresses.end(), *address) == addresses.end()) addresses.push_back(*address);
  }

  xds_cache_ = std::make_unique<config::XdsCache>(
      bootstrap, snapshot_, [this](std::shared_ptr<const config::Snapshot> s) { return publish(std::move(s)); },
      [] { return std::chrono::system_clock::now(); }, tls_);
  config::AdsClientOptions o;
  o.addresses = std::move(addresses);
  o.authority = d.ads_cluster;
  if (!options_.control_planes.empty()) {
    o.resolve = [list = options_.control_planes] {
      std::vector<net::Address> out;
      auto resolved = resolveControlPlanes(list);
      if (!resolved) spdlog::warn("xds: {}", resolved.error().message);
      if (!resolved) return out;
      for (const auto& r : *resolved) {
        if (auto a = net::Address::fromIpPort(r.ip, r.port)) out.push_back(*a);
      }
      return out;
    };
  }
  o.mode = d.api_type == xds::resources::DynamicResources::ApiType::kDelta ? xds::client::AdsMux::Mode::kDelta
                                                                           : xds::client::AdsMux::Mode::kStateOfTheWorld;
  o.node = node;
  if (o.node.user_agent_name().empty()) o.node.set_user_agent_name("remora-proxy");
  o.connect_timeout = ads_cluster->connect_timeout;
  auto ads_tls = snapshot_->cluster_tls.find(d.ads_cluster);
  if (ads_tls != snapshot_->cluster_tls.end()) {
    // mTLS to the control plane, with the workload certificate once issued.
    upstream::TlsSettingsPtr settings = ads_tls->second;
    o.connect = [settings](net::Dispatcher& dispatcher, const net::Address& a) {
      return upstream::connectUpstream(dispatcher, a, settings.get(), nullptr, nullptr);
    };
  }
  ads_ = std::make_unique<config::AdsClient>(main_, std::move(o), *xds_cache_, static_cast<config::AdsClientObserver&>(*this),
                                              [this] { return random_(); });
  ads_->holdRequestsWhile([this] { return applied_version_ < snapshot_->version; });
  ads_->start();
  return {};
}

namespace {
std::string metadataString(const envoy::config::core::v3::Node& node, const std::string& key) {
  auto it = node.metadata().fields().find(key);
  if (it == node.metadata().fields().end() || !it->second.has_string_value()) return "";
  return it->second.string_value();
}
}  // namespace

base::Status Server::startIdentity(const envoy::config::core::v3::Node& node) {
  const auto& bootstrap = snapshot_->bootstrap;
  if (!bootstrap->dynamic) {
    return base::fail(base::Error::kInvalidArgument,
                      "a TLS context names the workload certificate (secret 'default'), which comes from the control "
                      "plane's CA: the bootstrap needs dynamic_resources (ADS)");
  }
  const std::string cluster_name = bootstrap->dynamic->ads_cluster;
  const xds::resources::Cluster* ads_cluster = nullptr;
  for (const auto& c : bootstrap->clusters) {
    if (c.name == cluster_name) ads_cluster = &c;
  }
  auto settings = snapshot_->cluster_tls.find(cluster_name);
  if (ads_cluster == nullptr || ads_cluster->endpoints.empty() || settings == snapshot_->cluster_tls.end() ||
      !ads_cluster->tls->validation) {
    return base::fail(base::Error::kInvalidArgument,
                      "the workload certificate is requested from the ADS cluster '" + cluster_name +
                          "', which needs a transport_socket (TLS) that verifies the control plane "
                          "(a validation context with the mesh root)");
  }
  if (options_.token_file.empty()) {
    return base::fail(base::Error::kInvalidArgument,
                      "a TLS context names the workload certificate (secret 'default'): pass --token-file with a join "
                      "token (remoractl token create --namespace N --service-account S)");
  }
  auto text = config::readSmallFile(options_.token_file);
  if (!text) return base::fail(text.error().code, "--token-file: " + text.error().message);
  // The first line, without surrounding whitespace.
  std::string token = text->substr(0, text->find('\n'));
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.erase(0, 1);
  if (token.empty()) return base::fail(base::Error::kInvalidArgument, "--token-file: " + options_.token_file + " is empty");

  std::string trust_domain = metadataString(node, "REMORA_TRUST_DOMAIN");
  if (trust_domain.empty()) trust_domain = "cluster.local";
  std::string ns = metadataString(node, "REMORA_NAMESPACE");
  if (ns.empty()) ns = "default";
  std::string account = metadataString(node, "REMORA_SERVICE_ACCOUNT");
  if (account.empty()) account = metadataString(node, "REMORA_SERVICE");
  if (account.empty()) {
    return base::fail(base::Error::kInvalidArgument,
                      "node.metadata: REMORA_SERVICE_ACCOUNT (or REMORA_SERVICE) names the workload identity and is "
                      "required with a workload certificate");
  }
  // Every replica the ADS client may stream to can also sign: they share the
  // CA and the tokens. Same list, same order as startXds() gives the ADS client.
  std::vector<net::Address> addresses;
  for (const auto& endpoint : ads_cluster->endpoints) {
    const auto& ep = endpoint.address;
    auto address = net::Address::fromIpPort(ep.address, static_cast<uint16_t>(ep.port));
    if (!address) return base::fail(address.error().code, "ADS cluster '" + cluster_name + "': " + address.error().message);
    if (std::find(addresses.begin(), addresses.end(), *address) == addresses.end()) addresses.push_back(*address);
  }
  // The first request presents no certificate: the same TLS without one.
  xds::resources::UpstreamTls anonymous = *ads_cluster->tls;
  anonymous.certificate = {};
  auto bootstrap_tls = tls_.forUpstream(anonymous);
  if (!bootstrap_tls) return bootstrap_tls.error();

  config::IdentityOptions o;
  o.addresses = std::move(addresses);
  o.authority = cluster_name;
  o.spiffe_id = "spiffe://" + trust_domain + "/ns/" + ns + "/sa/" + account;
  o.token = std::move(token);
  o.bootstrap_tls = *bootstrap_tls;
  o.workload_tls = settings->second;
  o.connect_timeout = ads_cluster->connect_timeout;
  identity_ = std::make_unique<config::IdentityClient>(
      main_, std::move(o), tls_,
      [this] {
        stats_.mainStats().counter(families_.identity_requests, {"issued"}).inc();
        refreshGauges();
        if (!ads_) {
          if (auto s = startXds(node_); !s) {
            spdlog::error("xds: {}", s.message());
            beginDrain("xDS could not start");
          }
        }
      },
      [this] { return random_(); }, [] { return std::chrono::system_clock::now(); });
  identity_->start();
  return {};
}

bool Server::isReady() const {
  if (!ready_ || draining_) return false;
  if (identity_ && !identity_->hasCertificate()) return false;
  if (!xds_cache_) return true;
  return xds_cache_->initialized() && first_complete_version_ != 0 && applied_version_ >= first_complete_version_;
}

std::string Server::readinessText() const {
  if (draining_) return "DRAINING\n";
  if (!ready_) return "STARTING\n";
  if (identity_ && !identity_->hasCertificate()) {
    return "STARTING: waiting for the workload certificate" +
           (identity_->lastError().empty() ? std::string() : " (" + identity_->lastError() + ")") + "\n";
  }
  if (!xds_cache_) return "LIVE\n";
  std::string text;
  if (!xds_cache_->initialized()) {
    text = "STARTING: waiting for config from the control plane: " + xds_cache_->waitingFor() + "\n";
  } else if (!isReady()) {
    text = "STARTING: the workers are switching to the first config\n";
  } else {
    text = "LIVE\n";
  }
  const auto now_sys = std::chrono::system_clock::now();
  if (auto last = xds_cache_->lastUpdate()) {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now_sys - *last).count();
    text += "xds: last update accepted " + std::to_string(age) + " s ago\n";
  }
  if (ads_->connected()) {
    text += "xds: connected to " + ads_->currentAddress().toString() + "\n";
  } else {
    const auto down = ads_->downSince() ? std::chrono::duration_cast<std::chrono::seconds>(
                                              std::chrono::steady_clock::now() - *ads_->downSince())
                                              .count()
                                        : 0;
    text += "xds: control plane unreachable for " + std::to_string(down) + " s" +
            (ads_->failure().empty() ? std::string() : " (" + ads_->failure() + ")") +
            (xds_cache_->initialized() ? "; serving the last good config" : "") + "\n";
  }
  return text;
}

void Server::refreshGauges() {
  ready_gauge_.set(isReady() ? 1 : 0);
  for (const auto& [secret, expiry] : tls_.expiries()) {
    stats_.mainStats()
        .gauge(families_.tls_certificate_expiry, {secret})
        .set(std::chrono::duration<double>(expiry.time_since_epoch()).count());
  }
  if (!xds_cache_) return;
  auto& m = stats_.mainStats();
  if (auto last = xds_cache_->lastUpdate()) {
    m.gauge(families_.xds_last_update).set(std::chrono::duration<double>(last->time_since_epoch()).count());
    m.gauge(families_.xds_config_age)
        .set(std::chrono::duration<double>(std::chrono::system_clock::now() - *last).count());
  } else {
    m.gauge(families_.xds_config_age).set(-1);
  }
  using xds::resources::ResourceType;
  for (auto t : {ResourceType::kListener, ResourceType::kRouteConfiguration, ResourceType::kCluster,
                 ResourceType::kClusterLoadAssignment}) {
    m.gauge(families_.xds_resources, {xds::resources::shortTypeName(t)})
        .set(static_cast<double>(xds_cache_->entries(t).size()));
  }
}

void Server::onConnected(bool connected) {
  stats_.mainStats().gauge(families_.xds_connected).set(connected ? 1 : 0);
}

void Server::onControlPlane(const net::Address& address, bool failover) {
  auto& m = stats_.mainStats();
  const std::string now = address.toString();
  if (!control_plane_.empty() && control_plane_ != now) m.gauge(families_.xds_control_plane, {control_plane_}).set(0);
  m.gauge(families_.xds_control_plane, {now}).set(1);
  control_plane_ = now;
  if (failover) m.counter(families_.xds_failovers).inc();
}

void Server::onStreamFailure(const std::string&) { stats_.mainStats().counter(families_.xds_stream_failures).inc(); }

void Server::onResponse(std::string_view type_url, bool accepted) {
  if (first_complete_version_ == 0 && xds_cache_->initialized()) first_complete_version_ = snapshot_->version;
  auto type = xds::resources::resourceTypeOf(type_url);
  const std::string_view name = type ? xds::resources::shortTypeName(*type) : std::string_view("unknown");
  stats_.mainStats().counter(families_.xds_updates, {name, accepted ? "accepted" : "rejected"}).inc();
  refreshGauges();
}

int Server::run() {
  if (auto s = start(); !s) {
    spdlog::error("{}", s.message());
    scrape_.reset();
    admin_.reset();
    stopWorkers();
    return 1;
  }
  main_.run();
  scrape_.reset();
  admin_.reset();
  signals_.clear();
  drain_deadline_.reset();
  stopWorkers();
  return exit_code_;
}

void Server::stopWorkers() {
  // Health checks and ejections stop first: nothing more is posted to workers.
  host_health_.reset();
  for (auto& t : threads_) t->stop();
  // Workers whose thread never started are destroyed here, on the main thread.
  workers_.clear();
  threads_.clear();
  telemetry_.reset();
}

bool Server::hasOutboundListener() const {
  if (!snapshot_) return false;
  for (const auto& l : snapshot_->listeners) {
    if (l.config->direction == xds::resources::Listener::Direction::kOutbound) return true;
  }
  return false;
}

void Server::beginDrain(std::string why) {
  if (draining_) return;
  draining_ = true;
  ready_ = false;
  refreshGauges();
  draining_gauge_.set(1);
  // An app that is shutting down too may still call out (flush a queue,
  // deregister): outbound listeners serve until the drain time ends and
  // the process leaves then; everything else drains as it always did.
  const bool keep_outbound = hasOutboundListener();
  // Say goodbye to the control plane: it withdraws this proxy's endpoints at
  // once, so peers stop sending new requests here while the drain runs.
  if (ads_) ads_->leave();
  if (keep_outbound) {
    spdlog::info("draining ({}): /ready answers 503; inbound listeners stop accepting; outbound listeners serve "
                 "until the drain time ends in {} ms",
                 why, options_.drain_time.count());
  } else {
    spdlog::info("draining ({}): /ready answers 503; listeners stop accepting, in-flight requests get up to {} ms",
                 why, options_.drain_time.count());
  }
  // Each worker posts back once its drained listeners have no session
  // left; after the last one the main loop ends, unless outbound listeners
  // still serve. Only the main thread ever runs on_drained.
  net::Dispatcher* main = &main_;
  auto on_drained = std::make_shared<std::function<void()>>([this, keep_outbound] {
    if (++workers_drained_ != workers_.size()) return;
    if (!keep_outbound) {
      spdlog::info("drained: no connection left; exiting");
      main_.exit();
      return;
    }
    spdlog::info("inbound listeners drained: no inbound connection left; outbound listeners still serve");
  });
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    threads_[i]->dispatcher().post([w, main, on_drained, keep_outbound] {
      w->drain([main, on_drained] { main->post([on_drained] { (*on_drained)(); }); }, keep_outbound);
    });
  }
  drain_deadline_ = main_.createTimer([this, keep_outbound] {
    if (keep_outbound) {
      spdlog::info("drain time over: outbound listeners close; exiting");
    } else {
      spdlog::warn("drain time over: closing remaining connections");
    }
    main_.exit();
  });
  // The admin endpoint keeps serving while draining, so /ready shows 503.
  drain_deadline_->enable(options_.drain_time);
}

void Server::registerAdminEndpoints() { registerAdminHandlers(*admin_, adminSources()); }

AdminSources Server::adminSources() {
  AdminSources s;
  s.snapshot = [this] { return snapshot_; };
  s.listener_addresses = [this]() -> const Worker::ListenerAddresses& { return listener_addresses_; };
  s.host_health = [this]() -> const HostHealth* { return host_health_.get(); };
  s.ready = [this] { return isReady(); };
  s.readiness_text = [this] { return readinessText(); };
  s.config_dump = [this] { return configDumpJson(*snapshot_, config_json_, xds_cache_.get(), ads_.get()); };
  s.refresh_gauges = [this] { refreshGauges(); };
  s.quit = [this] { main_.post([this] { beginDrain("/quitquitquit"); }); };
  s.stats = &stats_;
  s.gather_active_requests = [this](std::function<void(HostHealth::ActiveRequests)> done) {
    gatherActiveRequests(std::move(done));
  };
  return s;
}

base::Status Server::startScrapeEndpoint() {
  if (options_.stats_address.empty()) return {};
  auto address = net::Address::parse(options_.stats_address);
  if (!address) {
    return base::fail(address.error().code, "--stats-address: '" + options_.stats_address +
                                                "' is not ip:port (e.g. 0.0.0.0:15090): " + address.error().message);
  }
  scrape_ = std::make_unique<admin::AdminServer>(main_, /*serve_index=*/false);
  registerScrapeHandlers(*scrape_, adminSources());
  if (auto s = scrape_->bind(*address); !s) return base::fail(s.error().code, "--stats-address: " + s.message());
  return writeAddressFile(options_.stats_address_path, scrape_->localAddress(), "--stats-address-path");
}

base::Status Server::writeAddressFile(const std::string& path, const net::Address& address, const char* flag) {
  if (path.empty()) return {};
  // Written to a temporary name and renamed, so a reader never sees half a line.
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << address.toString() << "\n";
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return base::fail(base::Error::kIo, std::string(flag) + ": cannot write " + path);
  }
  return {};
}

void Server::gatherActiveRequests(std::function<void(HostHealth::ActiveRequests)> done) {
  if (!workers_running_ || workers_.empty()) {
    done({});
    return;
  }
  // Each worker counts on its own thread; the sums are made and handed on
  // here, on the main thread, once the last worker answered.
  struct Gather {
    size_t pending;
    HostHealth::ActiveRequests sums;
    std::function<void(HostHealth::ActiveRequests)> done;
  };
  auto gather = std::make_shared<Gather>(Gather{workers_.size(), {}, std::move(done)});
  net::Dispatcher* main = &main_;
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    threads_[i]->dispatcher().post([w, main, gather] {
      auto counts = std::make_shared<HostHealth::ActiveRequests>(w->activeRequests());
      main->post([gather, counts] {
        for (const auto& [cluster, hosts] : *counts) {
          for (const auto& [host, n] : hosts) gather->sums[cluster][host] += n;
        }
        if (--gather->pending == 0) gather->done(std::move(gather->sums));
      });
    });
  }
}

}  // namespace remora::server
