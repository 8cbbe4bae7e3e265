#include "control-plane/store/sqlite/sqlite_store.h"

#include <atomic>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/integration/harness/temp_dir.h"

using remora::base::Error;
using remora::cp::store::Change;
using remora::cp::store::ObjectKey;
using remora::cp::store::StoredObject;
using remora::cp::store::Write;
using remora::cp::store::sqlite::SqliteStore;
using remora::cp::store::sqlite::SqliteStoreOptions;
using remora::harness::TempDir;

namespace {

const ObjectKey kReviews{"Service", "default", "reviews"};
const ObjectKey kRatings{"Service", "default", "ratings"};

// A store with a fake clock (starts at 1000 ms, +1 per reading) and uids
// "uid-1", "uid-2", ...
struct StoreRig {
  TempDir dir{"remora-store"};
  std::shared_ptr<std::atomic<int64_t>> clock = std::make_shared<std::atomic<int64_t>>(1000);
  std::shared_ptr<std::atomic<int>> uids = std::make_shared<std::atomic<int>>(0);

  SqliteStoreOptions options() const {
    SqliteStoreOptions options;
    options.now_unix_ms = [clock = clock] { return clock->fetch_add(1); };
    options.new_uid = [uids = uids] { return "uid-" + std::to_string(uids->fetch_add(1) + 1); };
    return options;
  }
  std::string path() const { return dir.file("store.db"); }
  std::unique_ptr<SqliteStore> open() const {
    auto store = SqliteStore::open(path(), options());
    INFO((store ? "" : store.error().message));
    REQUIRE(store);
    return std::move(*store);
  }
};

}  // namespace

TEST_CASE("a created object reads back with its version, uid and timestamps", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  CHECK(store->revision() == 0);
  auto created = store->create(kReviews, R"({"ports":[9080]})");
  REQUIRE(created);
  CHECK(created->resource_version == 1);
  CHECK(created->uid == "uid-1");
  CHECK(created->created_unix_ms == 1000);
  CHECK(created->updated_unix_ms == 1000);
  CHECK(store->revision() == 1);

  auto got = store->get(kReviews);
  REQUIRE(got);
  CHECK(got->key == kReviews);
  CHECK(got->spec_json == R"({"ports":[9080]})");
  CHECK(got->resource_version == 1);
  CHECK(got->uid == "uid-1");
}

TEST_CASE("creating an existing object fails with already exists", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  REQUIRE(store->create(kReviews, "{}"));
  auto again = store->create(kReviews, "{}");
  REQUIRE_FALSE(again);
  CHECK(again.error().code == Error::kAlreadyExists);
  CHECK(again.error().message == "Service default/reviews already exists");
  CHECK(store->revision() == 1);
}

TEST_CASE("a put with the current version updates and keeps uid and creation time", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  REQUIRE(store->create(kReviews, "{}"));
  auto updated = store->put(kReviews, R"({"v":2})", 1);
  REQUIRE(updated);
  CHECK(updated->resource_version == 2);
  CHECK(updated->uid == "uid-1");
  CHECK(updated->created_unix_ms == 1000);
  CHECK(updated->updated_unix_ms == 1001);
  CHECK(store->get(kReviews)->spec_json == R"({"v":2})");
}

TEST_CASE("a put with a stale version is a conflict that names both versions", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  REQUIRE(store->create(kReviews, "{}"));
  REQUIRE(store->create(kRatings, "{}"));                  // revision 2
  REQUIRE(store->put(kReviews, R"({"v":2})", 1));           // revision 3
  REQUIRE(store->put(kReviews, R"({"v":3})", 3));           // revision 4
  auto stale = store->put(kReviews, R"({"v":"lost"})", 3);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().code == Error::kConflict);
  CHECK(stale.error().message == "Service default/reviews: resource version 3 is stale (current 4)");
  CHECK(store->get(kReviews)->spec_json == R"({"v":3})");
}

