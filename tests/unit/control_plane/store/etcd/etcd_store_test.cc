#include "control-plane/store/etcd/etcd_store.h"

#include <atomic>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/unit/control_plane/store/etcd/etcd_test_rig.h"

using remora::base::Error;
using remora::cp::store::Change;
using remora::cp::store::ObjectKey;
using remora::cp::store::StoredObject;
using remora::cp::store::Write;
using remora::testing::EtcdRig;
using remora::testing::eventually;

namespace {

const ObjectKey kReviews{"Service", "default", "reviews"};
const ObjectKey kRatings{"Service", "default", "ratings"};

}  // namespace

TEST_CASE("an etcd store creates an object that reads back with version, uid and timestamps", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  const uint64_t start = store->revision();
  auto created = store->create(kReviews, R"({"ports":[9080]})");
  REQUIRE(created);
  CHECK(created->resource_version > start);
  CHECK(created->uid == "uid-1");
  CHECK(created->created_unix_ms == 1000);
  CHECK(created->updated_unix_ms == 1000);
  CHECK(store->revision() == created->resource_version);

  auto got = store->get(kReviews);
  REQUIRE(got);
  CHECK(got->key == kReviews);
  CHECK(got->spec_json == R"({"ports":[9080]})");
  CHECK(got->resource_version == created->resource_version);
  CHECK(got->uid == "uid-1");
  CHECK(got->created_unix_ms == 1000);
}

TEST_CASE("an etcd store refuses to create an existing object", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  REQUIRE(store->create(kReviews, "{}"));
  auto again = store->create(kReviews, "{}");
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Error::kAlreadyExists);
  CHECK(again.error().message == "Service default/reviews already exists");
}

TEST_CASE("an etcd put with the current version updates and keeps uid and creation time", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  auto created = store->create(kReviews, "{}");
  REQUIRE(created);
  auto updated = store->put(kReviews, R"({"v":2})", created->resource_version);
  REQUIRE(updated);
  CHECK(updated->resource_version > created->resource_version);
  CHECK(updated->uid == "uid-1");
  CHECK(updated->created_unix_ms == 1000);
  CHECK(updated->updated_unix_ms > 1000);
  CHECK(store->get(kReviews)->spec_json == R"({"v":2})");
  CHECK(store->get(kReviews)->updated_unix_ms == updated->updated_unix_ms);
}

TEST_CASE("an etcd put with a stale version is a conflict that names both versions", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  auto created = store->create(kReviews, "{}");
  REQUIRE(created);
  auto updated = store->put(kReviews, R"({"v":2})", created->resource_version);
  REQUIRE(updated);
  auto stale = store->put(kReviews, R"({"v":"lost"})", created->resource_version);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().code == Error::kConflict);
  CHECK(stale.error().message == "Service default/reviews: resource version " +
                                     std::to_string(created->resource_version) + " is stale (current " +
                                     std::to_string(updated->resource_version) + ")");
  CHECK(store->get(kReviews)->spec_json == R"({"v":2})");
}

TEST_CASE("an etcd put without version upserts, and with a version a missing object is not found",
          "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  auto missing = store->put(kRatings, "{}", 7);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Error::kNotFound);
  CHECK(missing.error().message == "Service default/ratings not found (expected resource version 7)");
  auto put = store->put(kReviews, "{}", 0);
  REQUIRE(put);
  CHECK(put->uid == "uid-1");
  CHECK(store->get(kReviews));
}

TEST_CASE("an etcd put of an unchanged spec keeps the version and notifies nothing", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  auto created = store->create(kReviews, R"({"a":1})");
  REQUIRE(created);
  std::atomic<int> changes{0};
  store->watch([&](const Change&) { ++changes; });
  auto same = store->put(kReviews, R"({"a":1})", 0);
  REQUIRE(same);
  CHECK(same->resource_version == created->resource_version);
  CHECK(store->revision() == created->resource_version);
  CHECK(changes == 0);
}

TEST_CASE("an etcd get of a missing object is not found, and bad keys are invalid", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  auto got = store->get(kReviews);
  REQUIRE_FALSE(got);
  CHECK(got.error().code == Error::kNotFound);
  CHECK(got.error().message == "Service default/reviews not found");
  CHECK(store->create(ObjectKey{"", "default", "x"}, "{}").error().code == Error::kInvalidArgument);
  CHECK(store->create(ObjectKey{"Service", "default", ""}, "{}").error().code == Error::kInvalidArgument);
}

