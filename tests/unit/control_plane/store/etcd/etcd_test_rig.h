// A real etcd cluster for one test case, with the client options and store
// factory the etcd tests share. Test thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "control-plane/store/etcd/etcd_store.h"
#include "tests/integration/harness/etcd_process.h"

namespace remora::testing {

struct EtcdRig {
  std::unique_ptr<harness::EtcdCluster> cluster;
  // Fake clock (1000 ms, +1 per reading) and uids "uid-1", "uid-2", ...
  std::shared_ptr<std::atomic<int64_t>> clock = std::make_shared<std::atomic<int64_t>>(1000);
  std::shared_ptr<std::atomic<int>> uids = std::make_shared<std::atomic<int>>(0);
  std::chrono::milliseconds request_timeout{2000};

  // With `tls`, members serve clients over TLS; options() still leaves the
  // client's TLS files for the test to choose.
  explicit EtcdRig(int members = 1, std::optional<harness::EtcdTls> tls = std::nullopt) {
    auto started = tls ? harness::EtcdCluster::startTls(members, *tls) : harness::EtcdCluster::start(members);
    INFO((started ? "" : started.error().message));
    REQUIRE(started);
    cluster = std::move(*started);
  }

  cp::store::etcd::EtcdOptions options() const {
    cp::store::etcd::EtcdOptions options;
    options.endpoints = cluster->endpoints();
    options.request_timeout = request_timeout;
    return options;
  }

  cp::store::etcd::EtcdStoreOptions storeOptions() const {
    cp::store::etcd::EtcdStoreOptions options;
    options.now_unix_ms = [clock = clock] { return clock->fetch_add(1); };
    options.new_uid = [uids = uids] { return "uid-" + std::to_string(uids->fetch_add(1) + 1); };
    return options;
  }

  std::unique_ptr<cp::store::etcd::EtcdStore> open(const std::string& prefix = "/remora/") const {
    auto store = cp::store::etcd::EtcdStore::open(options(), prefix, storeOptions());
    INFO((store ? "" : store.error().message));
    REQUIRE(store);
    return std::move(*store);
  }

  std::unique_ptr<cp::store::etcd::EtcdClient> client() const {
    auto client = cp::store::etcd::EtcdClient::create(options());
    INFO((client ? "" : client.error().message));
    REQUIRE(client);
    return std::move(*client);
  }
};

// Polls `done` every 10 ms until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace remora::testing
