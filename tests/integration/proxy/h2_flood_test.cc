// remora-proxy against HTTP/2 abuse, spoken frame by frame over a raw TCP
// connection (prior knowledge, no TLS): rapid reset (CVE-2023-44487),
// CONTINUATION floods (CVE-2024-27316 family), PING and SETTINGS floods from
// a client that never reads, an HPACK bomb, and more streams than
// MAX_CONCURRENT_STREAMS. Each test checks what the wire shows (GOAWAY, its
// error code, RST_STREAM, the close), that the proxy keeps serving new
// connections, that its memory stays bounded, and the counters it exposes.
//
// Requests are encoded by hand with HPACK literals that never touch the
// dynamic table, so no encoder state has to match the proxy's; responses are
// decoded with nghttp2's HPACK inflater (the proxy Huffman-codes them).
#include <nghttp2/nghttp2.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/raw_connection.h"
#include "tests/integration/proxy/fixtures.h"

using namespace remora;
using namespace std::chrono_literals;

namespace {

constexpr uint8_t kHeaders = 0x1, kRstStream = 0x3, kSettings = 0x4, kPing = 0x6, kGoAway = 0x7,
                  kContinuation = 0x9;
constexpr uint8_t kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4, kPadded = 0x8, kPriority = 0x20;
constexpr uint32_t kProtocolError = 0x1, kRefusedStream = 0x7, kCancel = 0x8, kEnhanceYourCalm = 0xb;
constexpr uint16_t kSettingsMaxConcurrentStreams = 0x3;
const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// Sanitizer runtimes keep freed memory in quarantine and add shadow memory.
constexpr uint64_t kRssBudgetKb = 64 * 1024;
#else
constexpr uint64_t kRssBudgetKb = 20 * 1024;
#endif

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream = 0;
  std::string payload;
};

uint32_t be32(std::string_view p, size_t at) {
  return (uint32_t(uint8_t(p[at])) << 24) | (uint32_t(uint8_t(p[at + 1])) << 16) |
         (uint32_t(uint8_t(p[at + 2])) << 8) | uint32_t(uint8_t(p[at + 3]));
}

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload = {}) {
  std::string out;
  const size_t n = payload.size();
  out += {char(n >> 16), char(n >> 8), char(n), char(type), char(flags)};
  out += {char((stream >> 24) & 0x7f), char(stream >> 16), char(stream >> 8), char(stream)};
  out.append(payload);
  return out;
}

std::string rstStream(uint32_t stream, uint32_t code) {
  return frame(kRstStream, 0, stream, std::string{char(code >> 24), char(code >> 16), char(code >> 8), char(code)});
}

// An HPACK integer with an N-bit prefix (RFC 7541 5.1); `first` holds the
// representation's flag bits above the prefix.
std::string hpackInt(uint8_t first, int prefix_bits, size_t value) {
  const size_t max = (1u << prefix_bits) - 1;
  std::string out;
  if (value < max) return std::string(1, char(first | value));
  out += char(first | max);
  value -= max;
  while (value >= 128) {
    out += char((value % 128) | 0x80);
    value /= 128;
  }
  out += char(value);
  return out;
}

std::string hpackString(std::string_view s) { return hpackInt(0x00, 7, s.size()) + std::string(s); }

// "Literal header field without indexing, new name" (RFC 7541 6.2.2): the
// decoder's dynamic table is never touched.
std::string hpackLiteral(std::string_view name, std::string_view value) {
  return std::string(1, '\0') + hpackString(name) + hpackString(value);
}

std::string requestBlock(const std::string& path, const std::string& method = "GET") {
  return hpackLiteral(":method", method) + hpackLiteral(":scheme", "http") + hpackLiteral(":path", path) +
         hpackLiteral(":authority", "flood.test");
}

std::string requestFrame(uint32_t stream, const std::string& path) {
  return frame(kHeaders, kEndHeaders | kEndStream, stream, requestBlock(path));
}

// One HTTP/2 client connection: the handshake, a frame parser over whatever
// arrives, and the :status of every response decoded on the way.
class H2Client {
 public:
  explicit H2Client(harness::RawConnection conn) : conn_(std::move(conn)) {
    REQUIRE(nghttp2_hd_inflate_new(&inflater_) == 0);
  }
  ~H2Client() { nghttp2_hd_inflate_del(inflater_); }
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  // Sends the preface and an empty SETTINGS, waits for the server's
  // SETTINGS and (with `ack`) acknowledges them.
  void handshake(bool ack = true) {
    REQUIRE(conn_.send(kPreface + frame(kSettings, 0, 0)));
    REQUIRE(readUntil([](const Frame& f) { return f.type == kSettings && !(f.flags & kAck); }, 5s));
    if (ack) REQUIRE(conn_.send(frame(kSettings, kAck, 0)));
  }