TEST_CASE("an unconditional put creates a missing object", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  auto put = store->put(kReviews, "{}", 0);
  REQUIRE(put);
  CHECK(put->resource_version == 1);
  CHECK(put->uid == "uid-1");
  CHECK(store->get(kReviews));
}

TEST_CASE("a conditional put of a missing object is not found", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  auto put = store->put(kReviews, "{}", 7);
  REQUIRE_FALSE(put);
  CHECK(put.error().code == Error::kNotFound);
  CHECK_FALSE(store->get(kReviews));
}

TEST_CASE("a put of an unchanged spec keeps the version and logs nothing", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  REQUIRE(store->create(kReviews, R"({"a":1})"));
  auto same = store->put(kReviews, R"({"a":1})", 0);
  REQUIRE(same);
  CHECK(same->resource_version == 1);
  CHECK(store->revision() == 1);
  CHECK(store->changesSince(0)->size() == 1);
}

TEST_CASE("getting a missing object is not found", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  auto got = store->get(kReviews);
  REQUIRE_FALSE(got);
  CHECK(got.error().code == Error::kNotFound);
  CHECK(got.error().message == "Service default/reviews not found");
}

TEST_CASE("a key without kind or name is invalid", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  CHECK(store->create(ObjectKey{"", "default", "x"}, "{}").error().code == Error::kInvalidArgument);
  CHECK(store->create(ObjectKey{"Service", "default", ""}, "{}").error().code == Error::kInvalidArgument);
  CHECK(store->revision() == 0);
}

TEST_CASE("remove deletes with the right version and refuses a stale one", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  REQUIRE(store->create(kReviews, "{}"));
  auto stale = store->remove(kReviews, 5);
  REQUIRE_FALSE(stale);
  CHECK(stale.code() == Error::kConflict);
  REQUIRE(store->remove(kReviews, 1));
  CHECK(store->get(kReviews).error().code == Error::kNotFound);
  CHECK(store->remove(kReviews, 0).code() == Error::kNotFound);
  CHECK(store->revision() == 2);
  // A re-created object is a new object: new uid, new version.
  auto again = store->create(kReviews, "{}");
  REQUIRE(again);
  CHECK(again->uid == "uid-2");
  CHECK(again->resource_version == 3);
}

TEST_CASE("list filters by kind and namespace and orders by key", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  REQUIRE(store->create({"Service", "prod", "b"}, "{}"));
  REQUIRE(store->create({"Service", "default", "z"}, "{}"));
  REQUIRE(store->create({"Service", "default", "a"}, "{}"));
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
        std::vector<std::string>{"Endpoint:default/a-1", "Service:default/a", "Service:default/z"});
  CHECK(store->list("", "")->size() == 5);
  CHECK(store->list("Policy", "")->empty());
}

