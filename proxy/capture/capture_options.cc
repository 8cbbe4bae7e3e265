#include "proxy/capture/capture_options.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace remora::capture {

namespace {

using base::Error;
using base::fail;
using base::Failure;

Failure bad(std::string_view flag, std::string_view value, std::string_view why) {
  return fail(Error::kInvalidArgument,
              std::string(flag) + ": '" + std::string(value) + "' " + std::string(why));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "a,b,c"; "" (or only blanks) is no item at all, while an empty item
// between commas is kept so the caller can reject it by name.
std::vector<std::string_view> splitList(std::string_view value) {
  std::vector<std::string_view> items;
  if (trim(value).empty()) return items;
  size_t start = 0;
  while (true) {
    size_t comma = value.find(',', start);
    items.push_back(trim(value.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return items;
}

template <typename T>
std::optional<T> parseUnsigned(std::string_view s) {
  T v{};
  if (s.empty() || s.front() == '+') return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

base::Result<uint32_t> parseId(std::string_view flag, std::string_view value, std::string_view what) {
  auto id = parseUnsigned<uint32_t>(trim(value));
  // (uid_t)-1 means "no change" to the kernel's set*id calls, never a real id.
  if (!id || *id == UINT32_MAX) return bad(flag, value, std::string("is not a ") + std::string(what) + " (0..4294967294)");
  return *id;
}

// Clears the bits past `len` so the text matches iptables-save's.
void maskHostBits(unsigned char* bytes, size_t size, unsigned len) {
  for (size_t i = 0; i < size; ++i) {
    unsigned keep = len >= 8 * (i + 1) ? 8 : (len > 8 * i ? len - 8 * static_cast<unsigned>(i) : 0);
    bytes[i] &= static_cast<unsigned char>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
}

}  // namespace

base::Result<uint16_t> parsePort(std::string_view flag, std::string_view value) {
  auto port = parseUnsigned<uint32_t>(trim(value));
  if (!port || *port < 1 || *port > 65535) return bad(flag, value, "is not a port (1..65535)");
  return static_cast<uint16_t>(*port);
}

base::Result<std::vector<uint16_t>> parsePortList(std::string_view flag, std::string_view value) {
  std::vector<uint16_t> ports;
  for (std::string_view item : splitList(value)) {
    if (item.empty()) return bad(flag, value, "has an empty item (ports are comma separated)");
    auto port = parsePort(flag, item);
    if (!port) return port.error();
    if (std::find(ports.begin(), ports.end(), *port) == ports.end()) ports.push_back(*port);
  }
  return ports;
}

base::Result<Cidr> parseCidr(std::string_view flag, std::string_view value) {
  std::string_view text = trim(value);
  std::string_view addr = text;
  std::optional<unsigned> len;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    len = parseUnsigned<unsigned>(text.substr(slash + 1));
    if (!len) return bad(flag, value, "has no valid prefix length after '/'");
  }
  std::array<unsigned char, 16> bytes{};
  std::string host(addr);
  Cidr cidr;
  size_t size = 0;
  unsigned max_len = 0;
  if (::inet_pton(AF_INET, host.c_str(), bytes.data()) == 1) {
    cidr.family = Family::kIpv4;
    size = 4;
    max_len = 32;
  } else if (::inet_pton(AF_INET6, host.c_str(), bytes.data()) == 1) {
    cidr.family = Family::kIpv6;
    size = 16;
    max_len = 128;
  } else {
    return bad(flag, value, "is not an IPv4 or IPv6 CIDR (ADDR/LEN)");
  }
  unsigned prefix = len.value_or(max_len);
  if (prefix > max_len) {
    return bad(flag, value, "has a prefix length over " + std::to_string(max_len));
  }
  maskHostBits(bytes.data(), size, prefix);
  char out[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(cidr.family == Family::kIpv4 ? AF_INET : AF_INET6, bytes.data(), out, sizeof(out));
  cidr.text = std::string(out) + "/" + std::to_string(prefix);
  return cidr;
}

base::Result<std::vector<Cidr>> parseCidrList(std::string_view flag, std::string_view value) {
  std::vector<Cidr> cidrs;
  for (std::string_view item : splitList(value)) {
    if (item.empty()) return bad(flag, value, "has an empty item (CIDRs are comma separated)");
    auto cidr = parseCidr(flag, item);
    if (!cidr) return cidr.error();
    auto same = [&](const Cidr& c) { return c.text == cidr->text; };
    if (std::none_of(cidrs.begin(), cidrs.end(), same)) cidrs.push_back(std::move(*cidr));
  }
  return cidrs;
}

base::Result<CaptureOptions> parseInitFlags(const InitFlags& flags) {
  CaptureOptions o;
  auto uid = parseId("--proxy-uid", flags.proxy_uid, "uid");
  if (!uid) return uid.error();
  o.proxy_uid = *uid;
  if (!trim(flags.proxy_gid).empty()) {
    auto gid = parseId("--proxy-gid", flags.proxy_gid, "gid");
    if (!gid) return gid.error();
    o.proxy_gid = *gid;
  }
  auto outbound = parsePort("--outbound-port", flags.outbound_port);
  if (!outbound) return outbound.error();
  o.outbound_port = *outbound;
  auto inbound = parsePort("--inbound-port", flags.inbound_port);
  if (!inbound) return inbound.error();
  o.inbound_port = *inbound;
  // One port cannot be both listeners: every inbound connection would land
  // on the outbound listener (or the reverse).
  if (o.inbound_port == o.outbound_port) {
    return bad("--inbound-port", flags.inbound_port, "is also the --outbound-port; they must differ");
  }

  if (trim(flags.inbound_ports) == "*") {
    o.all_inbound_ports = true;
  } else {
    auto ports = parsePortList("--inbound-ports", flags.inbound_ports);
    if (!ports) return ports.error();
    o.all_inbound_ports = false;
    o.inbound_ports = std::move(*ports);
  }
  auto exclude_in = parsePortList("--exclude-inbound-ports", flags.exclude_inbound_ports);
  if (!exclude_in) return exclude_in.error();
  o.exclude_inbound_ports = std::move(*exclude_in);

  if (trim(flags.outbound_cidrs) == "*") {
    o.all_outbound_cidrs = true;
  } else {
    auto cidrs = parseCidrList("--outbound-cidrs", flags.outbound_cidrs);
    if (!cidrs) return cidrs.error();
    o.all_outbound_cidrs = false;
    o.outbound_cidrs = std::move(*cidrs);
  }
  auto exclude_cidrs = parseCidrList("--exclude-outbound-cidrs", flags.exclude_outbound_cidrs);
  if (!exclude_cidrs) return exclude_cidrs.error();
  o.exclude_outbound_cidrs = std::move(*exclude_cidrs);
  auto exclude_out = parsePortList("--exclude-outbound-ports", flags.exclude_outbound_ports);
  if (!exclude_out) return exclude_out.error();
  o.exclude_outbound_ports = std::move(*exclude_out);

  std::string_view ipv6 = trim(flags.ipv6);
  if (ipv6 == "auto") {
    o.ipv6 = Ipv6Mode::kAuto;
  } else if (ipv6 == "on") {
    o.ipv6 = Ipv6Mode::kOn;
  } else if (ipv6 == "off") {
    o.ipv6 = Ipv6Mode::kOff;
  } else {
    return bad("--ipv6", flags.ipv6, "is not one of auto, on, off");
  }
  o.dry_run = flags.dry_run;
  o.cleanup = flags.cleanup;
  return o;
}

}  // namespace remora::capture
