// The demo mesh (examples/demo/demo.py), as the README's first command runs
// it but short and without a terminal (--quick): it must finish, exit 0,
// leave nothing running, and its summary must show the mesh doing its job:
// callers' success through every fault, an outlier ejection, retries, the
// ratings traffic shift, and traces that cross two sidecars.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"

namespace remora::harness {
namespace {

nlohmann::json readJson(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

double successRate(const nlohmann::json& stats) { return stats.at("success_rate").get<double>(); }

TEST_CASE("The demo mesh runs its whole story and the callers ride out every fault", "[demo][integration]") {
  TempDir dir("remora-demo-test");
  const std::string summary_path = dir.file("summary.json");
  const CommandResult result =
      run({python3Path(), sourcePath("examples/demo/demo.py"), "--quick", "--build", buildDir(), "--summary-json",
           summary_path},
          std::chrono::minutes(4));
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
  REQUIRE(result.stdout_text.find("demo: done") != std::string::npos);

  const nlohmann::json summary = readJson(summary_path);
  INFO(summary.dump(1));
  const auto& steps = summary.at("steps");
  REQUIRE(steps.size() == 5);

  // Every step carried traffic to both services, and callers saw success
  // through the kill, the slow instance and the failing one: retries and
  // ejection absorb them (the 1% allowance is for a loaded CI machine).
  for (const auto& step : steps) {
    INFO(step.at("title").get<std::string>());
    for (const char* service : {"catalog", "ratings"}) {
      const auto& stats = step.at("stats").at(service);
      CHECK(stats.at("requests").get<int>() > 20);
      CHECK(successRate(stats) >= 99.0);
    }
  }
  CHECK(successRate(summary.at("totals").at("catalog")) >= 99.0);
  CHECK(successRate(summary.at("totals").at("ratings")) >= 99.0);

  // The dead instance got no answer in; the failing one was retried around.
  const auto& failing = steps[3];
  CHECK(failing.at("retries").at("catalog").get<double>() > 0);
  // At least one ejection of a catalog instance, with its reason.
  REQUIRE(summary.at("ejections_total").get<double>() >= 1);
  REQUIRE_FALSE(summary.at("ejection_events").empty());
  CHECK(summary.at("ejection_events")[0].at("instance").get<std::string>().rfind("catalog-", 0) == 0);
  CHECK_FALSE(summary.at("ejection_events")[0].at("reason").get<std::string>().empty());

  // The killed instance (catalog-3) served nothing while it was down, and the
  // restarted one serves again in the next step.
  const auto& killed = steps[1].at("stats_after_first_second").at("catalog").at("served_by");
  CHECK_FALSE(killed.contains("catalog-3"));
  CHECK(steps[3].at("stats").at("catalog").at("served_by").contains("catalog-3"));

  // ratings: about 10 % to v2 before the shift, all of it after.
  const double before = summary.at("ratings_v2_share_before").get<double>();
  CHECK(before > 2.0);
  CHECK(before < 25.0);
  CHECK(summary.at("ratings_v2_share_after").get<double>() >= 99.0);

  // Traces reached the demo's collector and cross sidecars.
  const auto& traces = summary.at("traces");
  CHECK(traces.at("spans_received").get<int>() > 0);
  CHECK(traces.at("traces_with_two_sidecars").get<int>() > 0);
  CHECK(result.stdout_text.find("as the sidecars traced it") != std::string::npos);
}

TEST_CASE("The demo refuses a missing build with what to run", "[demo][integration]") {
  TempDir dir("remora-demo-test");
  const CommandResult result =
      run({python3Path(), sourcePath("examples/demo/demo.py"), "--quick", "--build", dir.file("nothing")},
          std::chrono::seconds(20));
  INFO(result.describe());
  CHECK(result.exit_code == 1);
  CHECK(result.stderr_text.find("scripts/demo.sh builds it") != std::string::npos);
}

}  // namespace
}  // namespace remora::harness