  base::Status send(std::string_view bytes) { return conn_.send(bytes); }

  // Reads and parses until `stop` accepts a frame, the peer closes, or the
  // timeout passes. True when `stop` accepted one.
  bool readUntil(const std::function<bool(const Frame&)>& stop, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (size_t i = checked_; ; ) {
      for (; i < frames_.size(); ++i) {
        if (stop(frames_[i])) {
          checked_ = i + 1;
          return true;
        }
      }
      checked_ = i;
      const auto now = std::chrono::steady_clock::now();
      if (conn_.peerClosed() || now >= deadline) return false;
      in_ += conn_.readAvailable(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
      parse();
    }
  }

  // Reads until the peer closes; true when it did within the timeout.
  bool readUntilClose(std::chrono::milliseconds timeout) {
    in_ += conn_.readUntilClose(timeout);
    parse();
    return conn_.peerClosed();
  }

  const Frame* goAway() const {
    for (const Frame& f : frames_) {
      if (f.type == kGoAway) return &f;
    }
    return nullptr;
  }
  static uint32_t goAwayCode(const Frame& f) { return f.payload.size() >= 8 ? be32(f.payload, 4) : 0xffffffff; }
  static uint32_t goAwayLastStream(const Frame& f) {
    return f.payload.size() >= 8 ? be32(f.payload, 0) & 0x7fffffff : 0;
  }

  // The value of a setting in the server's first SETTINGS frame, or -1.
  int64_t serverSetting(uint16_t id) const {
    for (const Frame& f : frames_) {
      if (f.type != kSettings || (f.flags & kAck)) continue;
      for (size_t at = 0; at + 6 <= f.payload.size(); at += 6) {
        const uint16_t key = uint16_t((uint8_t(f.payload[at]) << 8) | uint8_t(f.payload[at + 1]));
        if (key == id) return be32(f.payload, at + 2);
      }
      return -1;
    }
    return -1;
  }

  // RST_STREAM error codes and response statuses received, by stream.
  const std::map<uint32_t, uint32_t>& resets() const { return resets_; }
  const std::map<uint32_t, std::string>& statuses() const { return statuses_; }
  bool peerClosed() const { return conn_.peerClosed(); }
  size_t frameCount() const { return frames_.size(); }

 private:
  void parse() {
    size_t at = 0;
    while (in_.size() - at >= 9) {
      const size_t len = (size_t(uint8_t(in_[at])) << 16) | (size_t(uint8_t(in_[at + 1])) << 8) | uint8_t(in_[at + 2]);
      if (in_.size() - at < 9 + len) break;
      Frame f;
      f.type = uint8_t(in_[at + 3]);
      f.flags = uint8_t(in_[at + 4]);
      f.stream = be32(in_, at + 5) & 0x7fffffff;
      f.payload = in_.substr(at + 9, len);
      at += 9 + len;
      onFrame(f);
      // PING and SETTINGS ACK floods can be millions of frames: keep only
      // what the tests look at.
      if (f.type == kPing || (f.type == kSettings && (f.flags & kAck))) {
        ++acks_;
        continue;
      }
      frames_.push_back(std::move(f));
    }
    in_.erase(0, at);
  }

  void onFrame(const Frame& f) {
    if (f.type == kRstStream && f.payload.size() >= 4) resets_[f.stream] = be32(f.payload, 0);
    if (f.type != kHeaders && f.type != kContinuation) return;
    std::string_view block = f.payload;
    if (f.type == kHeaders) {
      size_t pad = 0;
      if (f.flags & kPadded) {
        pad = uint8_t(block[0]);
        block.remove_prefix(1);
      }
      if (f.flags & kPriority) block.remove_prefix(5);
      block.remove_suffix(pad);
      header_stream_ = f.stream;
    }
    inflate(block, f.flags & kEndHeaders);
  }

  void inflate(std::string_view block, bool final) {
    auto* in = reinterpret_cast<const uint8_t*>(block.data());
    size_t left = block.size();
    for (;;) {
      nghttp2_nv nv;
      int flags = 0;
      const ssize_t rv = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, final ? 1 : 0);
      REQUIRE(rv >= 0);
      in += rv;
      left -= size_t(rv);
      if (flags & NGHTTP2_HD_INFLATE_EMIT) {
        const std::string name(reinterpret_cast<const char*>(nv.name), nv.namelen);
        if (name == ":status") {
          statuses_[header_stream_] = std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen);
        }
      }
      if (flags & NGHTTP2_HD_INFLATE_FINAL) {
        nghttp2_hd_inflate_end_headers(inflater_);
        return;
      }
      if (left == 0 && !(flags & NGHTTP2_HD_INFLATE_EMIT)) return;
    }
  }

  harness::RawConnection conn_;
  nghttp2_hd_inflater* inflater_ = nullptr;
  std::string in_;
  std::vector<Frame> frames_;
  size_t checked_ = 0;
  size_t acks_ = 0;
  uint32_t header_stream_ = 0;
  std::map<uint32_t, uint32_t> resets_;
  std::map<uint32_t, std::string> statuses_;
};

