// Buffer: an owned sequence of bytes made of slices, the currency of every
// layer of the proxy (sockets, TLS, codecs, router). Moving bytes from one
// buffer to another moves whole slices and copies nothing.
//
// Not thread-safe; a buffer belongs to whoever holds it (worker-local on the
// data path). Costs: add() copies into the tail slice, move() relinks slices,
// drain() frees emptied slices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace remora::net {

class Buffer {
 public:
  // Slice capacity for appends; also the read size for sockets.
  static constexpr size_t kDefaultSliceSize = 16 * 1024;

  Buffer() = default;
  explicit Buffer(std::string_view data) { add(data); }
  // A moved-from buffer is empty (length included), so it can be reused.
  Buffer(Buffer&& other) noexcept : slices_(std::move(other.slices_)), length_(other.length_) { other.length_ = 0; }
  Buffer& operator=(Buffer&& other) noexcept {
    slices_ = std::move(other.slices_);
    length_ = other.length_;
    other.length_ = 0;
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  size_t length() const { return length_; }
  bool empty() const { return length_ == 0; }

  void add(const void* data, size_t size);
  void add(std::string_view data) { add(data.data(), data.size()); }
  // Appends a copy of another buffer's bytes (rarely needed: prefer move()).
  void addCopy(const Buffer& other);

  // Takes every byte of `other`, which ends empty.
  void move(Buffer& other);
  // Takes the first `size` bytes of `other` (at most other.length()).
  void move(Buffer& other, size_t size);

  // Drops the first `size` bytes (at most length()).
  void drain(size_t size);
  void clear() { drain(length_); }

  // Copies `size` bytes starting at `offset` into `out`; returns how many were copied.
  size_t copyOut(size_t offset, size_t size, void* out) const;
  std::string toString() const;

  // Makes the first `size` bytes contiguous and returns a pointer to them.
  // size must be <= length().
  const char* linearize(size_t size);

  // Offset of the first occurrence of `needle` at or after `start`, or npos.
  static constexpr size_t npos = static_cast<size_t>(-1);
  size_t search(std::string_view needle, size_t start = 0) const;
  // The byte at `offset` (< length()).
  char at(size_t offset) const;

  // Writable space at the tail of at least `min_size` bytes, for reading
  // straight into the buffer; follow with commit(n) for the bytes filled.
  std::span<char> reserve(size_t min_size);
  void commit(size_t size);

  // Calls fn(const char* data, size_t size) for each non-empty slice, in order.
  template <typename Fn>
  void forEachSlice(Fn&& fn) const {
    for (const Slice& s : slices_) {
      if (s.end > s.start) fn(s.data.get() + s.start, s.end - s.start);
    }
  }
  size_t sliceCount() const { return slices_.size(); }

 private:
  struct Slice {
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
    size_t start = 0;  // first readable byte
    size_t end = 0;    // one past the last readable byte
    size_t size() const { return end - start; }
    size_t room() const { return capacity - end; }
  };
  static Slice newSlice(size_t capacity);

  // The slice list: a vector with a moving head. Unlike std::deque (which
  // allocates on construction in libstdc++) an empty one costs nothing, and
  // codecs make many short-lived Buffers per request.
  class SliceQueue {
   public:
    SliceQueue() = default;
    // A moved-from queue must be empty, head included.
    SliceQueue(SliceQueue&& other) noexcept : v_(std::move(other.v_)), head_(other.head_) {
      other.v_.clear();
      other.head_ = 0;
    }
    SliceQueue& operator=(SliceQueue&& other) noexcept {
      v_ = std::move(other.v_);
      head_ = other.head_;
      other.v_.clear();
      other.head_ = 0;
      return *this;
    }
    bool empty() const { return head_ == v_.size(); }
    size_t size() const { return v_.size() - head_; }
    Slice& front() { return v_[head_]; }
    const Slice& front() const { return v_[head_]; }
    Slice& back() { return v_.back(); }
    Slice& operator[](size_t i) { return v_[head_ + i]; }
    const Slice& operator[](size_t i) const { return v_[head_ + i]; }
    void push_back(Slice&& s) { v_.push_back(std::move(s)); }
    void push_front(Slice&& s) {
      if (head_ > 0) {
        v_[--head_] = std::move(s);
      } else {
        v_.insert(v_.begin(), std::move(s));
      }
    }
    void pop_front() {
      v_[head_].data.reset();
      if (++head_ == v_.size()) {
        clear();
      } else if (head_ >= 32 && head_ * 2 >= v_.size()) {
        // A buffer that streams without ever emptying must not grow forever.
        v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
      }
    }
    void clear() {
      v_.clear();
      head_ = 0;
    }
    // Spelled-out types: forEachSlice() above uses them before this class is
    // complete, which clang refuses for deduced return types.
    std::vector<Slice>::iterator begin() { return v_.begin() + static_cast<std::ptrdiff_t>(head_); }
    std::vector<Slice>::iterator end() { return v_.end(); }
    std::vector<Slice>::const_iterator begin() const { return v_.begin() + static_cast<std::ptrdiff_t>(head_); }
    std::vector<Slice>::const_iterator end() const { return v_.end(); }

   private:
    std::vector<Slice> v_;
    size_t head_ = 0;
  };

  SliceQueue slices_;
  size_t length_ = 0;
};

}  // namespace remora::net
