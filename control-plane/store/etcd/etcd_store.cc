#include "control-plane/store/etcd/etcd_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

#include "control-plane/store/etcd/etcd_store_codec.h"

namespace remora::cp::store::etcd {
namespace {

// A write that lost a race to another writer (no expected version, so not
// a conflict for the caller) is re-read and retried this many times.
constexpr int kMaxAttempts = 8;
// etcd's default --max-txn-ops is 128; restore stays below it.
constexpr size_t kMaxTxnOps = 128;
constexpr size_t kRestoreBatch = 100;

base::Failure notFound(const ObjectKey& key) {
  return base::fail(base::Error::kNotFound, describeKey(key) + " not found");
}

// The same rule and words as SqliteStore: 0 is unconditional.
base::Status checkVersion(const StoredObject& current, uint64_t expected) {
  if (expected == 0 || expected == current.resource_version) return base::Status::ok();
  if (current.resource_version == 0) {
    return base::fail(base::Error::kConflict, describeKey(current.key) + ": resource version " +
                                                  std::to_string(expected) +
                                                  " cannot match an object created in the same transaction");
  }
  return base::fail(base::Error::kConflict, describeKey(current.key) + ": resource version " +
                                                std::to_string(expected) + " is stale (current " +
                                                std::to_string(current.resource_version) + ")");
}

Compare unchangedSince(const std::string& path, const std::optional<StoredObject>& before) {
  if (before) {
    return Compare{path, Compare::Target::kModRevision, Compare::Result::kEqual,
                   static_cast<int64_t>(before->resource_version), ""};
  }
  return Compare{path, Compare::Target::kCreateRevision, Compare::Result::kEqual, 0, ""};
}

}  // namespace

EtcdStore::EtcdStore(std::unique_ptr<EtcdClient> client, std::string prefix, EtcdStoreOptions options)
    : client_(std::move(client)),
      prefix_(std::move(prefix)),
      objects_prefix_(prefix_ + "objects/"),
      options_(std::move(options)),
      request_timeout_(5000) {}

EtcdStore::~EtcdStore() { watch_.reset(); }

base::Result<std::unique_ptr<EtcdStore>> EtcdStore::open(EtcdOptions options, std::string prefix,
                                                         EtcdStoreOptions store_options) {
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  if (!store_options.now_unix_ms) store_options.now_unix_ms = systemNowUnixMs;
  if (!store_options.new_uid) store_options.new_uid = randomUuid;
  const auto timeout = options.request_timeout;
  auto client = EtcdClient::create(std::move(options));
  if (!client) return client.status();
  std::unique_ptr<EtcdStore> store(new EtcdStore(std::move(*client), std::move(prefix), std::move(store_options)));
  store->request_timeout_ = timeout;
  auto initial = store->client_->range(store->objects_prefix_, true);
  if (!initial) return store->storeFailure(initial.error());
  for (const KeyValue& kv : initial->kvs) {
    auto object = decodeObject(store->objects_prefix_, kv);
    if (!object) {
      spdlog::warn("etcd store: skipping {}", object.error().message);
      continue;
    }
    store->known_.emplace(kv.key, std::move(*object));
  }
  store->delivered_ = initial->revision;
  store->written_ = initial->revision;
  store->startWatch(initial->revision);
  return store;
}

base::Failure EtcdStore::storeFailure(const base::Failure& failure) const {
  if (failure.code == base::Error::kUnavailable) {
    return base::fail(failure.code, "store unavailable: " + failure.message);
  }
  return failure;
}

base::Result<std::optional<StoredObject>> EtcdStore::read(const ObjectKey& key) {
  auto range = client_->range(objectPath(objects_prefix_, key), false);
  if (!range) return storeFailure(range.error());
  if (range->kvs.empty()) return std::optional<StoredObject>();
  auto object = decodeObject(objects_prefix_, range->kvs.front());
  if (!object) return object.status();
  return std::optional<StoredObject>(std::move(*object));
}

StoredObject EtcdStore::newObject(const ObjectKey& key, std::string spec_json) {
  StoredObject object;
  object.key = key;
  object.spec_json = std::move(spec_json);
  object.uid = options_.new_uid();
  object.created_unix_ms = options_.now_unix_ms();
  object.updated_unix_ms = object.created_unix_ms;
  return object;
}

void EtcdStore::awaitDelivery(int64_t revision) {
  int64_t seen = written_.load();
  while (seen < revision && !written_.compare_exchange_weak(seen, revision)) {
  }
  std::unique_lock lock(delivered_mutex_);
  if (!delivered_cv_.wait_for(lock, request_timeout_, [&] { return delivered_ >= revision; })) {
    spdlog::warn("etcd store: revision {} was written but the watch has not delivered it after {} ms "
                 "(delivered up to {}); callers may not see their own write yet",
                 revision, request_timeout_.count(), delivered_);
  }
}

base::Result<StoredObject> EtcdStore::create(const ObjectKey& key, std::string spec_json) {
  if (auto valid = validateObjectKey(key); !valid) return valid.error();
  StoredObject object = newObject(key, std::move(spec_json));
  const std::string path = objectPath(objects_prefix_, key);
  auto result = client_->txn({unchangedSince(path, std::nullopt)},
                             {TxnOp{TxnOp::Type::kPut, path, encodeObjectValue(object), 0, false}}, {});
  if (!result) return storeFailure(result.error());
  if (!result->succeeded) return base::fail(base::Error::kAlreadyExists, describeKey(key) + " already exists");
  object.resource_version = static_cast<uint64_t>(result->revision);
  awaitDelivery(result->revision);
  return object;
}

base::Result<StoredObject> EtcdStore::put(const ObjectKey& key, std::string spec_json, uint64_t expected_version) {
  if (auto valid = validateObjectKey(key); !valid) return valid.error();
  const std::string path = objectPath(objects_prefix_, key);
  // Read, decide, then write guarded by what was read: the uid and creation
  // time must come from the stored object, and an unchanged spec must not
  // bump the version (re-applying a file would push identical config).
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto current = read(key);
    if (!current) return current.status();
    if (expected_version != 0 && !*current) {
      return base::fail(base::Error::kNotFound, describeKey(key) + " not found (expected resource version " +
                                                    std::to_string(expected_version) + ")");
    }
    if (*current) {
      if (auto fresh = checkVersion(**current, expected_version); !fresh) return fresh.error();
      if ((*current)->spec_json == spec_json) return std::move(**current);
    }
    StoredObject object = *current ? **current : newObject(key, spec_json);
    object.spec_json = spec_json;
    object.updated_unix_ms = options_.now_unix_ms();
    auto result = client_->txn({unchangedSince(path, *current)},
                               {TxnOp{TxnOp::Type::kPut, path, encodeObjectValue(object), 0, false}}, {});
    if (!result) return storeFailure(result.error());
    if (result->succeeded) {
      object.resource_version = static_cast<uint64_t>(result->revision);
      awaitDelivery(result->revision);
      return object;
    }
    // Another writer got in between: the next read tells a conflict (an
    // expected version no longer current) from a harmless race.
  }
  return base::fail(base::Error::kConflict, describeKey(key) + ": changed by other writers too often; retry");
}

