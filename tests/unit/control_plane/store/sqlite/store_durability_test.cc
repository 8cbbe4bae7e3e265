// Durability of acknowledged writes: a writer process is SIGKILLed in the
// middle of a stream of writes; every write it reported as committed must be
// in the reopened store, and the file must pass integrity_check.
#include <signal.h>

#include <chrono>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "control-plane/store/sqlite/sqlite_store.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"

using namespace std::chrono_literals;
using remora::cp::store::sqlite::SqliteStore;
using remora::harness::binaryPath;
using remora::harness::Process;
using remora::harness::TempDir;

namespace {

// The N of every complete "ok N" line (a line cut by the kill is ignored).
std::vector<long> acknowledged(const std::string& output) {
  std::vector<long> ns;
  size_t start = 0;
  for (size_t end; (end = output.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = output.substr(start, end - start);
    if (line.rfind("ok ", 0) == 0) ns.push_back(std::strtol(line.c_str() + 3, nullptr, 10));
  }
  return ns;
}

// Runs the writer from `first` until it has acknowledged at least `at_least`
// writes, then SIGKILLs it; returns the acknowledged Ns.
std::vector<long> writeUntilKilled(const TempDir& dir, long first, size_t at_least) {
  auto writer = Process::start({{binaryPath("store_durability_writer"), dir.file("store.db"), std::to_string(first)},
                                {},
                                dir.path(),
                                "writer-" + std::to_string(first)});
  REQUIRE(writer);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (acknowledged(writer->readStdout()).size() < at_least) {
    INFO(writer->readStderr());
    REQUIRE(writer->running());
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(writer->signal(SIGKILL));
  auto code = writer->waitExit(5s);
  REQUIRE(code);
  CHECK(*code == 128 + SIGKILL);
  return acknowledged(writer->readStdout());
}

}  // namespace

TEST_CASE("every write acknowledged before SIGKILL survives and the file is intact",
          "[cp][store][sqlite][durability]") {
  TempDir dir("remora-store-durability");
  std::vector<long> all_acked;
  // Three kill cycles: a store recovered from a crash must itself survive one.
  for (long round = 0; round < 3; ++round) {
    const long first = round * 1'000'000;
    auto acked = writeUntilKilled(dir, first, 50);
    REQUIRE(acked.size() >= 50);
    CHECK(acked.front() == first);
    all_acked.insert(all_acked.end(), acked.begin(), acked.end());

    auto store = SqliteStore::open(dir.file("store.db"));
    INFO((store ? "" : store.error().message));
    REQUIRE(store);
    auto integrity = (*store)->checkIntegrity();
    INFO(integrity.message());
    CHECK(integrity);
    size_t missing = 0;
    for (long n : all_acked) {
      auto got = (*store)->get({"Service", "default", "svc-" + std::to_string(n)});
      if (!got || got->spec_json != R"({"n":)" + std::to_string(n) + "}") ++missing;
    }
    CHECK(missing == 0);
    // Objects and change log agree: one change per object, none lost or extra.
    auto objects = (*store)->list("Service", "default");
    REQUIRE(objects);
    CHECK((*store)->revision() == objects->size());
    CHECK((*store)->changesSince(0)->size() == objects->size());
    // The kill may land after a commit and before its "ok": at most one extra.
    CHECK(objects->size() - all_acked.size() <= static_cast<size_t>(round + 1));
  }
}
