#include "control-plane/ca/token_store.h"

#include <catch2/catch.hpp>

#include "control-plane/store/sqlite/sqlite_store.h"
#include "tests/integration/harness/temp_dir.h"

namespace remora::cp::ca {
namespace {

using Outcome = TokenCheck::Outcome;

struct Fixture {
  harness::TempDir dir{"token-test"};
  std::unique_ptr<store::Store> store = store::openSqliteStore(dir.file("remora.db")).value();
  int64_t now_ms = 1'800'000'000'000;
  TokenStore tokens{*store, [this] { return now_ms; }};
};

TEST_CASE("a created token verifies as its identity and only its hash is stored", "[ca]") {
  Fixture f;
  auto created = f.tokens.create("shop", "checkout", std::chrono::hours(1));
  REQUIRE(created);
  CHECK(created->token.starts_with("rmt_"));
  CHECK(created->token.size() == 4 + 43);
  auto stored = f.store->list(kJoinTokenKind, "");
  REQUIRE(stored);
  REQUIRE(stored->size() == 1);
  CHECK((*stored)[0].spec_json.find(created->token.substr(4)) == std::string::npos);

  auto check = f.tokens.verify(created->token);
  REQUIRE(check);
  CHECK(check->outcome == Outcome::kValid);
  CHECK(check->info.namespace_ == "shop");
  CHECK(check->info.service_account == "checkout");
  CHECK(check->info.uses == 1);
  auto listed = f.tokens.list();
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].id == created->info.id);
  CHECK((*listed)[0].uses == 1);
  CHECK((*listed)[0].last_used_unix_ms == f.now_ms);
}

TEST_CASE("an expired token is refused as expired, an unknown one as unknown", "[ca]") {
  Fixture f;
  auto created = f.tokens.create("default", "web", std::chrono::seconds(60));
  REQUIRE(created);
  f.now_ms += 60'000;
  CHECK(f.tokens.verify(created->token)->outcome == Outcome::kExpired);
  std::string other = created->token;
  other[10] = other[10] == 'A' ? 'B' : 'A';
  CHECK(f.tokens.verify(other)->outcome == Outcome::kUnknown);
  CHECK(f.tokens.verify("Bearer nonsense")->outcome == Outcome::kMalformed);
}

TEST_CASE("a deleted token no longer verifies", "[ca]") {
  Fixture f;
  auto created = f.tokens.create("default", "web", std::chrono::hours(1));
  REQUIRE(created);
  REQUIRE(f.tokens.remove(created->info.id));
  CHECK(f.tokens.verify(created->token)->outcome == Outcome::kUnknown);
  CHECK(f.tokens.remove(created->info.id).code() == base::Error::kNotFound);
}

TEST_CASE("tokens for malformed identities or lifetimes are not created", "[ca]") {
  Fixture f;
  CHECK(f.tokens.create("", "web", std::chrono::hours(1)).error().code == base::Error::kInvalidArgument);
  CHECK(f.tokens.create("default", "a/b", std::chrono::hours(1)).error().code == base::Error::kInvalidArgument);
  CHECK(f.tokens.create("default", "web", std::chrono::seconds(0)).error().code == base::Error::kInvalidArgument);
  CHECK(isInternalKind("JoinToken"));
  CHECK_FALSE(isInternalKind("Service"));
}

}  // namespace
}  // namespace remora::cp::ca
