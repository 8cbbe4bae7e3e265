// remoractl's identity commands (docs/remoractl.md): join tokens, the
// workloads' certificates and the mesh CA. Each is a function of the API
// transport, like commands.h, so the tests drive them with a fake.
//
//   token create --namespace N --service-account S [--ttl 24h]  prints the token only
//   token list [-o table|json|yaml] | token delete ID
//   identity [-o table|json|yaml]
//   ca status [-o ...] | ca rotate prepare|activate|finish
//
// Main thread of remoractl.
#pragma once

#include <string>

#include "control-plane/cli/commands.h"

namespace remora::cli {

// Only the token and a newline on stdout, so TOKEN=$(remoractl token create ...) works.
int runTokenCreate(ApiTransport& api, const std::string& namespace_, const std::string& service_account,
                   const std::string& ttl, CommandOutput& output);
int runTokenList(ApiTransport& api, OutputFormat format, TimePoint now, CommandOutput& output);
int runTokenDelete(ApiTransport& api, const std::string& id, CommandOutput& output);
int runIdentity(ApiTransport& api, OutputFormat format, TimePoint now, CommandOutput& output);
int runCaStatus(ApiTransport& api, OutputFormat format, TimePoint now, CommandOutput& output);
// Prints "ca rotation: PHASE done" and the roots table.
int runCaRotate(ApiTransport& api, const std::string& phase, TimePoint now, CommandOutput& output);

}  // namespace remora::cli
