#include "control-plane/store/store.h"

namespace remora::cp::store {

std::string describeKey(const ObjectKey& key) {
  std::string out = key.kind;
  out += ' ';
  if (!key.namespace_.empty()) {
    out += key.namespace_;
    out += '/';
  }
  out += key.name;
  return out;
}

}  // namespace remora::cp::store
