#include "control-plane/api/apply_batch.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <charconv>
#include <cmath>
#include <set>

#include "control-plane/mesh/object_codec.h"
#include "control-plane/mesh/validation.h"
#include "xds/base/json_string.h"

namespace remora::cp::api {

namespace {

namespace pb = google::protobuf;
using base::Result;

// An item without a resourceVersion is written against the version we just
// read; when another writer gets in between we read and plan again rather
// than fail the operator's apply. Items that carry a version never retry.
constexpr int kAttempts = 3;

struct Batch {
  std::vector<pb::Struct> items;
  bool single = false;  // a bare object: errors keep the object's own paths
};

// One planned item: its key, the version the caller gave (0: none), and what
// the plan decided.
struct Planned {
  store::ObjectKey key;
  std::string json;  // stored form (apply only)
  uint64_t user_version = 0;
  uint64_t version = 0;  // stored version, known before the write or after it
  std::string action;
  bool written = false;
};

std::string itemPrefix(size_t index) { return "items[" + std::to_string(index) + "]"; }

// "spec.x: why" -> "items[2].spec.x: why"; "why" -> "items[2]: why".
base::Failure atItem(const Batch& batch, size_t index, base::Failure failure) {
  if (batch.single) return failure;
  failure.message = fieldOf(failure.message) ? itemPrefix(index) + "." + failure.message
                                             : itemPrefix(index) + ": " + failure.message;
  return failure;
}

Result<Batch> splitBatch(std::string_view body) {
  pb::Value value;
  if (auto status = pb::util::JsonStringToMessage(std::string(body), &value); !status.ok()) {
    return base::fail(base::Error::kInvalidArgument, "malformed JSON: " + std::string(status.message()));
  }
  Batch batch;
  const pb::ListValue* list = nullptr;
  if (value.has_list_value()) {
    list = &value.list_value();
  } else if (value.has_struct_value()) {
    const auto& fields = value.struct_value().fields();
    auto items = fields.find("items");
    if (items == fields.end() || fields.contains("kind")) {
      batch.single = true;
      batch.items.push_back(value.struct_value());
      return batch;
    }
    if (!items->second.has_list_value()) return base::fail(base::Error::kInvalidArgument, "items: must be an array");
    list = &items->second.list_value();
  } else {
    return base::fail(base::Error::kInvalidArgument,
                      "body: must be an object, an array of objects or {\"items\": [...]}");
  }
  for (int i = 0; i < list->values_size(); ++i) {
    if (!list->values(i).has_struct_value()) {
      return base::fail(base::Error::kInvalidArgument, itemPrefix(i) + ": must be an object");
    }
    batch.items.push_back(list->values(i).struct_value());
  }
  if (batch.items.empty()) return base::fail(base::Error::kInvalidArgument, "items: no objects given");
  return batch;
}

// A store transaction names the failing write "writes[k]: ..." (or not at all
// when there is one write); `item_of` maps it back to the batch item.
base::Failure transactionFailure(const Batch& batch, const base::Failure& failure,
                                 const std::vector<size_t>& item_of, size_t& failed_item) {
  size_t write = 0;
  std::string message = failure.message;
  if (item_of.size() > 1 && message.starts_with("writes[")) {
    const char* begin = message.data() + 7;
    const auto [end, ec] = std::from_chars(begin, message.data() + message.size(), write);
    const size_t close = message.find("]: ");
    if (ec != std::errc() || close == std::string::npos || write >= item_of.size()) return failure;
    (void)end;
    message = message.substr(close + 3);
  }
  failed_item = item_of[write];
  return atItem(batch, failed_item, base::Failure{failure.code, message});
}

std::string resultsJson(const std::vector<Planned>& planned) {
  std::string body = "{\"results\":[";
  for (size_t i = 0; i < planned.size(); ++i) {
    if (i > 0) body += ',';
    const Planned& p = planned[i];
    body += "{\"kind\":";
    base::appendJsonString(body, p.key.kind);
    body += ",\"namespace\":";
    base::appendJsonString(body, p.key.namespace_);
    body += ",\"name\":";
    base::appendJsonString(body, p.key.name);
    body += ",\"action\":\"" + p.action + "\",\"resourceVersion\":\"" + std::to_string(p.version) + "\"}";
  }
  body += "]}";
  return body;
}

// Refuses a batch naming one object twice: its outcome would depend on order.
Result<bool> checkDuplicates(const Batch& batch, const std::vector<Planned>& planned) {
  std::set<std::string> seen;
  for (size_t i = 0; i < planned.size(); ++i) {
    if (!seen.insert(store::describeKey(planned[i].key)).second) {
      return atItem(batch, i,
                    base::fail(base::Error::kInvalidArgument,
                               "metadata.name: " + store::describeKey(planned[i].key) + " appears twice in the batch"));
    }
  }
  return true;
}

// Runs `plan` (which fills `writes` and `item_of` from fresh reads) and
// commits, retrying when a write without a caller's version lost a race.
template <typename Plan>
base::Status commitWithRetry(store::Store& store, const Batch& batch, std::vector<Planned>& planned, Plan plan) {
  for (int attempt = 1;; ++attempt) {
    std::vector<store::Write> writes;
    std::vector<size_t> item_of;
    if (base::Status s = plan(writes, item_of); !s) return s;
    if (writes.empty()) return base::Status::ok();
    base::Status committed = store.transaction(writes);
    if (committed) return committed;
    size_t failed = 0;
    base::Failure failure = transactionFailure(batch, committed.error(), item_of, failed);
    const bool raced = committed.code() == base::Error::kConflict || committed.code() == base::Error::kAlreadyExists;
    if (!raced || planned[failed].user_version != 0 || attempt == kAttempts) return failure;
  }
}

// metadata.resourceVersion as the JSON mapping allows it: a string or a number.
Result<uint64_t> userVersion(const pb::Struct& item) {
  auto metadata = item.fields().find("metadata");
  if (metadata == item.fields().end() || !metadata->second.has_struct_value()) return uint64_t{0};
  const auto& fields = metadata->second.struct_value().fields();
  auto version = fields.find("resourceVersion");
  if (version == fields.end()) version = fields.find("resource_version");
  if (version == fields.end()) return uint64_t{0};
  if (version->second.kind_case() == pb::Value::kNumberValue) {
    const double number = version->second.number_value();
    if (number >= 0 && number < 1.8e19 && std::floor(number) == number) return static_cast<uint64_t>(number);
  } else if (version->second.kind_case() == pb::Value::kStringValue) {
    const std::string& text = version->second.string_value();
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size()) return value;
  }
  return base::fail(base::Error::kInvalidArgument, "metadata.resourceVersion: must be an unsigned integer");
}

std::string stringField(const pb::Struct& object, const std::string& name) {
  auto it = object.fields().find(name);
  return it != object.fields().end() && it->second.kind_case() == pb::Value::kStringValue ? it->second.string_value()
                                                                                          : std::string();
}

// kind, namespace and name of a delete item.
Result<store::ObjectKey> deleteKey(const pb::Struct& item) {
  const std::string kind = stringField(item, "kind");
  if (!mesh::kindFromName(kind)) {
    return base::fail(base::Error::kInvalidArgument, "kind: \"" + kind + "\" is not one of " + mesh::supportedKindNames());
  }
  auto metadata = item.fields().find("metadata");
  if (metadata == item.fields().end() || !metadata->second.has_struct_value()) {
    return base::fail(base::Error::kInvalidArgument, "metadata.name: is required");
  }
  store::ObjectKey key{kind, stringField(metadata->second.struct_value(), "namespace"),
                       stringField(metadata->second.struct_value(), "name")};
  if (key.name.empty()) return base::fail(base::Error::kInvalidArgument, "metadata.name: is required");
  if (key.namespace_.empty()) key.namespace_ = "default";
  return key;
}

}  // namespace

