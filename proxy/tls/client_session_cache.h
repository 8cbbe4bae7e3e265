// ClientSessionCache: TLS sessions a worker's client connections may resume,
// keyed by what the caller chooses (host:port plus cluster), so a second
// connection to the same peer skips the certificate exchange and signatures.
//
// Worker-local (not thread-safe): one per worker, owned by whoever owns the
// worker's connection pools, outliving every TlsConnection that uses it.
// Bounded: the least recently used entry goes when `capacity` is reached.
// A session is only offered to a connection made from the same TlsContext
// that made it, so a rotated trust bundle never honours an old verification.
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

struct ssl_session_st;

namespace remora::tls {

class ClientSessionCache {
 public:
  explicit ClientSessionCache(size_t capacity = 1024) : capacity_(capacity == 0 ? 1 : capacity) {}
  ~ClientSessionCache();
  ClientSessionCache(const ClientSessionCache&) = delete;
  ClientSessionCache& operator=(const ClientSessionCache&) = delete;

  size_t size() const { return entries_.size(); }
  void clear();
  void erase(std::string_view key);

  // For TlsConnection (this folder). find() returns a borrowed session, or
  // nullptr (none, or one from another context); store() takes one reference.
  ssl_session_st* find(std::string_view key, const void* context_tag);
  void store(std::string_view key, const void* context_tag, ssl_session_st* session);

 private:
  struct Entry {
    std::string key;
    const void* context_tag = nullptr;
    ssl_session_st* session = nullptr;
  };
  using List = std::list<Entry>;
  void release(Entry& entry);

  size_t capacity_;
  List entries_;  // most recently used first
  std::unordered_map<std::string_view, List::iterator> index_;  // views into the entries' keys
};

}  // namespace remora::tls