base::Status EtcdStore::remove(const ObjectKey& key, uint64_t expected_version) {
  if (auto valid = validateObjectKey(key); !valid) return valid;
  const std::string path = objectPath(objects_prefix_, key);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto current = read(key);
    if (!current) return current.status();
    if (!*current) return notFound(key);
    if (auto fresh = checkVersion(**current, expected_version); !fresh) return fresh;
    auto result = client_->txn({unchangedSince(path, *current)}, {TxnOp{TxnOp::Type::kDelete, path, "", 0, false}}, {});
    if (!result) return storeFailure(result.error());
    if (result->succeeded) {
      awaitDelivery(result->revision);
      return base::Status::ok();
    }
  }
  return base::fail(base::Error::kConflict, describeKey(key) + ": changed by other writers too often; retry");
}

base::Result<StoredObject> EtcdStore::get(const ObjectKey& key) {
  auto current = read(key);
  if (!current) return current.status();
  if (!*current) return notFound(key);
  return std::move(**current);
}

base::Result<std::vector<StoredObject>> EtcdStore::list(std::string_view kind, std::string_view namespace_) {
  std::string range_prefix = objects_prefix_;
  if (!kind.empty()) {
    range_prefix += std::string(kind) + "/";
    if (!namespace_.empty()) range_prefix += std::string(namespace_) + "/";
  }
  auto range = client_->range(range_prefix, true);
  if (!range) return storeFailure(range.error());
  std::vector<StoredObject> objects;
  for (const KeyValue& kv : range->kvs) {
    auto object = decodeObject(objects_prefix_, kv);
    if (!object) continue;  // not ours; open() logged it
    if (!kind.empty() && object->key.kind != kind) continue;
    if (!namespace_.empty() && object->key.namespace_ != namespace_) continue;
    objects.push_back(std::move(*object));
  }
  // etcd orders by the whole key, where "Service-x/" sorts before
  // "Service/": order by the parts, as SqliteStore does.
  std::sort(objects.begin(), objects.end(), [](const StoredObject& a, const StoredObject& b) {
    return std::tie(a.key.kind, a.key.namespace_, a.key.name) < std::tie(b.key.kind, b.key.namespace_, b.key.name);
  });
  return objects;
}

