#include "proxy/capture/rule_builder.h"

#include <catch2/catch.hpp>

using remora::capture::buildRules;
using remora::capture::buildRuleSet;
using remora::capture::CaptureOptions;
using remora::capture::Cidr;
using remora::capture::Family;
using remora::capture::renderRestoreInput;

TEST_CASE("the default rule set captures all TCP both ways except the proxy and loopback", "[capture]") {
  const char* expected =
      "*nat\n"
      ":REMORA_INBOUND - [0:0]\n"
      ":REMORA_IN_REDIRECT - [0:0]\n"
      ":REMORA_OUTPUT - [0:0]\n"
      ":REMORA_REDIRECT - [0:0]\n"
      "-A PREROUTING -p tcp -j REMORA_INBOUND\n"
      "-A OUTPUT -p tcp -j REMORA_OUTPUT\n"
      "-A REMORA_INBOUND -p tcp -m tcp --dport 15006 -j RETURN\n"
      "-A REMORA_INBOUND -p tcp -m tcp --dport 15001 -j RETURN\n"
      "-A REMORA_INBOUND -p tcp -j REMORA_IN_REDIRECT\n"
      "-A REMORA_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006\n"
      "-A REMORA_OUTPUT -m owner --uid-owner 1337 -j RETURN\n"
      "-A REMORA_OUTPUT -d 127.0.0.1/32 -o lo -j RETURN\n"
      "-A REMORA_OUTPUT -j REMORA_REDIRECT\n"
      "-A REMORA_REDIRECT -p tcp -j REDIRECT --to-ports 15001\n"
      "COMMIT\n";
  CHECK(buildRules(CaptureOptions{}, Family::kIpv4) == expected);
  CHECK(buildRuleSet(CaptureOptions{}, Family::kIpv4).size() == 10);
}

TEST_CASE("the IPv6 rule set uses ::1 for loopback", "[capture]") {
  std::string v6 = buildRules(CaptureOptions{}, Family::kIpv6);
  CHECK(v6.find("-A REMORA_OUTPUT -d ::1/128 -o lo -j RETURN\n") != std::string::npos);
  CHECK(v6.find("127.0.0.1") == std::string::npos);
}

TEST_CASE("exclusions return before the redirect, in order, with the gid", "[capture]") {
  CaptureOptions o;
  o.proxy_uid = 2000;
  o.proxy_gid = 2001;
  o.outbound_port = 16001;
  o.inbound_port = 16006;
  o.exclude_inbound_ports = {15000, 16006, 15090};
  o.exclude_outbound_cidrs = {{Family::kIpv4, "169.254.169.254/32"}, {Family::kIpv6, "fd00::/8"}};
  o.exclude_outbound_ports = {22, 5432};
  auto set = buildRuleSet(o, Family::kIpv4);
  std::vector<std::string> expected = {
      "-A REMORA_INBOUND -p tcp -m tcp --dport 16006 -j RETURN",
      "-A REMORA_INBOUND -p tcp -m tcp --dport 16001 -j RETURN",
      "-A REMORA_INBOUND -p tcp -m tcp --dport 15000 -j RETURN",
      "-A REMORA_INBOUND -p tcp -m tcp --dport 15090 -j RETURN",
      "-A REMORA_INBOUND -p tcp -j REMORA_IN_REDIRECT",
      "-A REMORA_IN_REDIRECT -p tcp -j REDIRECT --to-ports 16006",
      "-A REMORA_OUTPUT -m owner --uid-owner 2000 -j RETURN",
      "-A REMORA_OUTPUT -m owner --gid-owner 2001 -j RETURN",
      "-A REMORA_OUTPUT -d 127.0.0.1/32 -o lo -j RETURN",
      "-A REMORA_OUTPUT -d 169.254.169.254/32 -j RETURN",
      "-A REMORA_OUTPUT -p tcp -m tcp --dport 22 -j RETURN",
      "-A REMORA_OUTPUT -p tcp -m tcp --dport 5432 -j RETURN",
      "-A REMORA_OUTPUT -j REMORA_REDIRECT",
      "-A REMORA_REDIRECT -p tcp -j REDIRECT --to-ports 16001",
  };
  CHECK(set.rules == expected);

  auto v6 = buildRuleSet(o, Family::kIpv6);
  CHECK(std::find(v6.rules.begin(), v6.rules.end(), "-A REMORA_OUTPUT -d fd00::/8 -j RETURN") != v6.rules.end());
  for (const std::string& rule : v6.rules) CHECK(rule.find("169.254") == std::string::npos);
}