ApiResponse applyBatch(store::Store& store, const MeshSource& mesh, std::string_view body) {
  Result<Batch> batch = splitBatch(body);
  if (!batch) return badRequest(batch.error());

  std::vector<mesh::ParsedObject> objects;
  std::vector<Planned> planned;
  for (size_t i = 0; i < batch->items.size(); ++i) {
    std::string json;
    (void)pb::util::MessageToJsonString(batch->items[i], &json);
    Result<mesh::ParsedObject> object = mesh::parseObject(json);
    if (!object) return badRequest(atItem(*batch, i, object.error()));
    Planned& p = planned.emplace_back();
    p.key = mesh::storeKey(*object);
    p.json = mesh::storedJson(*object);
    p.user_version = object->metadata().resource_version();
    objects.push_back(std::move(*object));
  }
  if (auto unique = checkDuplicates(*batch, planned); !unique) return badRequest(unique.error());

  // References resolve against the mesh as it will be once the batch lands.
  std::shared_ptr<const mesh::MeshState> current = mesh();
  mesh::MeshState next = current ? *current : mesh::MeshState{};
  for (const mesh::ParsedObject& object : objects) next.put(object);
  for (size_t i = 0; i < objects.size(); ++i) {
    if (base::Status s = mesh::checkReferences(objects[i], next); !s) return badRequest(atItem(*batch, i, s.error()));
  }

  auto plan = [&](std::vector<store::Write>& writes, std::vector<size_t>& item_of) -> base::Status {
    for (size_t i = 0; i < planned.size(); ++i) {
      Planned& p = planned[i];
      p.written = false;
      Result<store::StoredObject> stored = store.get(p.key);
      if (!stored && stored.error().code != base::Error::kNotFound) return stored.error();
      if (!stored) {
        if (p.user_version != 0) return atItem(*batch, i, stored.error());
        writes.push_back(store::Write{store::Write::Type::kCreate, p.key, p.json, 0});
        p.action = "created";
      } else if (p.user_version != 0 && p.user_version != stored->resource_version) {
        return atItem(*batch, i,
                      base::fail(base::Error::kConflict, store::describeKey(p.key) + ": resource version " +
                                                             std::to_string(p.user_version) + " is stale (current " +
                                                             std::to_string(stored->resource_version) + ")"));
      } else if (stored->spec_json == p.json) {
        p.action = "unchanged";
        p.version = stored->resource_version;
        continue;
      } else {
        writes.push_back(store::Write{store::Write::Type::kPut, p.key, p.json, stored->resource_version});
        p.action = "configured";
      }
      p.written = true;
      item_of.push_back(i);
    }
    return base::Status::ok();
  };
  if (base::Status s = commitWithRetry(store, *batch, planned, plan); !s) return failureResponse(s.error());

  // TODO(store-api): Store::transaction() does not return the objects it
  // wrote, so their versions are read back; a write by someone else in
  // between would show its version instead of ours.
  for (Planned& p : planned) {
    if (!p.written) continue;
    if (Result<store::StoredObject> stored = store.get(p.key)) p.version = stored->resource_version;
  }
  return jsonResponse(resultsJson(planned));
}