uint64_t rssKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return 0;
}

// A proxy with a backend route and a direct-response route "/ok".
struct FloodFixture {
  explicit FloodFixture(const std::string& hcm_extra = "") {
    auto b = harness::BackendProcess::httpEcho();
    REQUIRE(b);
    backend = std::make_unique<harness::BackendProcess>(std::move(*b));
    harness::ProxyOptions o;
    o.bootstrap_yaml = itest::bootstrapYaml(
        {itest::httpListenerYaml({.routes = "- match: { path: \"/ok\" }\n  direct_response: { status: 200, body: "
                                            "{ inline_string: \"ok\" } }\n"
                                            "- match: { prefix: \"/\" }\n  route: { cluster: backend }\n",
                                  .hcm_extra = hcm_extra})},
        {itest::clusterYaml({.endpoints = {backend->address()}})});
    auto p = harness::ProxyProcess::start(o);
    REQUIRE(p);
    proxy = std::move(*p);
    auto a = proxy->listenerAddress("ingress");
    REQUIRE(a);
    address = *a;
    // Warm up (first connection, first request) before measuring memory.
    servesNewConnection();
    rss_before_kb = rssKb(proxy->process().pid(), "VmRSS");
    peak_before_kb = rssKb(proxy->process().pid(), "VmHWM");
  }

  std::unique_ptr<H2Client> connect(bool ack = true) {
    auto c = harness::RawConnection::connect(address);
    REQUIRE(c);
    auto client = std::make_unique<H2Client>(std::move(*c));
    client->handshake(ack);
    return client;
  }

  // A fresh HTTP/2 connection from a real client still gets served.
  void servesNewConnection() {
    auto r = harness::run({"curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-o", "/dev/null", "-w",
                           "%{http_code} %{http_version}", "http://" + address + "/ok"},
                          20s);
    INFO(r.describe() << proxy->logs());
    CHECK(r.stdout_text == "200 2");
  }

  // A counter or gauge that must exist: a missing one fails the test rather
  // than reading as 0.
  uint64_t stat(const std::string& name) {
    auto v = proxy->stats(name);
    INFO(name << ": " << (v ? "" : v.error().message));
    REQUIRE(v);
    return *v;
  }

  // Memory stayed bounded, the proxy still runs and serves, and exits cleanly
  // with no sanitizer report.
  void checkSurvived() {
    const pid_t pid = proxy->process().pid();
    const uint64_t rss = rssKb(pid, "VmRSS");
    const uint64_t peak = rssKb(pid, "VmHWM");
    INFO("VmRSS " << rss_before_kb << " -> " << rss << " KiB, VmHWM " << peak_before_kb << " -> " << peak << " KiB");
    CHECK(rss < rss_before_kb + kRssBudgetKb);
    CHECK(peak < peak_before_kb + kRssBudgetKb);
    REQUIRE(proxy->process().running());
    servesNewConnection();
    auto code = proxy->stop();
    const std::string logs = proxy->logs();
    INFO(logs);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(logs.find("ERROR: AddressSanitizer") == std::string::npos);
    CHECK(logs.find("ERROR: LeakSanitizer") == std::string::npos);
    CHECK(logs.find("runtime error:") == std::string::npos);
    CHECK(logs.find("WARNING: ThreadSanitizer") == std::string::npos);
  }