TEST_CASE("include lists redirect only the listed ports and prefixes of the family", "[capture]") {
  CaptureOptions o;
  o.all_inbound_ports = false;
  o.inbound_ports = {9080, 9443};
  o.all_outbound_cidrs = false;
  o.outbound_cidrs = {{Family::kIpv4, "10.96.0.0/12"}, {Family::kIpv6, "fd00:10:96::/112"}};
  auto v4 = buildRuleSet(o, Family::kIpv4);
  auto has = [](const auto& rules, const std::string& rule) {
    return std::find(rules.begin(), rules.end(), rule) != rules.end();
  };
  CHECK(has(v4.rules, "-A REMORA_INBOUND -p tcp -m tcp --dport 9080 -j REMORA_IN_REDIRECT"));
  CHECK(has(v4.rules, "-A REMORA_INBOUND -p tcp -m tcp --dport 9443 -j REMORA_IN_REDIRECT"));
  CHECK_FALSE(has(v4.rules, "-A REMORA_INBOUND -p tcp -j REMORA_IN_REDIRECT"));
  CHECK(has(v4.rules, "-A REMORA_OUTPUT -d 10.96.0.0/12 -j REMORA_REDIRECT"));
  CHECK_FALSE(has(v4.rules, "-A REMORA_OUTPUT -j REMORA_REDIRECT"));
  auto v6 = buildRuleSet(o, Family::kIpv6);
  CHECK(has(v6.rules, "-A REMORA_OUTPUT -d fd00:10:96::/112 -j REMORA_REDIRECT"));
  CHECK_FALSE(has(v6.rules, "-A REMORA_OUTPUT -d 10.96.0.0/12 -j REMORA_REDIRECT"));
}

TEST_CASE("a family with no listed prefix gets no outbound redirect", "[capture]") {
  CaptureOptions o;
  o.all_outbound_cidrs = false;
  o.outbound_cidrs = {{Family::kIpv4, "10.0.0.0/8"}};
  for (const std::string& rule : buildRuleSet(o, Family::kIpv6).rules) {
    CHECK(rule.find("-j REMORA_REDIRECT") == std::string::npos);
  }
}

TEST_CASE("an empty inbound port list captures no inbound traffic", "[capture]") {
  CaptureOptions o;
  o.all_inbound_ports = false;
  for (const std::string& rule : buildRuleSet(o, Family::kIpv4).rules) {
    CHECK(rule.find("-A REMORA_INBOUND -p tcp -j") == std::string::npos);
    CHECK(rule.find("-j REMORA_IN_REDIRECT") == std::string::npos);
  }
}

TEST_CASE("rendering leaves out jumps that are already installed", "[capture]") {
  auto set = buildRuleSet(CaptureOptions{}, Family::kIpv4);
  std::string text = renderRestoreInput(set, {"-A OUTPUT -p tcp -j REMORA_OUTPUT"});
  CHECK(text.find("-A PREROUTING -p tcp -j REMORA_INBOUND\n") != std::string::npos);
  CHECK(text.find("-A OUTPUT -p tcp -j REMORA_OUTPUT\n") == std::string::npos);
  CHECK(text.find(":REMORA_OUTPUT - [0:0]\n") != std::string::npos);
}
