#include "control-plane/store/etcd/etcd_client.h"

#include <mutex>

#include <catch2/catch.hpp>

#include "tests/integration/harness/process.h"
#include "tests/integration/harness/paths.h"
#include "tests/unit/control_plane/store/etcd/etcd_test_rig.h"

using remora::base::Error;
using remora::testing::EtcdRig;
using remora::testing::eventually;
using namespace remora::cp::store::etcd;

TEST_CASE("an etcd client needs endpoints and readable TLS files", "[cp][store][etcd]") {
  auto none = EtcdClient::create(EtcdOptions{});
  REQUIRE_FALSE(none);
  CHECK(none.error().code == Error::kInvalidArgument);
  EtcdOptions tls;
  tls.endpoints = {"127.0.0.1:2379"};
  tls.ca_file = "/nonexistent/ca.pem";
  auto unreadable = EtcdClient::create(tls);
  REQUIRE_FALSE(unreadable);
  CHECK_THAT(unreadable.error().message, Catch::Contains("/nonexistent/ca.pem"));
  EtcdOptions bad;
  bad.endpoints = {"http://127.0.0.1"};
  CHECK(EtcdClient::create(bad).error().code == Error::kInvalidArgument);
}

TEST_CASE("an unreachable etcd is unavailable within the request timeout, naming the endpoints",
          "[cp][store][etcd]") {
  EtcdOptions options;
  options.endpoints = {"http://127.0.0.1:1", "127.0.0.1:2"};
  options.request_timeout = std::chrono::milliseconds(300);
  auto client = EtcdClient::create(options);
  REQUIRE(client);
  CHECK((*client)->endpointsText() == "http://127.0.0.1:1,127.0.0.1:2");
  const auto start = std::chrono::steady_clock::now();
  auto range = (*client)->range("/x", false);
  REQUIRE_FALSE(range);
  CHECK(range.error().code == Error::kUnavailable);
  CHECK_THAT(range.error().message, Catch::StartsWith("etcd http://127.0.0.1:1,127.0.0.1:2: "));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

TEST_CASE("an etcd client puts, ranges by prefix, deletes and runs transactions", "[cp][store][etcd]") {
  EtcdRig rig;
  auto client = rig.client();
  auto first = client->put("/t/a", "1");
  REQUIRE(first);
  REQUIRE(client->put("/t/b", "2"));
  REQUIRE(client->put("/u/c", "3"));
  auto range = client->range("/t/", true);
  REQUIRE(range);
  REQUIRE(range->kvs.size() == 2);
  CHECK(range->kvs[0].key == "/t/a");
  CHECK(range->kvs[0].value == "1");
  CHECK(range->kvs[0].mod_revision == *first);
  CHECK(range->revision >= *first + 2);

  auto lost = client->txn({{"/t/a", Compare::Target::kModRevision, Compare::Result::kEqual, *first - 1, ""}},
                          {{TxnOp::Type::kPut, "/t/a", "won", 0, false}}, {{TxnOp::Type::kGet, "/t/a", "", 0, false}});
  REQUIRE(lost);
  CHECK_FALSE(lost->succeeded);
  REQUIRE(lost->gets.size() == 1);
  CHECK(lost->gets[0].at(0).value == "1");
  auto won = client->txn({{"/t/a", Compare::Target::kModRevision, Compare::Result::kEqual, *first, ""}},
                         {{TxnOp::Type::kPut, "/t/a", "won", 0, false}}, {});
  REQUIRE(won);
  CHECK(won->succeeded);
  CHECK(client->range("/t/a", false)->kvs.at(0).value == "won");

  REQUIRE(client->remove("/t/", true));
  CHECK(client->range("/t/", true)->kvs.empty());
  CHECK(client->range("/u/", true)->kvs.size() == 1);
}

TEST_CASE("an etcd lease keeps its keys while alive and deletes them when revoked", "[cp][store][etcd]") {
  EtcdRig rig;
  auto client = rig.client();
  auto lease = client->grantLease(std::chrono::seconds(5));
  REQUIRE(lease);
  REQUIRE(client->put("/leased", "x", *lease));
  CHECK(client->keepAlive(*lease));
  CHECK(client->range("/leased", false)->kvs.at(0).lease == *lease);
  REQUIRE(client->revokeLease(*lease));
  CHECK(client->range("/leased", false)->kvs.empty());
  auto expired = client->keepAlive(*lease);
  CHECK_FALSE(expired);
  CHECK(expired.code() == Error::kNotFound);
}

TEST_CASE("an etcd watch delivers puts and deletes with previous values in order", "[cp][store][etcd]") {
  EtcdRig rig;
  auto client = rig.client();
  auto start = client->put("/w/a", "1");
  REQUIRE(start);
  std::mutex mutex;
  std::vector<WatchEvent> events;
  bool connected = false;
  WatchHandlers handlers;
  handlers.on_events = [&](const std::vector<WatchEvent>& batch, int64_t) {
    std::lock_guard lock(mutex);
    events.insert(events.end(), batch.begin(), batch.end());
  };
  handlers.on_connected = [&] {
    std::lock_guard lock(mutex);
    connected = true;
  };
  // From the first put on: history before the watch started is delivered too.
  auto watch = client->watchPrefix("/w/", *start, handlers);
  REQUIRE(client->put("/w/a", "2"));
  REQUIRE(client->put("/other", "x"));
  REQUIRE(client->remove("/w/a"));
  CHECK(eventually([&] {
    std::lock_guard lock(mutex);
    return events.size() == 3;
  }));
  std::lock_guard lock(mutex);
  CHECK(connected);
  REQUIRE(events.size() == 3);
  CHECK(events[0].kv.value == "1");
  CHECK(events[1].kv.value == "2");
  REQUIRE(events[1].prev_kv);
  CHECK(events[1].prev_kv->value == "1");
  CHECK(events[2].type == WatchEvent::Type::kDelete);
  REQUIRE(events[2].prev_kv);
  CHECK(events[2].prev_kv->value == "2");
}

TEST_CASE("an etcd watch from a compacted revision asks to re-read and resumes after it", "[cp][store][etcd]") {
  EtcdRig rig;
  auto client = rig.client();
  auto first = client->put("/c/a", "1");
  REQUIRE(first);
  auto latest = client->put("/c/a", "2");
  REQUIRE(latest);
  auto compacted = remora::harness::run({remora::harness::findInPath("etcdctl"), "--endpoints=" + rig.cluster->endpointsText(),
                                         "compact", std::to_string(*latest)},
                                        std::chrono::seconds(5), {{"ETCDCTL_API", "3"}});
  INFO(compacted.describe());
  REQUIRE(compacted.exit_code == 0);
  std::mutex mutex;
  int64_t compaction_seen = 0;
  std::vector<std::string> values;
  WatchHandlers handlers;
  handlers.on_compacted = [&](int64_t revision) {
    std::lock_guard lock(mutex);
    compaction_seen = revision;
    return *latest;  // as if we had re-read everything at `latest`
  };
  handlers.on_events = [&](const std::vector<WatchEvent>& batch, int64_t) {
    std::lock_guard lock(mutex);
    for (const auto& event : batch) values.push_back(event.kv.value);
  };
  auto watch = client->watchPrefix("/c/", *first, handlers);
  REQUIRE(client->put("/c/a", "3"));
  CHECK(eventually([&] {
    std::lock_guard lock(mutex);
    return !values.empty();
  }));
  std::lock_guard lock(mutex);
  CHECK(compaction_seen == *latest);
  CHECK(values == std::vector<std::string>{"3"});
}

TEST_CASE("an etcd client authenticates when a username is set, and a wrong password is refused",
          "[cp][store][etcd]") {
  EtcdRig rig;
  const std::string etcdctl = remora::harness::findInPath("etcdctl");
  const std::string endpoints = "--endpoints=" + rig.cluster->endpointsText();
  for (const std::vector<std::string>& args : {std::vector<std::string>{etcdctl, endpoints, "user", "add", "root:secret"},
                                               std::vector<std::string>{etcdctl, endpoints, "auth", "enable"}}) {
    auto done = remora::harness::run(args, std::chrono::seconds(5), {{"ETCDCTL_API", "3"}});
    INFO(done.describe());
    REQUIRE(done.exit_code == 0);
  }
  EtcdOptions options = rig.options();
  auto anonymous = EtcdClient::create(options);
  REQUIRE(anonymous);
  CHECK_FALSE((*anonymous)->put("/auth/x", "1"));

  options.username = "root";
  options.password = "secret";
  auto client = EtcdClient::create(options);
  REQUIRE(client);
  auto put = (*client)->put("/auth/x", "1");
  INFO((put ? "" : put.error().message));
  REQUIRE(put);
  CHECK((*client)->range("/auth/x", false)->kvs.at(0).value == "1");

  options.password = "wrong";
  auto refused = EtcdClient::create(options);
  REQUIRE(refused);
  auto denied = (*refused)->range("/auth/x", false);
  REQUIRE_FALSE(denied);
  CHECK_THAT(denied.error().message, Catch::Contains("authenticating as root"));
}
