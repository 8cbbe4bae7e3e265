#include "proxy/tls/client_session_cache.h"

#include <openssl/ssl.h>

#include <catch2/catch.hpp>

using remora::tls::ClientSessionCache;

namespace {

// A session OpenSSL calls resumable: it needs a protocol version and a session id.
SSL_SESSION* resumableSession() {
  SSL_SESSION* s = SSL_SESSION_new();
  SSL_SESSION_set_protocol_version(s, TLS1_2_VERSION);
  const unsigned char id[] = "0123456789abcdef";
  SSL_SESSION_set1_id(s, id, 16);
  return s;
}

}  // namespace

TEST_CASE("the session cache finds a session by key and context", "[tls][sessions]") {
  ClientSessionCache cache;
  int tag = 0;
  int other_tag = 0;
  SSL_SESSION* s = resumableSession();
  cache.store("a", &tag, s);
  CHECK(cache.size() == 1);
  CHECK(cache.find("a", &tag) == s);
  CHECK(cache.find("a", &other_tag) == nullptr);
  CHECK(cache.find("b", &tag) == nullptr);
  // Storing under the same key replaces (and frees) the old session.
  SSL_SESSION* s2 = resumableSession();
  cache.store("a", &tag, s2);
  CHECK(cache.size() == 1);
  CHECK(cache.find("a", &tag) == s2);
  cache.erase("a");
  CHECK(cache.size() == 0);
}

TEST_CASE("the session cache drops the least recently used entry when full", "[tls][sessions]") {
  ClientSessionCache cache(2);
  int tag = 0;
  cache.store("a", &tag, resumableSession());
  cache.store("b", &tag, resumableSession());
  CHECK(cache.find("a", &tag) != nullptr);  // "a" is now the most recent
  cache.store("c", &tag, resumableSession());
  CHECK(cache.size() == 2);
  CHECK(cache.find("b", &tag) == nullptr);
  CHECK(cache.find("a", &tag) != nullptr);
  CHECK(cache.find("c", &tag) != nullptr);
  cache.clear();
  CHECK(cache.size() == 0);
}
