#include "control-plane/ca/issued_certificates.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "control-plane/ca/token_store.h"

namespace remora::cp::ca {

base::Status IssuedCertificates::record(const SpiffeId& identity, const std::string& serial, int64_t issued_unix,
                                        int64_t not_after_unix, const std::string& requested_by) {
  google::protobuf::Struct spec;
  auto& fields = *spec.mutable_fields();
  fields["identity"].set_string_value(identity.uri());
  fields["serial"].set_string_value(serial);
  fields["issuedUnix"].set_number_value(static_cast<double>(issued_unix));
  fields["notAfterUnix"].set_number_value(static_cast<double>(not_after_unix));
  fields["requestedBy"].set_string_value(requested_by);
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(spec, &json);
  auto put = store_.put({std::string(kIssuedCertificateKind), identity.namespace_, identity.service_account},
                        std::move(json), 0);
  if (!put) return put.error();
  return base::Status::ok();
}

void IssuedCertificates::proxyConnected(const std::string& identity, const std::string& node_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  proxies_[identity].insert(node_id);
}

void IssuedCertificates::proxyDisconnected(const std::string& identity, const std::string& node_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = proxies_.find(identity);
  if (it == proxies_.end()) return;
  auto node = it->second.find(node_id);
  if (node != it->second.end()) it->second.erase(node);
  if (it->second.empty()) proxies_.erase(it);
}

base::Result<std::vector<IssuedRecord>> IssuedCertificates::list() {
  auto objects = store_.list(kIssuedCertificateKind, "");
  if (!objects) return objects.error();
  std::vector<IssuedRecord> out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const store::StoredObject& object : *objects) {
    google::protobuf::Struct spec;
    if (!google::protobuf::util::JsonStringToMessage(object.spec_json, &spec).ok()) continue;
    const auto& fields = spec.fields();
    auto text = [&](const char* name) {
      auto it = fields.find(name);
      return it == fields.end() ? std::string() : it->second.string_value();
    };
    auto number = [&](const char* name) {
      auto it = fields.find(name);
      return it == fields.end() ? int64_t{0} : static_cast<int64_t>(it->second.number_value());
    };
    IssuedRecord record;
    record.identity = text("identity");
    record.namespace_ = object.key.namespace_;
    record.service_account = object.key.name;
    record.serial = text("serial");
    record.issued_unix = number("issuedUnix");
    record.not_after_unix = number("notAfterUnix");
    record.requested_by = text("requestedBy");
    if (auto it = proxies_.find(record.identity); it != proxies_.end()) {
      for (const std::string& node : it->second) {
        if (record.proxies.empty() || record.proxies.back() != node) record.proxies.push_back(node);
      }
    }
    out.push_back(std::move(record));
  }
  return out;
}

}  // namespace remora::cp::ca
