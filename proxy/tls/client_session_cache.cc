#include "proxy/tls/client_session_cache.h"

#include <openssl/ssl.h>

namespace remora::tls {

ClientSessionCache::~ClientSessionCache() { clear(); }

void ClientSessionCache::release(Entry& entry) {
  SSL_SESSION_free(entry.session);
  entry.session = nullptr;
}

void ClientSessionCache::clear() {
  for (Entry& e : entries_) release(e);
  index_.clear();
  entries_.clear();
}

void ClientSessionCache::erase(std::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  List::iterator entry = it->second;
  index_.erase(it);
  release(*entry);
  entries_.erase(entry);
}

ssl_session_st* ClientSessionCache::find(std::string_view key, const void* context_tag) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  List::iterator entry = it->second;
  if (entry->context_tag != context_tag || !SSL_SESSION_is_resumable(entry->session)) return nullptr;
  entries_.splice(entries_.begin(), entries_, entry);
  return entry->session;
}

void ClientSessionCache::store(std::string_view key, const void* context_tag, ssl_session_st* session) {
  erase(key);
  if (entries_.size() >= capacity_) {
    Entry& oldest = entries_.back();
    index_.erase(oldest.key);
    release(oldest);
    entries_.pop_back();
  }
  entries_.push_front(Entry{std::string(key), context_tag, session});
  index_.emplace(entries_.front().key, entries_.begin());
}

}  // namespace remora::tls