base::Status EtcdStore::transaction(const std::vector<Write>& writes) {
  auto where = [&](size_t i) { return writes.size() == 1 ? std::string() : "writes[" + std::to_string(i) + "]: "; };
  auto failAt = [&](size_t i, const base::Failure& failure) {
    return base::fail(failure.code, where(i) + failure.message);
  };
  // One slot per distinct key, in order of first appearance.
  std::vector<std::string> paths;
  std::vector<size_t> slot_of(writes.size());
  for (size_t i = 0; i < writes.size(); ++i) {
    if (auto valid = validateObjectKey(writes[i].key); !valid) return failAt(i, valid.error());
    const std::string path = objectPath(objects_prefix_, writes[i].key);
    const auto found = std::find(paths.begin(), paths.end(), path);
    slot_of[i] = static_cast<size_t>(found - paths.begin());
    if (found == paths.end()) paths.push_back(path);
  }
  if (paths.empty()) return base::Status::ok();
  if (paths.size() > kMaxTxnOps) {
    return base::fail(base::Error::kInvalidArgument, "transaction touches " + std::to_string(paths.size()) +
                                                         " objects; etcd allows at most " +
                                                         std::to_string(kMaxTxnOps) + " in one transaction");
  }
  std::vector<TxnOp> reads;
  for (const std::string& path : paths) reads.push_back(TxnOp{TxnOp::Type::kGet, path, "", 0, false});

  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    // Every key read at one revision, so the checks below see one state.
    auto snapshot = client_->txn({}, reads, {});
    if (!snapshot) return storeFailure(snapshot.error());
    std::vector<std::optional<StoredObject>> before(paths.size());
    for (size_t s = 0; s < paths.size() && s < snapshot->gets.size(); ++s) {
      if (snapshot->gets[s].empty()) continue;
      auto object = decodeObject(objects_prefix_, snapshot->gets[s].front());
      if (!object) return object.status();
      before[s] = std::move(*object);
    }
    std::vector<std::optional<StoredObject>> after = before;
    std::vector<bool> touched(paths.size(), false);
    const int64_t now = options_.now_unix_ms();
    for (size_t i = 0; i < writes.size(); ++i) {
      const Write& write = writes[i];
      std::optional<StoredObject>& current = after[slot_of[i]];
      if (write.type == Write::Type::kDelete) {
        if (!current) return failAt(i, notFound(write.key));
        if (auto fresh = checkVersion(*current, write.expected_version); !fresh) return failAt(i, fresh.error());
        current.reset();
        touched[slot_of[i]] = true;
        continue;
      }
      if (write.type == Write::Type::kCreate && current) {
        return failAt(i, base::fail(base::Error::kAlreadyExists, describeKey(write.key) + " already exists"));
      }
      if (write.type == Write::Type::kPut && write.expected_version != 0 && !current) {
        return failAt(i, base::fail(base::Error::kNotFound, describeKey(write.key) +
                                                                " not found (expected resource version " +
                                                                std::to_string(write.expected_version) + ")"));
      }
      if (current) {
        if (auto fresh = checkVersion(*current, write.expected_version); !fresh) return failAt(i, fresh.error());
        if (current->spec_json == write.spec_json) continue;
      } else {
        current = newObject(write.key, "");
        current->created_unix_ms = now;
        current->resource_version = 0;  // created in this transaction
      }
      current->spec_json = write.spec_json;
      current->updated_unix_ms = now;
      touched[slot_of[i]] = true;
    }
    std::vector<Compare> compares;
    std::vector<TxnOp> ops;
    for (size_t s = 0; s < paths.size(); ++s) {
      compares.push_back(unchangedSince(paths[s], before[s]));
      if (!touched[s]) continue;
      if (after[s]) {
        ops.push_back(TxnOp{TxnOp::Type::kPut, paths[s], encodeObjectValue(*after[s]), 0, false});
      } else if (before[s]) {
        ops.push_back(TxnOp{TxnOp::Type::kDelete, paths[s], "", 0, false});
      }
    }
    if (ops.empty()) return base::Status::ok();
    auto result = client_->txn(compares, ops, {});
    if (!result) return storeFailure(result.error());
    if (result->succeeded) {
      awaitDelivery(result->revision);
      return base::Status::ok();
    }
    // Some key changed since the snapshot: decide again on fresh state.
  }
  return base::fail(base::Error::kConflict, "transaction: its objects were changed by other writers too often; retry");
}

