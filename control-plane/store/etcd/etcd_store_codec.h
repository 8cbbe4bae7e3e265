// How EtcdStore lays Store objects out in etcd: the key
// <prefix>objects/<kind>/<namespace>/<name> and a StoredObjectValue proto
// (proto/remora/store/v1) as the value. Pure functions, any thread; used by
// EtcdStore and its tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "control-plane/store/etcd/etcd_client.h"
#include "control-plane/store/store.h"

namespace remora::cp::store::etcd {

// kind and name non-empty; kind and namespace without '/', since '/'
// separates the parts of the etcd key (a name may hold one: it is last).
base::Status validateObjectKey(const ObjectKey& key);

// "<objects_prefix><kind>/<namespace>/<name>"; objects_prefix ends in '/'.
std::string objectPath(std::string_view objects_prefix, const ObjectKey& key);

// The object key of an etcd key under objects_prefix; nullopt for a key
// that is not one of ours.
std::optional<ObjectKey> parseObjectPath(std::string_view objects_prefix, std::string_view path);

// The value stored for an object: spec, uid and timestamps.
std::string encodeObjectValue(const StoredObject& object);

// An object read from etcd: its resource_version is the kv's mod_revision.
// kIo when the key or value is not ours (written by something else).
base::Result<StoredObject> decodeObject(std::string_view objects_prefix, const KeyValue& kv);

// New objects' uids and times: store::randomUuid and store::systemNowUnixMs
// (control-plane/store/store.h), shared with SQLite.
using store::randomUuid;
using store::systemNowUnixMs;

}  // namespace remora::cp::store::etcd
