#include "control-plane/store/etcd/etcd_store_codec.h"

#include <cstdio>

#include "remora/store/v1/stored_object.pb.h"

namespace remora::cp::store::etcd {

base::Status validateObjectKey(const ObjectKey& key) {
  if (key.kind.empty()) return base::fail(base::Error::kInvalidArgument, "object key: kind is empty");
  if (key.name.empty()) {
    return base::fail(base::Error::kInvalidArgument, describeKey(key) + ": name is empty");
  }
  if (key.kind.find('/') != std::string::npos) {
    return base::fail(base::Error::kInvalidArgument, describeKey(key) + ": kind must not contain '/'");
  }
  if (key.namespace_.find('/') != std::string::npos) {
    return base::fail(base::Error::kInvalidArgument, describeKey(key) + ": namespace must not contain '/'");
  }
  return base::Status::ok();
}

std::string objectPath(std::string_view objects_prefix, const ObjectKey& key) {
  std::string path(objects_prefix);
  path += key.kind;
  path += '/';
  path += key.namespace_;
  path += '/';
  path += key.name;
  return path;
}

std::optional<ObjectKey> parseObjectPath(std::string_view objects_prefix, std::string_view path) {
  if (!path.starts_with(objects_prefix)) return std::nullopt;
  path.remove_prefix(objects_prefix.size());
  const size_t first = path.find('/');
  if (first == std::string_view::npos || first == 0) return std::nullopt;
  const size_t second = path.find('/', first + 1);
  if (second == std::string_view::npos || second + 1 >= path.size()) return std::nullopt;
  ObjectKey key;
  key.kind = std::string(path.substr(0, first));
  key.namespace_ = std::string(path.substr(first + 1, second - first - 1));
  key.name = std::string(path.substr(second + 1));
  return key;
}

std::string encodeObjectValue(const StoredObject& object) {
  remora::store::v1::StoredObjectValue value;
  value.set_spec_json(object.spec_json);
  value.set_uid(object.uid);
  value.set_created_unix_ms(object.created_unix_ms);
  value.set_updated_unix_ms(object.updated_unix_ms);
  std::string out;
  value.SerializeToString(&out);
  return out;
}

base::Result<StoredObject> decodeObject(std::string_view objects_prefix, const KeyValue& kv) {
  auto key = parseObjectPath(objects_prefix, kv.key);
  if (!key) return base::fail(base::Error::kIo, "etcd key " + kv.key + " is not an object key");
  remora::store::v1::StoredObjectValue value;
  if (!value.ParseFromString(kv.value)) {
    return base::fail(base::Error::kIo, "etcd key " + kv.key + ": the value is not a stored object");
  }
  StoredObject object;
  object.key = std::move(*key);
  object.spec_json = value.spec_json();
  object.uid = value.uid();
  object.created_unix_ms = value.created_unix_ms();
  object.updated_unix_ms = value.updated_unix_ms();
  object.resource_version = static_cast<uint64_t>(kv.mod_revision);
  return object;
}

}  // namespace remora::cp::store::etcd
