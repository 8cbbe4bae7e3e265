// EtcdStore: the Store backend that several remora-cp replicas share. Built
// by the control plane's composition root (EtcdStore::open or
// openEtcdStore); called from any thread.
//
// Objects live at <prefix>objects/<kind>/<namespace>/<name> (the value is a
// StoredObjectValue proto: spec, uid, timestamps); resource_version is
// etcd's mod_revision, so versions are comparable across replicas. Every
// conditional write is one etcd Txn guarded by compares, so two replicas
// writing the same version race safely: exactly one wins.
//
// One internal watch on <prefix>objects/, started at open from the revision
// of the initial read, turns etcd events into store::Change and calls every
// registered WatchCallback on the watch thread, in revision order. A write
// returns once the watch has delivered its revision (read-your-writes), or
// after request_timeout with a logged warning. The watch survives member
// failures (it resumes from the last delivered revision) and compaction (it
// re-lists and emits synthetic puts/deletes for what it missed).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "control-plane/store/etcd/etcd_client.h"
#include "control-plane/store/store.h"

namespace remora::cp::store::etcd {

struct EtcdStoreOptions {
  // Wall-clock time for created/updated stamps; tests inject a fake.
  std::function<int64_t()> now_unix_ms;
  // A new object's uid; the default is a random (version 4) UUID.
  std::function<std::string()> new_uid;
};

class EtcdStore final : public Store {
 public:
  // Connects, reads every object once and starts the watch. `prefix` is the
  // root of Remora's keys ("/remora/"; a missing trailing '/' is added).
  // kUnavailable when etcd cannot be reached within request_timeout.
  static base::Result<std::unique_ptr<EtcdStore>> open(EtcdOptions options, std::string prefix,
                                                       EtcdStoreOptions store_options = {});
  // Stops the watch (no callback runs after this returns).
  ~EtcdStore() override;

  base::Result<StoredObject> create(const ObjectKey& key, std::string spec_json) override;
  base::Result<StoredObject> put(const ObjectKey& key, std::string spec_json, uint64_t expected_version) override;
  base::Result<StoredObject> get(const ObjectKey& key) override;
  base::Result<std::vector<StoredObject>> list(std::string_view kind, std::string_view namespace_) override;
  base::Status remove(const ObjectKey& key, uint64_t expected_version) override;
  // One etcd Txn: a consistent read of every key, the writes checked in
  // order against it, then compares on every key's mod_revision and the
  // final put/delete of each key. Every write gets the Txn's one revision,
  // so an expected_version in a later write is checked against the object
  // as it was before the transaction. At most 128 distinct objects (etcd's
  // default --max-txn-ops).
  base::Status transaction(const std::vector<Write>& writes) override;
  // Batches of at most 100 objects, each guarded by create_revision == 0
  // compares: all or nothing per batch, not across batches.
  base::Status restore(const std::vector<StoredObject>& objects) override;
  uint64_t revision() override;
  void watch(WatchCallback callback) override;

  // The connection, for the replica's own leases and watches (sidecar
  // registrations, proxy status). Lives as long as the store.
  EtcdClient& client() { return *client_; }
  // The key prefix, ending in '/'.
  const std::string& prefix() const { return prefix_; }

 private:
  EtcdStore(std::unique_ptr<EtcdClient> client, std::string prefix, EtcdStoreOptions options);

  // The object at `key` as etcd has it now (nullopt when absent).
  base::Result<std::optional<StoredObject>> read(const ObjectKey& key);
  // Waits until the watch has delivered `revision` (bounded by
  // request_timeout) and records it as written.
  void awaitDelivery(int64_t revision);
  // Failures from the client, in the store's words.
  base::Failure storeFailure(const base::Failure& failure) const;
  StoredObject newObject(const ObjectKey& key, std::string spec_json);

  // Watch thread (etcd_store_watch.cc).
  void startWatch(int64_t after_revision);
  void onEvents(const std::vector<WatchEvent>& events);
  int64_t onCompacted(int64_t compact_revision);
  void deliver(const std::vector<Change>& changes, int64_t revision);

  std::unique_ptr<EtcdClient> client_;
  const std::string prefix_;
  const std::string objects_prefix_;  // <prefix>objects/
  EtcdStoreOptions options_;
  std::chrono::milliseconds request_timeout_;

  std::mutex watchers_mutex_;  // guards watchers_
  std::vector<WatchCallback> watchers_;

  std::mutex delivered_mutex_;  // guards delivered_
  std::condition_variable delivered_cv_;
  int64_t delivered_ = 0;  // the highest revision the watch has handed to the callbacks
  std::atomic<int64_t> written_{0};

  // What the watch has seen, by etcd key: diffed against a fresh list after
  // a compaction. Watch thread only (filled by open() before it starts).
  std::map<std::string, StoredObject> known_;

  std::unique_ptr<EtcdWatch> watch_;  // last: destroyed (joined) first
};

// The Store the control plane uses with --store etcd.
base::Result<std::unique_ptr<Store>> openEtcdStore(EtcdOptions options, std::string prefix = "/remora/");

}  // namespace remora::cp::store::etcd

namespace remora::cp::store {
using etcd::openEtcdStore;
}  // namespace remora::cp::store