base::Status EtcdStore::restore(const std::vector<StoredObject>& objects) {
  std::vector<std::string> paths;
  for (size_t i = 0; i < objects.size(); ++i) {
    const std::string where = "objects[" + std::to_string(i) + "]: ";
    if (auto valid = validateObjectKey(objects[i].key); !valid) {
      return base::fail(valid.code(), where + valid.message());
    }
    paths.push_back(objectPath(objects_prefix_, objects[i].key));
    if (std::find(paths.begin(), paths.end() - 1, paths.back()) != paths.end() - 1) {
      return base::fail(base::Error::kInvalidArgument, where + describeKey(objects[i].key) + " appears twice");
    }
  }
  auto existing = client_->range(objects_prefix_, true);
  if (!existing) return storeFailure(existing.error());
  if (!existing->kvs.empty()) {
    return base::fail(base::Error::kConflict, "store is not empty: it holds " + std::to_string(existing->kvs.size()) +
                                                  " objects; an import needs an empty store");
  }
  int64_t last_revision = 0;
  for (size_t first = 0; first < objects.size(); first += kRestoreBatch) {
    const size_t end = std::min(objects.size(), first + kRestoreBatch);
    std::vector<Compare> compares;
    std::vector<TxnOp> puts;
    for (size_t i = first; i < end; ++i) {
      // The uid and timestamps are the object's history and travel with it;
      // the version is etcd's.
      StoredObject object = objects[i];
      if (object.uid.empty()) object.uid = options_.new_uid();
      compares.push_back(unchangedSince(paths[i], std::nullopt));
      puts.push_back(TxnOp{TxnOp::Type::kPut, paths[i], encodeObjectValue(object), 0, false});
    }
    auto result = client_->txn(compares, puts, {});
    const std::string progress = first == 0 ? std::string()
                                            : " (after " + std::to_string(first) + " of " +
                                                  std::to_string(objects.size()) + " objects were imported)";
    if (!result) {
      base::Failure failure = storeFailure(result.error());
      failure.message += progress;
      return failure;
    }
    if (!result->succeeded) {
      return base::fail(base::Error::kConflict,
                        "store is not empty: another writer created objects during the import" + progress);
    }
    last_revision = result->revision;
  }
  if (last_revision != 0) awaitDelivery(last_revision);
  return base::Status::ok();
}

uint64_t EtcdStore::revision() {
  std::lock_guard lock(delivered_mutex_);
  return static_cast<uint64_t>(std::max(delivered_, written_.load()));
}

void EtcdStore::watch(WatchCallback callback) {
  std::lock_guard lock(watchers_mutex_);
  watchers_.push_back(std::move(callback));
}

base::Result<std::unique_ptr<Store>> openEtcdStore(EtcdOptions options, std::string prefix) {
  auto store = EtcdStore::open(std::move(options), std::move(prefix));
  if (!store) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace remora::cp::store::etcd
