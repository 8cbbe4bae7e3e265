#include "proxy/capture/init_command.h"

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "proxy/capture/iptables_applier.h"
#include "proxy/capture/rule_builder.h"

namespace remora::capture {

namespace {

constexpr const char* kPrefix = "remora-proxy init";

// Which families to touch, decided before anything changes so that
// `--ipv6 on` with a broken ip6tables fails without leaving IPv4 half done.
struct FamilyPlan {
  std::vector<Family> families;
  std::string ipv6_note;  // why IPv6 is skipped, when it is
};

base::Result<FamilyPlan> planFamilies(Ipv6Mode mode) {
  FamilyPlan plan;
  plan.families.push_back(Family::kIpv4);
  if (mode == Ipv6Mode::kOff) {
    plan.ipv6_note = "skipped (--ipv6 off)";
    return plan;
  }
  auto probe = saveNat(Family::kIpv6);
  if (probe) {
    plan.families.push_back(Family::kIpv6);
  } else if (mode == Ipv6Mode::kOn) {
    return base::fail(probe.error().code, "--ipv6 on, but ip6tables does not work here: " + probe.error().message);
  } else {
    plan.ipv6_note = "skipped, ip6tables does not work in this namespace (" + probe.error().message + ")";
  }
  return plan;
}

std::string chainList() {
  std::string text;
  for (std::string_view chain : ownChains()) text += (text.empty() ? "" : ", ") + std::string(chain);
  return text;
}

int dryRun(const CaptureOptions& options, std::FILE* out, std::FILE* err) {
  for (Family family : {Family::kIpv4, Family::kIpv6}) {
    const char* restore = family == Family::kIpv4 ? "iptables-restore" : "ip6tables-restore";
    if (family == Family::kIpv6 && options.ipv6 == Ipv6Mode::kOff) {
      std::fprintf(out, "# IPv6: skipped (--ipv6 off)\n");
      continue;
    }
    if (!options.cleanup) {
      std::fprintf(out, "# %s: %s --noflush input (dry run, nothing applied)\n%s",
                   std::string(familyName(family)).c_str(), restore, buildRules(options, family).c_str());
      continue;
    }
    // Removal depends on what is installed: reading it changes nothing.
    auto plan = planRemoval(family);
    if (!plan && family == Family::kIpv6 && options.ipv6 == Ipv6Mode::kAuto) {
      std::fprintf(out, "# IPv6: skipped, ip6tables does not work in this namespace\n");
      continue;
    }
    if (!plan) {
      std::fprintf(err, "%s: %s\n", kPrefix, plan.error().message.c_str());
      return 1;
    }
    if (plan->empty()) {
      std::fprintf(out, "# %s: nothing to remove\n", std::string(familyName(family)).c_str());
    } else {
      std::fprintf(out, "# %s: %s --noflush input (dry run, nothing removed)\n%s",
                   std::string(familyName(family)).c_str(), restore, plan->c_str());
    }
  }
  return 0;
}

int apply(const CaptureOptions& options, const FamilyPlan& plan, std::FILE* out, std::FILE* err) {
  for (Family family : plan.families) {
    auto report = applyRules(options, family);
    if (!report) {
      std::fprintf(err, "%s: %s: %s\n", kPrefix, std::string(familyName(family)).c_str(),
                   report.error().message.c_str());
      return 1;
    }
    std::fprintf(out, "%s: %s: %zu rules in table nat (chains %s)%s\n", kPrefix,
                 std::string(familyName(family)).c_str(), report->rules, chainList().c_str(),
                 report->jumps_kept > 0 ? ", replacing the ones already installed" : "");
  }
  return 0;
}

int cleanup(const FamilyPlan& plan, std::FILE* out, std::FILE* err) {
  for (Family family : plan.families) {
    auto report = removeRules(family);
    if (!report) {
      std::fprintf(err, "%s: %s: %s\n", kPrefix, std::string(familyName(family)).c_str(),
                   report.error().message.c_str());
      return 1;
    }
    if (report->removed_anything) {
      std::fprintf(out, "%s: %s: removed %zu rules and %zu chains\n", kPrefix,
                   std::string(familyName(family)).c_str(), report->rules, report->chains);
    } else {
      std::fprintf(out, "%s: %s: nothing to remove (no REMORA_* chains or jumps in table nat)\n", kPrefix,
                   std::string(familyName(family)).c_str());
    }
  }
  return 0;
}

}  // namespace

CLI::App* addInitCommand(CLI::App& app, InitFlags& flags) {
  CLI::App* cmd = app.add_subcommand("init", "program the pod's iptables capture rules (nat table), then exit");
  cmd->add_option("--proxy-uid", flags.proxy_uid, "uid of the proxy; its connections are never captured")
      ->capture_default_str();
  cmd->add_option("--proxy-gid", flags.proxy_gid, "gid of the proxy; its connections are never captured either");
  cmd->add_option("--outbound-port", flags.outbound_port, "port of the outbound listener")->capture_default_str();
  cmd->add_option("--inbound-port", flags.inbound_port, "port of the inbound listener")->capture_default_str();
  cmd->add_option("--inbound-ports", flags.inbound_ports, "'*' or P,P: inbound ports to capture ('' none)")
      ->capture_default_str();
  cmd->add_option("--exclude-inbound-ports", flags.exclude_inbound_ports, "P,P: inbound ports never captured");
  cmd->add_option("--outbound-cidrs", flags.outbound_cidrs, "'*' or CIDR,CIDR: outbound destinations to capture")
      ->capture_default_str();
  cmd->add_option("--exclude-outbound-cidrs", flags.exclude_outbound_cidrs, "CIDR,CIDR: never captured");
  cmd->add_option("--exclude-outbound-ports", flags.exclude_outbound_ports, "P,P: outbound ports never captured");
  cmd->add_option("--ipv6", flags.ipv6, "auto, on or off")->capture_default_str();
  cmd->add_flag("--dry-run", flags.dry_run, "print the iptables-restore input and change nothing");
  cmd->add_flag("--cleanup", flags.cleanup, "remove the chains and jumps init added, and nothing else");
  return cmd;
}

int runInit(const InitFlags& flags, std::FILE* out, std::FILE* err) {
  auto options = parseInitFlags(flags);
  if (!options) {
    std::fprintf(err, "%s: %s\n", kPrefix, options.error().message.c_str());
    return 2;
  }
  if (options->dry_run) return dryRun(*options, out, err);
  auto plan = planFamilies(options->ipv6);
  if (!plan) {
    std::fprintf(err, "%s: %s\n", kPrefix, plan.error().message.c_str());
    return 1;
  }
  if (!plan->ipv6_note.empty()) std::fprintf(out, "%s: IPv6: %s\n", kPrefix, plan->ipv6_note.c_str());
  return options->cleanup ? cleanup(*plan, out, err) : apply(*options, *plan, out, err);
}

}  // namespace remora::capture