TEST_CASE("an etcd remove checks the version and a removed object is gone", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  auto created = store->create(kReviews, "{}");
  REQUIRE(created);
  auto stale = store->remove(kReviews, created->resource_version + 100);
  REQUIRE_FALSE(stale);
  CHECK(stale.code() == Error::kConflict);
  REQUIRE(store->remove(kReviews, created->resource_version));
  CHECK(store->get(kReviews).error().code == Error::kNotFound);
  auto gone = store->remove(kReviews, 0);
  CHECK(gone.code() == Error::kNotFound);
  CHECK(gone.message() == "Service default/reviews not found");
  auto again = store->create(kReviews, "{}");
  REQUIRE(again);
  CHECK(again->uid == "uid-2");
}

TEST_CASE("an etcd list filters by kind and namespace and orders by key parts", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  REQUIRE(store->create({"Service", "prod", "b"}, "{}"));
  REQUIRE(store->create({"Service", "default", "z"}, "{}"));
  REQUIRE(store->create({"Service", "default", "a"}, "{}"));
  REQUIRE(store->create({"Service-x", "default", "a"}, "{}"));  // sorts after "Service"
  REQUIRE(store->create({"Endpoint", "default", "a-1"}, "{}"));
  REQUIRE(store->create({"Mesh", "", "global"}, "{}"));
  auto names = [](const std::vector<StoredObject>& objects) {
    std::vector<std::string> out;
    for (const auto& object : objects) out.push_back(object.key.kind + ":" + object.key.namespace_ + "/" + object.key.name);
    return out;
  };
  CHECK(names(*store->list("Service", "")) ==
        std::vector<std::string>{"Service:default/a", "Service:default/z", "Service:prod/b"});
  CHECK(names(*store->list("Service", "default")) == std::vector<std::string>{"Service:default/a", "Service:default/z"});
  CHECK(names(*store->list("", "default")) ==
        std::vector<std::string>{"Endpoint:default/a-1", "Service:default/a", "Service:default/z", "Service-x:default/a"});
  CHECK(names(*store->list("", "")) ==
        std::vector<std::string>{"Endpoint:default/a-1", "Mesh:/global", "Service:default/a", "Service:default/z",
                                 "Service:prod/b", "Service-x:default/a"});
  CHECK(store->list("Policy", "")->empty());
}

TEST_CASE("an etcd transaction applies every write at one revision", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  auto ratings = store->create(kRatings, "{}");
  REQUIRE(ratings);
  std::vector<Change> seen;
  store->watch([&](const Change& change) { seen.push_back(change); });
  REQUIRE(store->transaction({
      {Write::Type::kCreate, kReviews, R"({"a":1})", 0},
      {Write::Type::kPut, kReviews, R"({"a":2})", 0},  // sees the create above
      {Write::Type::kDelete, kRatings, "", ratings->resource_version},
  }));
  auto reviews = store->get(kReviews);
  REQUIRE(reviews);
  CHECK(reviews->spec_json == R"({"a":2})");
  CHECK_FALSE(store->get(kRatings));
  // Delivered before transaction() returned, both at the Txn's revision.
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].revision == reviews->resource_version);
  CHECK(seen[1].revision == reviews->resource_version);
  CHECK(seen[1].type == Change::Type::kDelete);
  CHECK(seen[1].object.key == kRatings);
  CHECK(store->revision() == reviews->resource_version);
}

TEST_CASE("an etcd transaction with one failing write changes nothing and names it", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  auto ratings = store->create(kRatings, "{}");
  REQUIRE(ratings);
  std::atomic<int> changes{0};
  store->watch([&](const Change&) { ++changes; });
  auto status = store->transaction({
      {Write::Type::kCreate, kReviews, "{}", 0},
      {Write::Type::kPut, kRatings, R"({"x":1})", 999},
  });
  REQUIRE_FALSE(status);
  CHECK(status.code() == Error::kConflict);
  CHECK(status.message() == "writes[1]: Service default/ratings: resource version 999 is stale (current " +
                                std::to_string(ratings->resource_version) + ")");
  auto exists = store->transaction({{Write::Type::kDelete, kReviews, "", 0}, {Write::Type::kCreate, kRatings, "{}", 0}});
  CHECK(exists.code() == Error::kNotFound);
  CHECK(exists.message() == "writes[0]: Service default/reviews not found");
  CHECK_FALSE(store->get(kReviews));
  CHECK(store->get(kRatings)->spec_json == "{}");
  CHECK(store->revision() == ratings->resource_version);
  CHECK(changes == 0);
}

TEST_CASE("etcd watchers see every change once, in revision order, before the write returns",
          "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  std::mutex seen_mutex;
  std::vector<uint64_t> seen;
  store->watch([&](const Change& change) {
    std::lock_guard lock(seen_mutex);
    seen.push_back(change.revision);
  });
  std::vector<std::thread> writers;
  std::atomic<int> unseen_on_return{0};
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto created = store->create({"Service", "t" + std::to_string(t), std::to_string(i)}, "{}");
        if (!created) continue;
        std::lock_guard lock(seen_mutex);
        if (std::find(seen.begin(), seen.end(), created->resource_version) == seen.end()) ++unseen_on_return;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  CHECK(unseen_on_return == 0);
  std::lock_guard lock(seen_mutex);
  REQUIRE(seen.size() == 40);
  for (size_t i = 1; i < seen.size(); ++i) CHECK(seen[i - 1] < seen[i]);
}

