#include "control-plane/cli/kinds.h"

#include <catch2/catch.hpp>

namespace remora::cli {

TEST_CASE("every kind is found by its singular, plural, short alias and any case", "[cli][kinds]") {
  const std::pair<const char*, const char*> cases[] = {
      {"service", "Service"},
      {"services", "Service"},
      {"svc", "Service"},
      {"SVC", "Service"},
      {"Service", "Service"},
      {"endpoint", "Endpoint"},
      {"endpoints", "Endpoint"},
      {"ep", "Endpoint"},
      {"trafficpolicy", "TrafficPolicy"},
      {"trafficpolicies", "TrafficPolicy"},
      {"tp", "TrafficPolicy"},
      {"routerule", "RouteRule"},
      {"routerules", "RouteRule"},
      {"rr", "RouteRule"},
      {"authorizationpolicy", "AuthorizationPolicy"},
      {"authorizationpolicies", "AuthorizationPolicy"},
      {"authz", "AuthorizationPolicy"},
  };
  for (const auto& [argument, kind] : cases) {
    INFO(argument);
    const KindInfo* info = kindFromArgument(argument);
    REQUIRE(info != nullptr);
    CHECK(info->kind == kind);
  }
}

TEST_CASE("an unknown kind argument is not guessed", "[cli][kinds]") {
  CHECK(kindFromArgument("servic") == nullptr);
  CHECK(kindFromArgument("") == nullptr);
  CHECK(kindFromArgument("pods") == nullptr);
}

TEST_CASE("manifest kinds are matched exactly and carry their plural and schema", "[cli][kinds]") {
  const KindInfo* info = kindFromName("RouteRule");
  REQUIRE(info != nullptr);
  CHECK(info->plural == "routerules");
  CHECK(info->schema()->full_name() == "remora.mesh.v1.RouteRuleObject");
  CHECK(kindFromName("routerule") == nullptr);
  CHECK(allKinds().size() == 5);
}

TEST_CASE("the kinds help lists each kind with its alias", "[cli][kinds]") {
  const std::string help = kindArgumentsHelp();
  CHECK(help.find("service (svc)") != std::string::npos);
  CHECK(help.find("authorizationpolicy (authz)") != std::string::npos);
}

}  // namespace remora::cli
