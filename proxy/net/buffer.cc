#include "proxy/net/buffer.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace remora::net {

Buffer::Slice Buffer::newSlice(size_t capacity) {
  Slice s;
  s.data.reset(new char[capacity]);
  s.capacity = capacity;
  return s;
}

void Buffer::add(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    if (slices_.empty() || slices_.back().room() == 0) {
      slices_.push_back(newSlice(std::max(size, kDefaultSliceSize)));
    }
    Slice& tail = slices_.back();
    size_t n = std::min(size, tail.room());
    std::memcpy(tail.data.get() + tail.end, p, n);
    tail.end += n;
    length_ += n;
    p += n;
    size -= n;
  }
}

void Buffer::addCopy(const Buffer& other) {
  other.forEachSlice([this](const char* d, size_t n) { add(d, n); });
}

void Buffer::move(Buffer& other) {
  if (&other == this) return;
  for (Slice& s : other.slices_) {
    if (s.size() == 0) continue;
    // Small slices are copied into our tail rather than linked, so that many
    // tiny writes (HTTP/2 frames, header blocks) do not become many slices.
    if (s.size() < 512 && !slices_.empty() && slices_.back().room() >= s.size()) {
      Slice& tail = slices_.back();
      std::memcpy(tail.data.get() + tail.end, s.data.get() + s.start, s.size());
      tail.end += s.size();
    } else {
      slices_.push_back(std::move(s));
    }
  }
  length_ += other.length_;
  other.slices_.clear();
  other.length_ = 0;
}

void Buffer::move(Buffer& other, size_t size) {
  size = std::min(size, other.length_);
  if (size == other.length_) {
    move(other);
    return;
  }
  while (size > 0) {
    Slice& front = other.slices_.front();
    if (front.size() <= size) {
      size_t n = front.size();
      slices_.push_back(std::move(front));
      other.slices_.pop_front();
      length_ += n;
      other.length_ -= n;
      size -= n;
    } else {
      add(front.data.get() + front.start, size);
      front.start += size;
      other.length_ -= size;
      size = 0;
    }
  }
}

void Buffer::drain(size_t size) {
  size = std::min(size, length_);
  length_ -= size;
  while (size > 0) {
    Slice& front = slices_.front();
    size_t n = std::min(size, front.size());
    front.start += n;
    size -= n;
    if (front.size() == 0) slices_.pop_front();
  }
  // Keep one emptied slice? No: an idle connection should hold no memory.
  while (!slices_.empty() && slices_.front().size() == 0 && slices_.size() > 1) slices_.pop_front();
  if (length_ == 0) slices_.clear();
}

size_t Buffer::copyOut(size_t offset, size_t size, void* out) const {
  char* o = static_cast<char*>(out);
  size_t copied = 0;
  for (const Slice& s : slices_) {
    if (size == 0) break;
    if (offset >= s.size()) {
      offset -= s.size();
      continue;
    }
    size_t n = std::min(size, s.size() - offset);
    std::memcpy(o + copied, s.data.get() + s.start + offset, n);
    copied += n;
    size -= n;
    offset = 0;
  }
  return copied;
}

std::string Buffer::toString() const {
  std::string out(length_, '\0');
  copyOut(0, length_, out.data());
  return out;
}

const char* Buffer::linearize(size_t size) {
  assert(size <= length_);
  if (size == 0) return slices_.empty() ? "" : slices_.front().data.get() + slices_.front().start;
  if (slices_.front().size() >= size) return slices_.front().data.get() + slices_.front().start;
  Slice merged = newSlice(std::max(size, kDefaultSliceSize));
  size_t remaining = size;
  while (remaining > 0) {
    Slice& front = slices_.front();
    size_t n = std::min(remaining, front.size());
    std::memcpy(merged.data.get() + merged.end, front.data.get() + front.start, n);
    merged.end += n;
    front.start += n;
    remaining -= n;
    if (front.size() == 0) slices_.pop_front();
  }
  slices_.push_front(std::move(merged));
  return slices_.front().data.get();
}

char Buffer::at(size_t offset) const {
  for (const Slice& s : slices_) {
    if (offset < s.size()) return s.data[s.start + offset];
    offset -= s.size();
  }
  assert(false && "Buffer::at out of range");
  return 0;
}

size_t Buffer::search(std::string_view needle, size_t start) const {
  if (needle.empty()) return start <= length_ ? start : npos;
  if (length_ < needle.size()) return npos;
  // Fast path: search within each slice, then check matches straddling slices.
  size_t base = 0;
  for (size_t i = 0; i < slices_.size(); ++i) {
    const Slice& s = slices_[i];
    size_t sz = s.size();
    if (base + sz > start) {
      std::string_view view(s.data.get() + s.start, sz);
      size_t from = start > base ? start - base : 0;
      size_t hit = view.find(needle, from);
      if (hit != std::string_view::npos) return base + hit;
      // A match may begin in the last needle.size()-1 bytes of this slice.
      size_t tail_from = sz >= needle.size() ? sz - needle.size() + 1 : 0;
      tail_from = std::max(tail_from, from);
      for (size_t k = tail_from; k < sz; ++k) {
        size_t pos = base + k;
        if (pos + needle.size() > length_) break;
        bool match = true;
        for (size_t j = 0; j < needle.size() && match; ++j) match = at(pos + j) == needle[j];
        if (match) return pos;
      }
    }
    base += sz;
  }
  return npos;
}

std::span<char> Buffer::reserve(size_t min_size) {
  if (slices_.empty() || slices_.back().room() < min_size) {
    slices_.push_back(newSlice(std::max(min_size, kDefaultSliceSize)));
  }
  Slice& tail = slices_.back();
  return {tail.data.get() + tail.end, tail.room()};
}

void Buffer::commit(size_t size) {
  assert(!slices_.empty() && slices_.back().room() >= size);
  slices_.back().end += size;
  length_ += size;
  if (slices_.back().size() == 0 && length_ == 0) slices_.clear();
}

}  // namespace remora::net
