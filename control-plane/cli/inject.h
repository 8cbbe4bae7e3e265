// `remoractl inject -f FILE`: adds the Remora sidecar to every workload of a
// Kubernetes manifest (docs/kubernetes.md). A pure text-to-text
// transformation, so the golden tests drive it without a cluster:
//
//   Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
//   Job (spec.template) and CronJob (spec.jobTemplate.spec.template) get the
//   remora-init and remora-proxy init containers, the remora-token and
//   remora-root-ca volumes and the remora.io/injected annotation;
//   a template with remora.io/inject: "false", remora.io/injected, or
//   hostNetwork: true is left as it is; other objects pass through.
//
// The output is the objects printed again, in their order (keys sorted as
// `-o yaml` sorts them; YAML comments are not kept). Printing is a fixed
// point, so injecting the output again returns it byte for byte.
//
// Pure; any thread. main.cc calls runInject().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "control-plane/cli/commands.h"
#include "control-plane/cli/pod_settings.h"
#include "xds/base/status.h"

namespace remora::cli {

struct InjectedManifest {
  std::string text;  // every object, YAML documents separated by "---" (or JSON)
  // One line per workload, for stderr: "deployment/web injected",
  // "cronjob/report skipped (remora.io/inject: \"false\")".
  std::vector<std::string> report;
};

// Fails with kInvalidArgument and one line that names the document (counted
// from 1), its line, and the field: malformed YAML, a document that is not an
// object or has no kind, a workload without a pod template or containers, a
// bad annotation value, a container or volume name the sidecar needs.
// `source` names the input in YAML syntax errors ("-" for stdin).
base::Result<InjectedManifest> injectManifest(std::string_view text, const InjectOptions& options,
                                              std::string_view source = "-");

// inject -f FILE|-: the manifest on stdout, the report on stderr. Exit 1 for
// an unreadable or bad manifest, 2 for a bad flag value.
int runInject(const std::string& file, const InjectOptions& options, CommandOutput& output);

}  // namespace remora::cli
