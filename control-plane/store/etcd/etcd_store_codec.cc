#include "control-plane/store/etcd/etcd_store_codec.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <random>

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

int64_t systemNowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string randomUuid() {
  std::array<unsigned char, 16> bytes{};
  size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t n = getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    filled += static_cast<size_t>(n);
  }
  if (filled < bytes.size()) {
    // A uid only has to be unique, not secret.
    std::random_device device;
    std::mt19937_64 fallback((static_cast<uint64_t>(device()) << 32) ^ static_cast<uint64_t>(systemNowUnixMs()));
    for (auto& byte : bytes) byte = static_cast<unsigned char>(fallback());
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof(out), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
  return out;
}

}  // namespace remora::cp::store::etcd