TEST_CASE("two writers with the same version: one wins, the other conflicts", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  REQUIRE(store->create(kReviews, "{}"));
  std::atomic<int> wins{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> writers;
  for (int i = 0; i < 2; ++i) {
    writers.emplace_back([&, i] {
      auto result = store->put(kReviews, R"({"writer":)" + std::to_string(i) + "}", 1);
      if (result) {
        ++wins;
      } else if (result.error().code == Error::kConflict) {
        ++conflicts;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  CHECK(wins == 1);
  CHECK(conflicts == 1);
  CHECK(store->get(kReviews)->resource_version == 2);
}

TEST_CASE("a transaction applies every write with consecutive revisions", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  REQUIRE(store->create(kRatings, "{}"));
  REQUIRE(store->transaction({
      {Write::Type::kCreate, kReviews, R"({"a":1})", 0},
      {Write::Type::kPut, kReviews, R"({"a":2})", 2},  // sees the create above
      {Write::Type::kDelete, kRatings, "", 1},
  }));
  CHECK(store->revision() == 4);
  CHECK(store->get(kReviews)->spec_json == R"({"a":2})");
  CHECK(store->get(kReviews)->resource_version == 3);
  CHECK_FALSE(store->get(kRatings));
}

TEST_CASE("a transaction with one conflicting write changes nothing", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  REQUIRE(store->create(kRatings, "{}"));
  std::vector<Change> seen;
  store->watch([&](const Change& change) { seen.push_back(change); });
  auto status = store->transaction({
      {Write::Type::kCreate, kReviews, "{}", 0},
      {Write::Type::kPut, kRatings, R"({"x":1})", 9},
  });
  REQUIRE_FALSE(status);
  CHECK(status.code() == Error::kConflict);
  CHECK(status.message() == "writes[1]: Service default/ratings: resource version 9 is stale (current 1)");
  CHECK_FALSE(store->get(kReviews));
  CHECK(store->get(kRatings)->spec_json == "{}");
  CHECK(store->revision() == 1);
  CHECK(store->changesSince(0)->size() == 1);
  CHECK(seen.empty());
  // The counter was rolled back too: the next write takes revision 2.
  CHECK(store->create(kReviews, "{}")->resource_version == 2);
}

TEST_CASE("changesSince returns puts and deletes after a revision in order", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  REQUIRE(store->create(kReviews, R"({"a":1})"));  // 1
  REQUIRE(store->put(kReviews, R"({"a":2})", 1));   // 2
  REQUIRE(store->create(kRatings, "{}"));           // 3
  REQUIRE(store->remove(kReviews, 2));              // 4

  auto all = store->changesSince(0);
  REQUIRE(all);
  REQUIRE(all->size() == 4);
  CHECK((*all)[0].revision == 1);
  CHECK((*all)[0].type == Change::Type::kPut);
  CHECK((*all)[3].type == Change::Type::kDelete);
  CHECK((*all)[3].revision == 4);
  // A delete carries the object as it was before it went.
  CHECK((*all)[3].object.key == kReviews);
  CHECK((*all)[3].object.spec_json == R"({"a":2})");
  CHECK((*all)[3].object.resource_version == 2);

  auto tail = store->changesSince(2);
  REQUIRE(tail);
  REQUIRE(tail->size() == 2);
  CHECK((*tail)[0].object.key == kRatings);
  CHECK((*tail)[0].object.resource_version == 3);
  CHECK(store->changesSince(4)->empty());
}

TEST_CASE("watchers are called after commit, once per change, and may read the store", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  std::vector<uint64_t> revisions;
  std::vector<std::string> specs_seen_in_store;
  store->watch([&](const Change& change) {
    revisions.push_back(change.revision);
    // Committed already: a read from inside the callback sees the write.
    auto now = store->get(change.object.key);
    specs_seen_in_store.push_back(now ? now->spec_json : "<gone>");
  });
  REQUIRE(store->create(kReviews, R"({"a":1})"));
  REQUIRE(store->transaction({{Write::Type::kPut, kReviews, R"({"a":2})", 1},
                              {Write::Type::kDelete, kReviews, "", 0}}));
  CHECK(revisions == std::vector<uint64_t>{1, 2, 3});
  CHECK(specs_seen_in_store == std::vector<std::string>{R"({"a":1})", "<gone>", "<gone>"});
  // A failed write commits nothing, so it notifies nothing.
  CHECK_FALSE(store->remove(kReviews, 0));
  CHECK(revisions.size() == 3);
}

TEST_CASE("watchers see concurrent writers' changes in revision order", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = rig.open();
  std::mutex seen_mutex;
  std::vector<uint64_t> seen;
  store->watch([&](const Change& change) {
    std::lock_guard lock(seen_mutex);
    seen.push_back(change.revision);
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        REQUIRE(store->create({"Service", "t" + std::to_string(t), std::to_string(i)}, "{}"));
      }
    });
  }
  for (auto& writer : writers) writer.join();
  REQUIRE(seen.size() == 40);
  for (size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i + 1);
}

TEST_CASE("reopening a store keeps objects, uids and the revision counter", "[cp][store][sqlite]") {
  StoreRig rig;
  {
    auto store = rig.open();
    REQUIRE(store->create(kReviews, R"({"a":1})"));
    REQUIRE(store->create(kRatings, "{}"));
    REQUIRE(store->remove(kRatings, 0));
  }
  auto store = rig.open();
  CHECK(store->revision() == 3);
  auto got = store->get(kReviews);
  REQUIRE(got);
  CHECK(got->spec_json == R"({"a":1})");
  CHECK(got->uid == "uid-1");
  CHECK(store->changesSince(0)->size() == 3);
  CHECK(store->put(kReviews, "{}", 1)->resource_version == 4);
  CHECK(store->checkIntegrity());
}

TEST_CASE("a file that is not a database is refused and left untouched", "[cp][store][sqlite]") {
  StoreRig rig;
  const std::string garbage(8192, 'x');
  {
    std::ofstream out(rig.path(), std::ios::binary);
    out << garbage;
  }
  auto store = SqliteStore::open(rig.path(), rig.options());
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Error::kIo);
  CHECK_THAT(store.error().message, Catch::Contains("file is not a database"));
  CHECK_THAT(store.error().message, Catch::Contains(rig.path()));
  std::ifstream in(rig.path(), std::ios::binary);
  const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(after == garbage);
}

TEST_CASE("a database with a damaged page is refused, not recreated", "[cp][store][sqlite]") {
  StoreRig rig;
  {
    auto store = rig.open();
    for (int i = 0; i < 200; ++i) {
      REQUIRE(store->create({"Service", "default", "svc-" + std::to_string(i)}, std::string(200, 'x')));
    }
  }
  {
    // Closing the last connection checkpointed the WAL into the main file;
    // scribble over the middle of it, past the header and schema pages.
    std::fstream file(rig.path(), std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(4096 * 3);
    const std::string scribble(4096 * 4, '\xff');
    file.write(scribble.data(), static_cast<std::streamsize>(scribble.size()));
  }
  auto store = SqliteStore::open(rig.path(), rig.options());
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Error::kIo);
  CHECK_THAT(store.error().message, Catch::Contains("the file is corrupt"));
}

TEST_CASE("openSqliteStore returns a working Store", "[cp][store][sqlite]") {
  StoreRig rig;
  auto store = remora::cp::store::openSqliteStore(rig.path());
  REQUIRE(store);
  auto created = (*store)->create(kReviews, "{}");
  REQUIRE(created);
  CHECK(created->uid.size() == 36);
  CHECK(created->uid[14] == '4');
  CHECK(created->created_unix_ms > 1'600'000'000'000);
}

namespace {

StoredObject exported(ObjectKey key, std::string spec, std::string uid, int64_t created, int64_t updated,
                      uint64_t version) {
  StoredObject object;
  object.key = std::move(key);
  object.spec_json = std::move(spec);
  object.uid = std::move(uid);
  object.created_unix_ms = created;
  object.updated_unix_ms = updated;
  object.resource_version = version;
  return object;
}

}  // namespace

TEST_CASE("restore keeps uids and timestamps and numbers the objects from the store's own counter",
          "[cp][store][sqlite][restore]") {
  StoreRig rig;
  auto store = rig.open();
  const ObjectKey token{"JoinToken", "", "0123456789abcdef"};
  REQUIRE(store->restore({exported(kReviews, R"({"a":1})", "uid-a", 5, 7, 900),
                          exported(token, R"({"hash":"x"})", "uid-t", 11, 13, 901)}));
  CHECK(store->revision() == 2);
  auto reviews = store->get(kReviews);
  REQUIRE(reviews);
  CHECK(reviews->spec_json == R"({"a":1})");
  CHECK(reviews->uid == "uid-a");
  CHECK(reviews->created_unix_ms == 5);
  CHECK(reviews->updated_unix_ms == 7);
  CHECK(reviews->resource_version == 1);
  auto restored_token = store->get(token);
  REQUIRE(restored_token);
  CHECK(restored_token->uid == "uid-t");
  CHECK(restored_token->resource_version == 2);
  CHECK(store->changesSince(0)->size() == 2);
  // Writes after the import continue the counter and compare against it.
  CHECK_FALSE(store->put(kReviews, "{}", 900));
  CHECK(store->put(kReviews, "{}", 1)->resource_version == 3);
  CHECK(rig.uids->load() == 0);  // no uid was minted
}

TEST_CASE("restore tells the watchers about every object, in order, after the commit",
          "[cp][store][sqlite][restore]") {
  StoreRig rig;
  auto store = rig.open();
  std::vector<Change> seen;
  store->watch([&](const Change& change) {
    // Delivered after the commit: the whole import is already readable.
    CHECK(store->list("", "")->size() == 2);
    seen.push_back(change);
  });
  REQUIRE(store->restore({exported(kReviews, "{}", "uid-a", 1, 1, 0), exported(kRatings, "{}", "uid-b", 2, 2, 0)}));
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].type == Change::Type::kPut);
  CHECK(seen[0].object.key == kReviews);
  CHECK(seen[0].revision == 1);
  CHECK(seen[0].object.uid == "uid-a");
  CHECK(seen[1].object.key == kRatings);
  CHECK(seen[1].revision == 2);
}