  std::unique_ptr<harness::BackendProcess> backend;
  std::unique_ptr<harness::ProxyProcess> proxy;
  std::string address;
  uint64_t rss_before_kb = 0;
  uint64_t peak_before_kb = 0;
};

const char* kProtocolErrors = "remora_downstream_protocol_errors_total{listener=\"ingress\"}";

bool isGoAway(const Frame& f) { return f.type == kGoAway; }

}  // namespace

TEST_CASE("rapid reset: a client that opens and cancels streams in a tight loop gets GOAWAY ENHANCE_YOUR_CALM",
          "[integration][proxy][h2][flood]") {
  FloodFixture fx;
  auto client = fx.connect();
  // 2,000 HEADERS + RST_STREAM(CANCEL) pairs in four writes. Each request
  // goes to the upstream, as a real attack's would.
  uint32_t stream = 1;
  bool send_failed = false;
  for (int batch = 0; batch < 4 && !send_failed; ++batch) {
    std::string bytes;
    for (int i = 0; i < 500; ++i, stream += 2) {
      bytes += requestFrame(stream, "/delay/3000") + rstStream(stream, kCancel);
    }
    // Once the proxy has given up on us, a write may hit the reset.
    send_failed = !client->send(bytes);
  }
  REQUIRE(client->readUntil(isGoAway, 10s));
  const Frame* goaway = client->goAway();
  INFO("GOAWAY code " << H2Client::goAwayCode(*goaway) << fx.proxy->logs());
  CHECK((H2Client::goAwayCode(*goaway) == kEnhanceYourCalm || H2Client::goAwayCode(*goaway) == kProtocolError));
  // Far fewer than the 2,000 streams were let through before the GOAWAY.
  CHECK(H2Client::goAwayLastStream(*goaway) < 2 * 1000);
  CHECK(client->readUntilClose(10s));
  CHECK(fx.stat(kProtocolErrors) >= 1);
  CHECK(fx.stat("remora_downstream_requests_total{listener=\"ingress\"}") < 1000);
  // Every cancelled request's upstream side is released, none leak as active.
  for (int i = 0; i < 100 && fx.stat("remora_downstream_requests_active{listener=\"ingress\"}") != 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  CHECK(fx.stat("remora_downstream_requests_active{listener=\"ingress\"}") == 0);
  fx.checkSurvived();
}

TEST_CASE("a CONTINUATION flood is cut off with GOAWAY before the header block grows without bound",
          "[integration][proxy][h2][flood]") {
  FloodFixture fx;
  SECTION("thousands of empty CONTINUATION frames") {
    auto client = fx.connect();
    std::string bytes = frame(kHeaders, kEndStream, 1, requestBlock("/ok"));
    for (int i = 0; i < 10000; ++i) bytes += frame(kContinuation, 0, 1);
    (void)client->send(bytes);
    REQUIRE(client->readUntil(isGoAway, 10s));
    const uint32_t code = H2Client::goAwayCode(*client->goAway());
    INFO("GOAWAY code " << code);
    CHECK((code == kEnhanceYourCalm || code == kProtocolError));
    CHECK(client->readUntilClose(10s));
  }
  SECTION("CONTINUATION frames full of valid header fields, 16 MiB in all") {
    auto client = fx.connect();
    REQUIRE(client->send(frame(kHeaders, kEndStream, 1, requestBlock("/ok"))));
    std::string block;
    for (int i = 0; block.size() < 16000; ++i) block += hpackLiteral("x-flood-" + std::to_string(i % 50), "v");
    const std::string one = frame(kContinuation, 0, 1, block);
    std::string batch;
    for (int i = 0; i < 64; ++i) batch += one;  // 1 MiB
    for (int i = 0; i < 16; ++i) {
      if (!client->send(batch)) break;
    }
    REQUIRE(client->readUntil(isGoAway, 10s));
    const uint32_t code = H2Client::goAwayCode(*client->goAway());
    INFO("GOAWAY code " << code);
    CHECK((code == kEnhanceYourCalm || code == kProtocolError));
    CHECK(client->readUntilClose(10s));
  }
  CHECK(fx.stat(kProtocolErrors) == 1);
  CHECK(fx.stat("remora_downstream_requests_total{listener=\"ingress\"}") <= 1);
  fx.checkSurvived();
}

namespace {

// Sends `unit` over and over without reading a byte back, until the proxy
// stops taking it (a write fails) or `max_bytes` went out. The proxy must
// end the connection rather than queue a reply to each.
void floodWithoutReading(FloodFixture& fx, const std::string& unit, size_t max_bytes) {
  auto client = fx.connect();
  std::string chunk;
  while (chunk.size() < 1024 * 1024) chunk += unit;
  size_t sent = 0;
  bool failed = false;
  while (sent < max_bytes) {
    if (!client->send(chunk)) {
      failed = true;
      break;
    }
    sent += chunk.size();
  }
  INFO("sent " << sent / 1024 << " KiB before the proxy stopped reading" << fx.proxy->logs());
  CHECK(failed);
  // Our side now reads: the proxy's queued replies drain and the connection
  // ends. A GOAWAY is seen only if it was not discarded with the reset that
  // closing a socket with unread input sends.
  CHECK(client->readUntilClose(20s));
  if (const Frame* g = client->goAway()) CHECK(H2Client::goAwayCode(*g) == kEnhanceYourCalm);
  CHECK(fx.stat(kProtocolErrors) == 1);
  for (int i = 0; i < 100 && fx.stat("remora_downstream_connections_active{listener=\"ingress\"}") != 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  CHECK(fx.stat("remora_downstream_connections_active{listener=\"ingress\"}") == 0);
}

}  // namespace

TEST_CASE("a PING flood from a client that never reads ends the connection with bounded memory",
          "[integration][proxy][h2][flood]") {
  FloodFixture fx;
  floodWithoutReading(fx, frame(kPing, 0, 0, "12345678"), size_t(512) * 1024 * 1024);
  fx.checkSurvived();
}

TEST_CASE("a SETTINGS flood from a client that never reads ends the connection with bounded memory",
          "[integration][proxy][h2][flood]") {
  FloodFixture fx;
  floodWithoutReading(fx, frame(kSettings, 0, 0), size_t(512) * 1024 * 1024);
  fx.checkSurvived();
}

// Once the proxy decides to close a connection (here a PING flood: GOAWAY
// ENHANCE_YOUR_CALM) it closes "after flush". A client that let a large
// response fill the proxy's buffers and never reads again must not keep the
// connection, its socket and its buffered output: TcpConnection bounds the
// flush with a delayed-close timeout (as Envoy's delayed_close_timeout).
TEST_CASE("a flooding client that never reads is disconnected without waiting for it to read",
          "[integration][proxy][h2][flood]") {
  FloodFixture fx;
  auto client = fx.connect();
  // Windows wide open, then a huge response: the proxy fills the kernel's
  // buffers and its own output buffer, since we read nothing.
  const uint32_t big = 0x7fffffff;
  const std::string be_big{char(big >> 24), char(big >> 16), char(big >> 8), char(big)};
  const uint32_t inc = big - 65535;
  REQUIRE(client->send(frame(kSettings, 0, 0, std::string("\x00\x04", 2) + be_big) +
                       frame(0x8, 0, 0, std::string{char(inc >> 24), char(inc >> 16), char(inc >> 8), char(inc)}) +
                       requestFrame(1, "/bytes/2000000000")));
  const std::string upstream_active = "remora_upstream_requests_active{cluster=\"backend\"}";
  for (int i = 0; i < 100 && fx.stat(upstream_active) != 1; ++i) std::this_thread::sleep_for(20ms);
  std::this_thread::sleep_for(2s);  // buffers fill
  // Now a flood the proxy must refuse: 5,000 PINGs in one write.
  std::string pings;
  for (int i = 0; i < 5000; ++i) pings += frame(kPing, 0, 0, "12345678");
  (void)client->send(pings);
  for (int i = 0; i < 100 && fx.stat(kProtocolErrors) == 0; ++i) std::this_thread::sleep_for(20ms);
  REQUIRE(fx.stat(kProtocolErrors) == 1);
  // Without reading a byte, the connection must be gone within seconds.
  const std::string active = "remora_downstream_connections_active{listener=\"ingress\"}";
  for (int i = 0; i < 100 && fx.stat(active) != 0; ++i) std::this_thread::sleep_for(50ms);
  CHECK(fx.stat(active) == 0);
  CHECK(fx.stat(upstream_active) == 0);
  fx.checkSurvived();
}

TEST_CASE("an HPACK bomb far over the header size limit is refused and the proxy keeps serving",
          "[integration][proxy][h2][flood]") {
  FloodFixture fx;
  auto client = fx.connect();
  // One 4,000-byte field enters the dynamic table (incremental indexing, new
  // name), then 90 one-byte references to it (index 62): a 4.4 KB block that
  // decodes to 360 KB, six times max_request_headers_kb (60).
  std::string block = requestBlock("/ok");
  block += hpackInt(0x40, 6, 0) + hpackString("x-bomb") + hpackString(std::string(4000, 'a'));
  for (int i = 0; i < 90; ++i) block += hpackInt(0x80, 7, 62);
  REQUIRE(client->send(frame(kHeaders, kEndHeaders | kEndStream, 1, block)));
  REQUIRE(client->readUntil(
      [](const Frame& f) {
        return f.type == kGoAway || (f.stream == 1 && (f.type == kHeaders || f.type == kRstStream));
      },
      10s));
  const bool refused = client->statuses().count(1) ? client->statuses().at(1) == "431" : client->resets().count(1) > 0;
  INFO("status " << (client->statuses().count(1) ? client->statuses().at(1) : "-") << ", reset "
                 << (client->resets().count(1) ? int(client->resets().at(1)) : -1) << ", goaway "
                 << (client->goAway() ? int(H2Client::goAwayCode(*client->goAway())) : -1));
  CHECK((refused || client->goAway() != nullptr));
  if (client->goAway() == nullptr) {
    // The connection survived the stream's refusal: it still serves.
    REQUIRE(client->send(requestFrame(3, "/ok")));
    REQUIRE(client->readUntil([](const Frame& f) { return f.stream == 3 && f.type == kHeaders; }, 10s));
    CHECK(client->statuses().at(3) == "200");
  }
  fx.checkSurvived();
}

TEST_CASE("streams beyond max_concurrent_streams are refused while the others are answered",
          "[integration][proxy][h2][flood]") {
  FloodFixture fx("http2_protocol_options:\n  max_concurrent_streams: 5\n");
  SECTION("before the client acknowledges SETTINGS: REFUSED_STREAM for the excess") {
    auto client = fx.connect(/*ack=*/false);
    CHECK(client->serverSetting(kSettingsMaxConcurrentStreams) == 5);
    std::string bytes;
    for (uint32_t s = 1; s <= 19; s += 2) bytes += requestFrame(s, "/delay/1000");
    REQUIRE(client->send(bytes));
    // Ten streams: five answered after the delay, five refused at once.
    REQUIRE(client->readUntil(
        [&](const Frame&) { return client->statuses().size() + client->resets().size() >= 10; }, 15s));
    const Frame* goaway = client->goAway();
    CHECK(goaway == nullptr);
    CHECK(client->statuses().size() == 5);
    for (const auto& [s, status] : client->statuses()) CHECK(status == "200");
    CHECK(client->resets().size() == 5);
    for (const auto& [s, code] : client->resets()) {
      INFO("stream " << s);
      CHECK(code == kRefusedStream);
      CHECK(s > 9);
    }
  }
  SECTION("after the client acknowledged SETTINGS: REFUSED_STREAM or GOAWAY for the excess") {
    auto client = fx.connect(/*ack=*/true);
    CHECK(client->serverSetting(kSettingsMaxConcurrentStreams) == 5);
    // handshake() sent our ACK before these requests, so TCP ordering
    // makes the limit binding when they arrive.
    std::string bytes;
    for (uint32_t s = 1; s <= 19; s += 2) bytes += requestFrame(s, "/delay/1000");
    REQUIRE(client->send(bytes));
    client->readUntil(
        [&](const Frame& f) {
          return f.type == kGoAway || client->statuses().size() + client->resets().size() >= 10;
        },
        15s);
    if (const Frame* goaway = client->goAway()) {
      INFO("GOAWAY code " << H2Client::goAwayCode(*goaway));
      CHECK((H2Client::goAwayCode(*goaway) == kProtocolError || H2Client::goAwayCode(*goaway) == kRefusedStream ||
             H2Client::goAwayCode(*goaway) == kEnhanceYourCalm));
      CHECK(H2Client::goAwayLastStream(*goaway) <= 11);
    } else {
      CHECK(client->statuses().size() == 5);
      CHECK(client->resets().size() == 5);
      for (const auto& [s, code] : client->resets()) CHECK(code == kRefusedStream);
    }
  }
  fx.checkSurvived();
}