TEST_CASE("an etcd delete notifies the object as it was", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  auto created = store->create(kReviews, R"({"a":1})");
  REQUIRE(created);
  std::vector<Change> seen;
  store->watch([&](const Change& change) { seen.push_back(change); });
  REQUIRE(store->remove(kReviews, 0));
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].type == Change::Type::kDelete);
  CHECK(seen[0].object.spec_json == R"({"a":1})");
  CHECK(seen[0].object.uid == "uid-1");
  CHECK(seen[0].object.resource_version == created->resource_version);
  CHECK(seen[0].revision > created->resource_version);
}

TEST_CASE("an etcd restore imports into an empty store keeping uids and timestamps", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  std::vector<StoredObject> objects;
  for (int i = 0; i < 230; ++i) {  // three batches
    StoredObject object;
    object.key = {"Service", "default", "svc-" + std::to_string(i)};
    object.spec_json = R"({"i":)" + std::to_string(i) + "}";
    object.uid = "imported-" + std::to_string(i);
    object.created_unix_ms = 100 + i;
    object.updated_unix_ms = 200 + i;
    object.resource_version = 9999;
    objects.push_back(object);
  }
  std::atomic<int> changes{0};
  store->watch([&](const Change&) { ++changes; });
  auto restored = store->restore(objects);
  INFO(restored.message());
  REQUIRE(restored);
  CHECK(changes == 230);
  auto listed = store->list("Service", "default");
  REQUIRE(listed);
  REQUIRE(listed->size() == 230);
  auto one = store->get({"Service", "default", "svc-17"});
  REQUIRE(one);
  CHECK(one->uid == "imported-17");
  CHECK(one->created_unix_ms == 117);
  CHECK(one->updated_unix_ms == 217);
  CHECK(one->spec_json == R"({"i":17})");
  CHECK(one->resource_version != 9999);

  auto refused = store->restore(objects);
  REQUIRE_FALSE(refused);
  CHECK(refused.code() == Error::kConflict);
  CHECK(refused.message() == "store is not empty: it holds 230 objects; an import needs an empty store");
}

TEST_CASE("an etcd restore refuses duplicate keys before writing anything", "[cp][store][etcd]") {
  EtcdRig rig;
  auto store = rig.open();
  StoredObject object;
  object.key = kReviews;
  object.spec_json = "{}";
  auto refused = store->restore({object, object});
  CHECK(refused.code() == Error::kInvalidArgument);
  CHECK(refused.message() == "objects[1]: Service default/reviews appears twice");
  CHECK(store->list("", "")->empty());
}

TEST_CASE("two etcd stores on one etcd see each other's writes and race safely", "[cp][store][etcd]") {
  EtcdRig rig;
  auto one = rig.open();
  auto two = rig.open();
  std::mutex seen_mutex;
  std::vector<std::string> seen_by_two;
  two->watch([&](const Change& change) {
    std::lock_guard lock(seen_mutex);
    seen_by_two.push_back(change.object.spec_json);
  });
  auto created = one->create(kReviews, R"({"from":"one"})");
  REQUIRE(created);
  CHECK(eventually([&] {
    std::lock_guard lock(seen_mutex);
    return seen_by_two.size() == 1;
  }));
  CHECK(two->get(kReviews)->spec_json == R"({"from":"one"})");

  std::atomic<int> wins{0};
  std::atomic<int> conflicts{0};
  auto race = [&](remora::cp::store::etcd::EtcdStore& store, const std::string& spec) {
    auto result = store.put(kReviews, spec, created->resource_version);
    if (result) {
      ++wins;
    } else if (result.error().code == Error::kConflict) {
      ++conflicts;
    }
  };
  std::thread a([&] { race(*one, R"({"writer":1})"); });
  std::thread b([&] { race(*two, R"({"writer":2})"); });
  a.join();
  b.join();
  CHECK(wins == 1);
  CHECK(conflicts == 1);
}

TEST_CASE("etcd stores under different prefixes do not see each other", "[cp][store][etcd]") {
  EtcdRig rig;
  auto one = rig.open("/a/");
  auto two = rig.open("/b");
  REQUIRE(one->create(kReviews, "{}"));
  CHECK_FALSE(two->get(kReviews));
  CHECK(two->list("", "")->empty());
  CHECK(two->prefix() == "/b/");
}
