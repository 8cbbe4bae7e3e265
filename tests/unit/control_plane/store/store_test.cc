#include "control-plane/store/store.h"

#include <catch2/catch.hpp>

using remora::cp::store::describeKey;
using remora::cp::store::ObjectKey;

TEST_CASE("a namespaced key is described as kind namespace/name", "[cp][store]") {
  CHECK(describeKey(ObjectKey{"Service", "default", "reviews"}) == "Service default/reviews");
}

TEST_CASE("a key without a namespace is described as kind name", "[cp][store]") {
  CHECK(describeKey(ObjectKey{"Mesh", "", "global"}) == "Mesh global");
}
