#include "tests/integration/observability/obs_fixture.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <set>
#include <sstream>

#include "tests/integration/harness/http_client.h"
#include "tests/integration/proxy/fixtures.h"

namespace remora::obstest {

using namespace std::chrono_literals;

uint16_t pickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  socklen_t len = sizeof(a);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string Sample::key() const {
  std::string out = name + "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    out += (first ? "" : ",") + k + "=\"" + v + "\"";
    first = false;
  }
  return out + "}";
}

namespace {

bool nameChar(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

// Reads `{a="b",c="d"}` at `i`; returns false on malformed text.
bool readLabels(std::string_view line, size_t& i, std::map<std::string, std::string>& out) {
  ++i;  // '{'
  while (i < line.size() && line[i] != '}') {
    size_t start = i;
    while (i < line.size() && nameChar(line[i], i == start)) ++i;
    if (i == start || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') return false;
    std::string name(line.substr(start, i - start));
    i += 2;
    std::string value;
    while (i < line.size() && line[i] != '"') {
      if (line[i] == '\\' && i + 1 < line.size()) {
        ++i;
        value.push_back(line[i] == 'n' ? '\n' : line[i]);
      } else {
        value.push_back(line[i]);
      }
      ++i;
    }
    if (i >= line.size()) return false;
    ++i;  // closing quote
    if (!out.emplace(std::move(name), std::move(value)).second) return false;  // duplicate label
    if (i < line.size() && line[i] == ',') ++i;
  }
  if (i >= line.size()) return false;
  ++i;  // '}'
  return true;
}

}  // namespace

base::Result<Exposition> parseExposition(std::string_view text) {
  Exposition out;
  std::istringstream in{std::string(text)};
  std::string line;
  size_t number = 0;
  auto bad = [&](const std::string& why) {
    return base::fail(base::Error::kInvalidArgument, "line " + std::to_string(number) + ": " + why + ": " + line);
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream f(line);
      std::string hash, kind, name, type;
      f >> hash >> kind >> name >> type;
      if (kind == "TYPE") {
        if (name.empty() || type.empty()) return bad("TYPE without name or type");
        out.types[name] = type;
      }
      continue;
    }
    Sample s;
    size_t i = 0;
    while (i < line.size() && nameChar(line[i], i == 0)) ++i;
    if (i == 0) return bad("no metric name");
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{' && !readLabels(line, i, s.labels)) return bad("malformed labels");
    if (i >= line.size() || line[i] != ' ') return bad("no value");
    std::string rest = line.substr(i + 1);
    s.value = rest.substr(0, rest.find(' '));
    if (s.value.empty()) return bad("empty value");
    out.samples.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> extraChecks(const Exposition& e) {
  std::vector<std::string> problems;
  for (const Sample& s : e.samples) {
    for (const auto& [label, value] : s.labels) {
      for (char c : label) {
        if (std::isupper(static_cast<unsigned char>(c))) {
          problems.push_back("label name '" + label + "' is not lower-case in " + s.key());
          break;
        }
      }
    }
  }
  for (const auto& [family, type] : e.types) {
    if (type != "histogram") continue;
    // Per series (labels without le): the +Inf bucket, _sum and _count.
    std::map<std::string, std::string> inf;
    std::set<std::string> bucketed, sums;
    std::map<std::string, std::string> counts;
    for (const Sample& s : e.samples) {
      Sample base = s;
      base.labels.erase("le");
      base.name = family;
      if (s.name == family + "_bucket") {
        bucketed.insert(base.key());
        auto le = s.labels.find("le");
        if (le == s.labels.end()) problems.push_back("bucket without le: " + s.key());
        if (le != s.labels.end() && le->second == "+Inf") inf[base.key()] = s.value;
      } else if (s.name == family + "_sum") {
        sums.insert(base.key());
      } else if (s.name == family + "_count") {
        counts[base.key()] = s.value;
      }
    }
    for (const std::string& series : bucketed) {
      if (!inf.count(series)) problems.push_back("histogram series without a +Inf bucket: " + series);
      if (!sums.count(series)) problems.push_back("histogram series without _sum: " + series);
      if (!counts.count(series)) problems.push_back("histogram series without _count: " + series);
      if (inf.count(series) && counts.count(series) && inf[series] != counts[series]) {
        problems.push_back("histogram +Inf bucket " + inf[series] + " differs from _count " + counts[series] +
                           ": " + series);
      }
    }
    for (const auto& [series, value] : counts) {
      if (!bucketed.count(series)) problems.push_back("histogram _count without buckets: " + series);
    }
  }
  return problems;
}

MeshFixture::MeshFixture() {
  auto e = harness::BackendProcess::remoraEcho("echo-a");
  REQUIRE(e);
  echo = std::make_unique<harness::BackendProcess>(std::move(*e));
  for (int i = 0; i < 2; ++i) dead_endpoints.push_back("127.0.0.1:" + std::to_string(pickFreePort()));
  const std::string vhosts =
      "- name: shop\n  domains: [\"shop.local\"]\n  routes:\n"
      "  - name: health\n    match: { path: \"/health\" }\n    direct_response: { status: 200 }\n"
      "  - name: dead\n    match: { prefix: \"/dead\" }\n    route: { cluster: dead }\n"
      "  - name: default\n    match: { prefix: \"/\" }\n    route: { cluster: backend }\n";
  const std::string outlier =
      "common_lb_config: { healthy_panic_threshold: { value: 0 } }\n"
      "outlier_detection:\n  consecutive_gateway_failure: 2\n  enforcing_consecutive_gateway_failure: 100\n"
      "  max_ejection_percent: 100\n  interval: 1s\n  base_ejection_time: 300s\n";
  harness::ProxyOptions o;
  o.bootstrap_yaml = itest::bootstrapYaml(
      {itest::httpListenerYaml({.name = "ingress", .virtual_hosts = vhosts})},
      {itest::clusterYaml({.endpoints = {echo->address()}}),
       itest::clusterYaml({.name = "dead", .endpoints = dead_endpoints, .connect_timeout = "0.5s", .extra = outlier})});
  const std::string stats_file = dir.file("stats-address");
  o.extra_args = {"--stats-address", "127.0.0.1:0", "--stats-address-path", stats_file};
  auto p = harness::ProxyProcess::start(o);
  INFO((p ? std::string() : p.error().message));
  REQUIRE(p);
  proxy = std::move(*p);
  auto a = proxy->listenerAddress("ingress");
  REQUIRE(a);
  listener = *a;
  auto s = harness::waitForFile(stats_file, 10s);
  INFO(proxy->logs());
  REQUIRE(s);
  scrape_address = *s;
  while (!scrape_address.empty() && std::isspace(static_cast<unsigned char>(scrape_address.back()))) {
    scrape_address.pop_back();
  }
  REQUIRE(!scrape_address.empty());
}

harness::HttpResponse MeshFixture::admin(const std::string& path, const std::string& method) {
  auto r = proxy->admin(method, path);
  INFO(method << " " << path << ": " << (r ? "" : r.error().message) << proxy->logs());
  REQUIRE(r);
  return *r;
}

harness::HttpResponse MeshFixture::send(const std::string& authority, const std::string& path) {
  harness::HttpRequest req;
  req.path = path;
  req.host = authority;
  auto r = harness::httpRequest(listener, req);
  INFO(authority << path << ": " << (r ? "" : r.error().message));
  REQUIRE(r);
  return *r;
}

size_t MeshFixture::sendMany(const std::string& path_prefix, size_t count) {
  // --connect-to keeps the URL's host (the authority) while dialing the listener.
  const std::string url = "http://shop.local" + path_prefix + "[1-" + std::to_string(count) + "]";
  auto r = harness::run({"curl", "-sS", "--max-time", "120", "--connect-to", "shop.local:80:" + listener, "-o",
                         "/dev/null", "-w", "%{http_code}\\n", url},
                        150s);
  INFO(r.describe().substr(0, 2000));
  REQUIRE(r.exit_code == 0);
  size_t ok = 0;
  std::istringstream in(r.stdout_text);
  std::string line;
  while (std::getline(in, line)) ok += line == "200" ? 1 : 0;
  return ok;
}

void MeshFixture::checkCleanExit() {
  auto code = proxy->stop();
  const std::string logs = proxy->logs();
  INFO(logs);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(logs.find("ERROR: AddressSanitizer") == std::string::npos);
  CHECK(logs.find("runtime error:") == std::string::npos);
}

}  // namespace remora::obstest
