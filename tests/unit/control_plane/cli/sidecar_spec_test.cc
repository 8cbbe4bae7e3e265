#include "control-plane/cli/sidecar_spec.h"

#include <algorithm>
#include <catch2/catch.hpp>

namespace remora::cli {
namespace {

std::vector<std::string> stringsAt(const JsonValue* list) {
  std::vector<std::string> out;
  for (const JsonValue& item : listItems(list)) out.push_back(scalarText(&item));
  return out;
}

PodSettings settings() {
  PodSettings s;
  s.service = "reviews";
  s.service_account = "reviews-sa";
  s.app_ports = {9080, 9090};
  s.labels = {"app=reviews", "version=v2"};
  return s;
}

TEST_CASE("the sidecar is a native sidecar started with the contract's flags", "[inject][sidecar]") {
  const JsonValue c = proxySidecarContainer(settings(), {});
  CHECK(scalarText(member(&c, "name")) == "remora-proxy");
  CHECK(scalarText(member(&c, "restartPolicy")) == "Always");
  CHECK(stringsAt(member(&c, "args")) ==
        std::vector<std::string>{"--control-plane", "remora-cp.remora-system.svc:15010", "--node-id",
                                 "$(POD_NAME).$(POD_NAMESPACE)", "--service", "reviews", "--namespace",
                                 "$(POD_NAMESPACE)", "--service-account", "$(SERVICE_ACCOUNT)", "--pod-ip", "$(POD_IP)",
                                 "--app-ports", "9080,9090", "--label", "app=reviews", "--label", "version=v2", "--interception", "redirect", "--ca-file",
                                 "/var/run/remora/ca/root.pem", "--token-file", "/var/run/remora/token/token"});
  std::vector<std::string> env;
  for (const JsonValue& e : listItems(member(&c, "env"))) {
    env.push_back(scalarText(member(&e, "name")) + "=" + scalarText(at(&e, {"valueFrom", "fieldRef", "fieldPath"})));
  }
  CHECK(env == std::vector<std::string>{"POD_NAME=metadata.name", "POD_NAMESPACE=metadata.namespace",
                                        "POD_IP=status.podIP", "SERVICE_ACCOUNT=spec.serviceAccountName"});
}

TEST_CASE("the sidecar runs unprivileged as the proxy uid with a read-only root", "[inject][sidecar]") {
  InjectOptions options;
  options.proxy_uid = 4242;
  const JsonValue c = proxySidecarContainer(settings(), options);
  const JsonValue* security = member(&c, "securityContext");
  CHECK(scalarText(member(security, "runAsUser")) == "4242");
  CHECK(scalarText(member(security, "runAsNonRoot")) == "true");
  CHECK(scalarText(member(security, "readOnlyRootFilesystem")) == "true");
  CHECK(scalarText(member(security, "allowPrivilegeEscalation")) == "false");
  CHECK(stringsAt(at(security, {"capabilities", "drop"})) == std::vector<std::string>{"ALL"});
  CHECK(at(security, {"capabilities", "add"}) == nullptr);
}

TEST_CASE("the app waits for the sidecar's startup probe, which asks /ready from inside the pod",
          "[inject][sidecar]") {
  const JsonValue c = proxySidecarContainer(settings(), {});
  for (const char* probe : {"startupProbe", "readinessProbe"}) {
    INFO(probe);
    CHECK(stringsAt(at(&c, {probe, "exec", "command"})) ==
          std::vector<std::string>{"remora-proxy", "wait-ready", "--timeout", "1"});
    CHECK(at(&c, {probe, "httpGet"}) == nullptr);
  }
  CHECK(at(&c, {"livenessProbe"}) == nullptr);
}

TEST_CASE("only the outbound and inbound ports are declared, never the admin port", "[inject][sidecar]") {
  const JsonValue c = proxySidecarContainer(settings(), {});
  std::vector<std::string> ports;
  for (const JsonValue& p : listItems(member(&c, "ports"))) {
    ports.push_back(scalarText(member(&p, "name")) + ":" + scalarText(member(&p, "containerPort")));
  }
  CHECK(ports == std::vector<std::string>{"remora-outbound:15001", "remora-inbound:15006"});
}

TEST_CASE("resources carry the defaults and the settings' overrides", "[inject][sidecar]") {
  PodSettings s = settings();
  CHECK(scalarText(at(&static_cast<const JsonValue&>(proxySidecarContainer(s, {})), {"resources", "requests", "cpu"})) ==
        "50m");
  s.memory_request = "300Mi";
  s.memory_limit = "300Mi";
  const JsonValue c = proxySidecarContainer(s, {});
  CHECK(scalarText(at(&c, {"resources", "requests", "memory"})) == "300Mi");
  CHECK(scalarText(at(&c, {"resources", "limits", "memory"})) == "300Mi");
  CHECK(scalarText(at(&c, {"resources", "limits", "cpu"})) == "1");
}

TEST_CASE("the capture init container has root, NET_ADMIN and NET_RAW and nothing more", "[inject][sidecar]") {
  PodSettings s = settings();
  s.exclude_outbound_cidrs = "169.254.169.254/32";
  const JsonValue c = captureInitContainer(s, {});
  CHECK(scalarText(member(&c, "name")) == "remora-init");
  CHECK(member(&c, "restartPolicy") == nullptr);  // a plain init container: runs to completion
  CHECK(stringsAt(member(&c, "args")) ==
        std::vector<std::string>{"init", "--proxy-uid", "1337", "--inbound-ports", "9080,9090",
                                 "--exclude-outbound-cidrs", "169.254.169.254/32"});
  const JsonValue* security = member(&c, "securityContext");
  CHECK(stringsAt(at(security, {"capabilities", "add"})) == std::vector<std::string>{"NET_ADMIN", "NET_RAW"});
  CHECK(stringsAt(at(security, {"capabilities", "drop"})) == std::vector<std::string>{"ALL"});
  CHECK(scalarText(member(security, "runAsUser")) == "0");
  CHECK(scalarText(member(security, "runAsNonRoot")) == "false");
  CHECK(scalarText(member(security, "privileged")) == "false");
  CHECK(scalarText(member(security, "allowPrivilegeEscalation")) == "false");
}

TEST_CASE("a pod without app ports captures no inbound port", "[inject][sidecar]") {
  PodSettings s = settings();
  s.app_ports.clear();
  const std::vector<std::string> args = stringsAt(member(&static_cast<const JsonValue&>(captureInitContainer(s, {})), "args"));
  REQUIRE(args.size() == 5);
  CHECK(args[3] == "--inbound-ports");
  CHECK(args[4].empty());
  const std::vector<std::string> proxy_args =
      stringsAt(member(&static_cast<const JsonValue&>(proxySidecarContainer(s, {})), "args"));
  CHECK(std::find(proxy_args.begin(), proxy_args.end(), "--app-ports") == proxy_args.end());
}

TEST_CASE("the token comes from the service account's Secret and the root from remora-root-ca", "[inject][sidecar]") {
  const std::vector<JsonValue> volumes = sidecarVolumes(settings());
  REQUIRE(volumes.size() == 2);
  CHECK(scalarText(member(&volumes[0], "name")) == "remora-token");
  CHECK(scalarText(at(&volumes[0], {"secret", "secretName"})) == "remora-token-reviews-sa");
  CHECK(scalarText(member(&volumes[1], "name")) == "remora-root-ca");
  CHECK(scalarText(at(&volumes[1], {"configMap", "name"})) == "remora-root-ca");
}

}  // namespace
}  // namespace remora::cli
