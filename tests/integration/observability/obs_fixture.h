// Shared by the observability integration tests: a proxy in front of a
// remora-echo instance with a scrape-only endpoint, a parser for the
// Prometheus text format (to check what promtool does not), and loopback
// port helpers. Test thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"
#include "xds/base/status.h"

namespace remora::obstest {

// A loopback TCP port nothing listened on a moment ago (bound to port 0, then
// closed): for programs that cannot report a kernel-chosen port (Prometheus),
// and as a dead upstream. Racy by nature; callers that bind it retry.
uint16_t pickFreePort();

// One sample line of a text exposition.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
  // name{a="b",...} with labels sorted, le included: a series' identity.
  std::string key() const;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family name -> counter|gauge|histogram|...
  std::vector<Sample> samples;
};

// A strict reader of Prometheus text format 0.0.4: fails naming the line on
// anything it cannot read (so a check never passes on text it skipped).
base::Result<Exposition> parseExposition(std::string_view text);

// Problems promtool does not report: a histogram series without a +Inf
// bucket, _sum or _count (or a +Inf bucket that differs from _count), a
// label name with an upper-case letter. One line per problem; empty: none.
std::vector<std::string> extraChecks(const Exposition& exposition);

// What the observability tests run against: remora-echo "echo-a" behind a
// proxy whose listener "ingress" answers authority shop.local (and nothing
// else):
//   /health        direct response 200
//   /dead...       cluster "dead": two ports nothing listens on, with outlier
//                  detection that ejects a host after 2 gateway failures and
//                  healthy_panic_threshold 0
//   /...           cluster "backend": the echo instance
// The proxy also serves the scrape-only endpoint (--stats-address 127.0.0.1:0).
struct MeshFixture {
  MeshFixture();
  // GET on the admin endpoint; REQUIREs an answer.
  harness::HttpResponse admin(const std::string& path, const std::string& method = "GET");
  // A request through the listener with Host `authority`.
  harness::HttpResponse send(const std::string& authority, const std::string& path);
  // `count` GETs over one keep-alive connection (curl's URL globbing), as
  // http://shop.local{path_prefix}1 .. {count}; returns how many got 200.
  size_t sendMany(const std::string& path_prefix, size_t count);
  // Exits 0 with no sanitizer report.
  void checkCleanExit();

  harness::TempDir dir{"remora-obs"};
  std::unique_ptr<harness::BackendProcess> echo;
  std::unique_ptr<harness::ProxyProcess> proxy;
  std::string listener;       // "ip:port" of "ingress"
  std::string scrape_address; // "ip:port" of the scrape-only endpoint
  std::vector<std::string> dead_endpoints;
};

}  // namespace remora::obstest
