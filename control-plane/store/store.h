// Store: where the control plane keeps the objects operators apply (Service,
// Endpoint, TrafficPolicy, ...). The API server writes through it; the mesh
// layer reads it and rebuilds snapshots from its watch. SQLite is the
// embedded backend (store/sqlite); etcd (store/etcd) is the shared one that
// several remora-cp replicas run on.
//
// The store is generic: an object is a key and an opaque JSON spec. What a
// spec means, and whether it is valid, belongs to the mesh layer.
//
// Thread-safety: every implementation is safe to call from any thread (the
// API server's threads call it concurrently). A call returns only once its
// write is durable (an acknowledged write survives SIGKILL and power loss)
// and has been delivered to this process's watch callbacks, so a caller
// reads its own writes. A store that cannot be reached (etcd without quorum)
// answers kUnavailable and writes nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "xds/base/status.h"

namespace remora::cp::store {

// Identifies one object. `namespace_` may be "" for objects that are not
// namespaced; `kind` and `name` are never empty.
struct ObjectKey {
  std::string kind;        // e.g. "Service"
  std::string namespace_;  // e.g. "default"
  std::string name;        // e.g. "reviews"

  friend bool operator==(const ObjectKey&, const ObjectKey&) = default;
};

// How errors and logs name an object: "Service default/reviews", or
// "Service reviews" when it has no namespace.
std::string describeKey(const ObjectKey& key);

// What every backend stamps on objects unless its tests inject their own:
// wall-clock milliseconds, and a random RFC 4122 version-4 uid.
int64_t systemNowUnixMs();
std::string randomUuid();

// An object as stored. `resource_version` is the store revision of the write
// that last changed it: versions come from one counter shared by all objects
// (as etcd's do), so they are comparable across objects and kinds.
struct StoredObject {
  ObjectKey key;
  std::string spec_json;
  uint64_t resource_version = 0;
  std::string uid;  // fixed at creation; a re-created object gets a new one
  int64_t created_unix_ms = 0;
  int64_t updated_unix_ms = 0;
};

// One entry of the change log. `revision` is the store revision of this
// change. For kPut, `object` is the object after the write (so
// object.resource_version == revision); for kDelete it is the object as it
// was just before it was removed.
struct Change {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  StoredObject object;
  uint64_t revision = 0;
};

// One write inside Store::transaction(); same rules as the single calls.
struct Write {
  enum class Type { kCreate, kPut, kDelete };
  Type type = Type::kPut;
  ObjectKey key;
  std::string spec_json;          // ignored for kDelete
  uint64_t expected_version = 0;  // 0: unconditional (ignored for kCreate)
};

// Called once per change in revision order: with SQLite on the writer's
// thread after its commit; with etcd on the watch thread, for writes made by
// any replica. It may read the store but must not write to it.
using WatchCallback = std::function<void(const Change&)>;

class Store {
 public:
  virtual ~Store() = default;

  // kAlreadyExists if the key is present.
  virtual base::Result<StoredObject> create(const ObjectKey& key, std::string spec_json) = 0;
  // expected_version 0: unconditional upsert. Otherwise it must equal the
  // stored version, else kConflict (the API's 409); kNotFound if the object
  // is gone.
  virtual base::Result<StoredObject> put(const ObjectKey& key, std::string spec_json,
                                         uint64_t expected_version) = 0;
  // kNotFound if absent.
  virtual base::Result<StoredObject> get(const ObjectKey& key) = 0;
  // Objects of `kind` ("" = every kind) in `namespace_` ("" = every
  // namespace), ordered by kind, namespace, name.
  virtual base::Result<std::vector<StoredObject>> list(std::string_view kind,
                                                       std::string_view namespace_) = 0;
  // expected_version as for put(). kNotFound if absent.
  virtual base::Status remove(const ObjectKey& key, uint64_t expected_version) = 0;
  // All writes or none (remoractl apply -f with many objects). Revisions
  // grow in write order (SQLite gives each write its own; etcd gives the
  // whole transaction one); a failure names the write ("writes[2]: ...")
  // and keeps the failing write's error code.
  virtual base::Status transaction(const std::vector<Write>& writes) = 0;
  // Writes `objects` as they are (uid and timestamps kept; resource versions
  // are the store's own) into a store that holds no object: `remoractl
  // store import`, e.g. from SQLite into etcd. kConflict (409) if the
  // store already holds an object; all or nothing where the backend allows (etcd's
  // transactions are bounded, so a large import commits in batches).
  virtual base::Status restore(const std::vector<StoredObject>& objects) = 0;

  // The revision of the last committed change (0 for an empty store).
  virtual uint64_t revision() = 0;
  // Registers a callback for every change committed from now on.
  virtual void watch(WatchCallback callback) = 0;
};

}  // namespace remora::cp::store
