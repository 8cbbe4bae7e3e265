#include "proxy/capture/iptables_applier.h"

#include "proxy/capture/command_runner.h"
#include "proxy/capture/rule_builder.h"

namespace remora::capture {

namespace {

using base::Error;
using base::fail;

std::string tool(Family family, const char* suffix) {
  return std::string(family == Family::kIpv4 ? "iptables" : "ip6tables") + suffix;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

base::Status restore(Family family, const std::string& input) {
  std::string name = tool(family, "-restore");
  auto out = runCommand({name, "--noflush"}, input);
  if (!out) return out.error();
  if (out->exit_code != 0) {
    return fail(Error::kIo, name + " --noflush failed (exit " + std::to_string(out->exit_code) +
                                "): " + trimmed(out->stderr_text));
  }
  return base::Status::ok();
}

base::Result<InstalledState> installed(Family family) {
  auto save = saveNat(family);
  if (!save) return save.error();
  return readInstalledState(*save);
}

}  // namespace

base::Result<std::string> saveNat(Family family) {
  std::string name = tool(family, "-save");
  auto out = runCommand({name, "-t", "nat"}, "");
  if (!out) return out.error();
  if (out->exit_code != 0) {
    return fail(Error::kIo,
                name + " -t nat failed (exit " + std::to_string(out->exit_code) + "): " + trimmed(out->stderr_text));
  }
  return std::move(out->stdout_text);
}

base::Result<ApplyReport> applyRules(const CaptureOptions& options, Family family) {
  auto state = installed(family);
  if (!state) return state.error();
  RuleSet rules = buildRuleSet(options, family);
  auto status = restore(family, planApply(rules, *state));
  if (!status.has_value()) return status.error();
  ApplyReport report;
  report.rules = rules.size();
  for (const std::string& jump : rules.jumps) {
    for (const std::string& present : state->jumps) {
      if (present == jump) {
        ++report.jumps_kept;
        break;
      }
    }
  }
  return report;
}

base::Result<CleanupReport> removeRules(Family family) {
  auto state = installed(family);
  if (!state) return state.error();
  CleanupReport report;
  auto plan = planCleanup(*state);
  if (!plan) return report;
  auto status = restore(family, *plan);
  if (!status.has_value()) return status.error();
  report.removed_anything = true;
  report.rules = state->jumps.size() + state->chain_rules;
  report.chains = state->chains.size();
  return report;
}

base::Result<std::string> planRemoval(Family family) {
  auto state = installed(family);
  if (!state) return state.error();
  return planCleanup(*state).value_or("");
}

}  // namespace remora::capture
