#include "proxy/net/worker_thread.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <future>
#include <map>
#include <vector>

#include "proxy/net/listener.h"
#include "tests/unit/net/test_callbacks.h"

using namespace std::chrono_literals;
using namespace remora::net;

TEST_CASE("a worker runs on_start, its loop and on_exit on its own thread", "[net][worker]") {
  std::thread::id start_thread, exit_thread;  // written on the worker, read after join
  bool loop_ran = false;
  bool exit_on_loop_thread = false;
  {
    WorkerThread worker("remora-worker-test-long-name");
    CHECK(worker.name() == "remora-worker-test-long-name");
    std::promise<void> ran;
    worker.start([&](Dispatcher& d) { start_thread = std::this_thread::get_id(); },
                 [&](Dispatcher& d) {
                   exit_thread = std::this_thread::get_id();
                   exit_on_loop_thread = d.isThreadSafe();
                 });
    worker.dispatcher().post([&] {
      loop_ran = true;
      ran.set_value();
    });
    ran.get_future().wait();
    worker.stop();
  }
  CHECK(loop_ran);
  CHECK(exit_on_loop_thread);
  CHECK(start_thread != std::thread::id());
  CHECK(start_thread != std::this_thread::get_id());
  CHECK(exit_thread == start_thread);
}

TEST_CASE("closures posted to a worker run on its thread in posting order", "[net][worker]") {
  WorkerThread worker("poster");
  std::vector<int> seen;  // worker thread only until stop() joins
  std::thread::id worker_id;
  worker.start([&](Dispatcher&) { worker_id = std::this_thread::get_id(); }, nullptr);
  std::vector<std::thread> posters;
  for (int t = 0; t < 2; ++t) {
    posters.emplace_back([&worker, &seen, t] {
      for (int i = 0; i < 500; ++i) worker.dispatcher().post([&seen, t, i] { seen.push_back(t * 1000 + i); });
    });
  }
  for (auto& p : posters) p.join();
  std::promise<void> drained;
  worker.dispatcher().post([&] { drained.set_value(); });
  drained.get_future().wait();
  worker.stop();
  REQUIRE(seen.size() == 1000);
  // Per poster, order is kept.
  int last[2] = {-1, -1};
  for (int v : seen) {
    int t = v / 1000, i = v % 1000;
    CHECK(i == last[t] + 1);
    last[t] = i;
  }
}

TEST_CASE("stopping a worker that was never started is harmless", "[net][worker]") {
  WorkerThread worker("idle");
  worker.stop();
  CHECK(worker.dispatcher().liveHandleCount() == 0);
}

namespace {

// One worker's listener: answers each connection with the worker's tag byte
// and closes. Lives and dies on the worker thread.
class TagServer : public ListenerCallbacks {
 public:
  explicit TagServer(char tag) : tag_(tag) {}
  void onAccept(ConnectionPtr conn) override {
    testing::writeString(*conn, std::string(1, tag_));
    conn->close(CloseType::kFlushWrite);
    conns_.push_back(std::move(conn));
  }
  ListenerPtr listener;

 private:
  char tag_;
  std::vector<ConnectionPtr> conns_;
};

// Starts `worker` with a TagServer bound to `address`; returns the bound port
// or the bind error.
std::future<remora::base::Result<uint16_t>> startTagWorker(WorkerThread& worker, std::unique_ptr<TagServer>& slot,
                                                           char tag, Address address) {
  auto promise = std::make_shared<std::promise<remora::base::Result<uint16_t>>>();
  auto future = promise->get_future();
  worker.start(
      [&slot, tag, address, promise](Dispatcher& d) {
        slot = std::make_unique<TagServer>(tag);
        auto bound = Listener::bind(d, address, *slot, /*reuse_port=*/true);
        if (!bound) {
          promise->set_value(bound.error());
          return;
        }
        slot->listener = std::move(*bound);
        promise->set_value(slot->listener->localAddress().port());
      },
      [&slot](Dispatcher&) { slot.reset(); });
  return future;
}

// A blocking loopback client: connects, returns the first byte the server sends.
char fetchTag(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char tag = '?';
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0) {
    if (::recv(fd, &tag, 1, 0) != 1) tag = '!';
  }
  ::close(fd);
  return tag;
}

}  // namespace

TEST_CASE("two workers binding SO_REUSEPORT on the same port both accept connections", "[net][worker]") {
  WorkerThread w1("w1");
  WorkerThread w2("w2");
  std::unique_ptr<TagServer> s1, s2;  // owned by the workers' threads between start and stop
  auto port1 = startTagWorker(w1, s1, '1', *Address::parse("127.0.0.1:0")).get();
  REQUIRE(port1);
  REQUIRE(*port1 != 0);
  auto port2 = startTagWorker(w2, s2, '2', *Address::fromIpPort("127.0.0.1", *port1)).get();
  REQUIRE(port2);
  CHECK(*port2 == *port1);

  std::map<char, int> counts;
  for (int i = 0; i < 64; ++i) ++counts[fetchTag(*port1)];
  w1.stop();
  w2.stop();
  CHECK(counts['1'] + counts['2'] == 64);
  CHECK(counts['1'] > 0);
  CHECK(counts['2'] > 0);
}