TEST_CASE("restore into a store that holds an object is a conflict and writes nothing",
          "[cp][store][sqlite][restore]") {
  StoreRig rig;
  auto store = rig.open();
  REQUIRE(store->create(kReviews, "{}"));
  int notified = 0;
  store->watch([&](const Change&) { ++notified; });
  auto refused = store->restore({exported(kRatings, "{}", "uid-b", 2, 2, 0)});
  REQUIRE_FALSE(refused);
  CHECK(refused.code() == Error::kConflict);
  CHECK_THAT(refused.message(), Catch::Contains("store is not empty: it holds 1 objects"));
  CHECK(notified == 0);
  CHECK(store->revision() == 1);
  CHECK(store->get(kRatings).error().code == Error::kNotFound);
}

TEST_CASE("a bad object in a restore names its index and leaves the store empty", "[cp][store][sqlite][restore]") {
  StoreRig rig;
  auto store = rig.open();
  SECTION("a key given twice") {
    auto refused = store->restore({exported(kReviews, "{}", "u1", 1, 1, 0), exported(kRatings, "{}", "u2", 1, 1, 0),
                                   exported(kReviews, "{}", "u3", 1, 1, 0)});
    REQUIRE_FALSE(refused);
    CHECK(refused.code() == Error::kInvalidArgument);
    CHECK(refused.message() == "objects[2]: Service default/reviews appears twice");
  }
  SECTION("an empty name") {
    auto refused = store->restore({exported(kReviews, "{}", "u1", 1, 1, 0), exported({"Service", "a", ""}, "{}", "u2", 1, 1, 0)});
    REQUIRE_FALSE(refused);
    CHECK(refused.code() == Error::kInvalidArgument);
    CHECK_THAT(refused.message(), Catch::StartsWith("objects[1]: "));
  }
  CHECK(store->revision() == 0);
  CHECK(store->list("", "")->empty());
  CHECK(store->changesSince(0)->empty());
  // The rolled-back attempt left the store importable.
  CHECK(store->restore({exported(kReviews, "{}", "u1", 1, 1, 0)}));
}

TEST_CASE("restoring nothing is a no-op", "[cp][store][sqlite][restore]") {
  StoreRig rig;
  auto store = rig.open();
  CHECK(store->restore({}));
  CHECK(store->revision() == 0);
}
