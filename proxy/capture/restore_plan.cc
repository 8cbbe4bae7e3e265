#include "proxy/capture/restore_plan.h"

#include <algorithm>

namespace remora::capture {

namespace {

bool isOwnChain(std::string_view name) {
  const auto& own = ownChains();
  return std::find(own.begin(), own.end(), name) != own.end();
}

// The word after "-j" (or "-g"), "" if none.
std::string_view jumpTarget(std::string_view rule) {
  for (std::string_view flag : {std::string_view(" -j "), std::string_view(" -g ")}) {
    size_t at = rule.find(flag);
    if (at == std::string_view::npos) continue;
    std::string_view rest = rule.substr(at + flag.size());
    return rest.substr(0, rest.find(' '));
  }
  return {};
}

}  // namespace

InstalledState readInstalledState(std::string_view save_output) {
  InstalledState state;
  bool in_nat = false;
  size_t start = 0;
  while (start < save_output.size()) {
    size_t end = save_output.find('\n', start);
    if (end == std::string_view::npos) end = save_output.size();
    std::string_view line = save_output.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '*') {
      in_nat = line == "*nat";
      continue;
    }
    if (!in_nat) continue;
    if (line.front() == ':') {
      std::string_view name = line.substr(1, line.find(' ') - 1);
      if (isOwnChain(name)) state.chains.emplace_back(name);
    } else if (line.rfind("-A ", 0) == 0) {
      std::string_view rest = line.substr(3);
      std::string_view chain = rest.substr(0, rest.find(' '));
      if (isOwnChain(chain)) {
        ++state.chain_rules;
      } else if (isOwnChain(jumpTarget(line))) {
        state.jumps.emplace_back(line);
      }
    }
  }
  // iptables-save lists chains sorted, which is already ownChains() order;
  // sorting by that order keeps the plans stable whatever the input.
  auto rank = [](const std::string& c) {
    const auto& own = ownChains();
    return std::find(own.begin(), own.end(), c) - own.begin();
  };
  std::sort(state.chains.begin(), state.chains.end(),
            [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  return state;
}

std::string planApply(const RuleSet& rules, const InstalledState& installed) {
  return renderRestoreInput(rules, installed.jumps);
}

std::optional<std::string> planCleanup(const InstalledState& installed) {
  if (installed.empty()) return std::nullopt;
  std::string text = "*nat\n";
  // Jumps first: a chain still referenced cannot be deleted.
  for (const std::string& jump : installed.jumps) text += "-D" + jump.substr(2) + "\n";
  // Then empty every chain before deleting any, since ours jump to each other.
  for (const std::string& chain : installed.chains) text += "-F " + chain + "\n";
  for (const std::string& chain : installed.chains) text += "-X " + chain + "\n";
  text += "COMMIT\n";
  return text;
}

}  // namespace remora::capture