ApiResponse deleteBatch(store::Store& store, std::string_view body) {
  Result<Batch> batch = splitBatch(body);
  if (!batch) return badRequest(batch.error());
  std::vector<Planned> planned;
  for (size_t i = 0; i < batch->items.size(); ++i) {
    Result<store::ObjectKey> key = deleteKey(batch->items[i]);
    if (!key) return badRequest(atItem(*batch, i, key.error()));
    Result<uint64_t> version = userVersion(batch->items[i]);
    if (!version) return badRequest(atItem(*batch, i, version.error()));
    Planned& p = planned.emplace_back();
    p.key = std::move(*key);
    p.user_version = *version;
    p.action = "deleted";
  }
  if (auto unique = checkDuplicates(*batch, planned); !unique) return badRequest(unique.error());

  auto plan = [&](std::vector<store::Write>& writes, std::vector<size_t>& item_of) -> base::Status {
    for (size_t i = 0; i < planned.size(); ++i) {
      Planned& p = planned[i];
      Result<store::StoredObject> stored = store.get(p.key);
      if (!stored) return atItem(*batch, i, stored.error());
      p.version = p.user_version != 0 ? p.user_version : stored->resource_version;
      writes.push_back(store::Write{store::Write::Type::kDelete, p.key, "", p.version});
      item_of.push_back(i);
    }
    return base::Status::ok();
  };
  if (base::Status s = commitWithRetry(store, *batch, planned, plan); !s) return failureResponse(s.error());
  return jsonResponse(resultsJson(planned));
}

}  // namespace remora::cp::api
