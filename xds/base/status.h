// Status and Result<T>: how every fallible function in Remora reports failure
// (no exceptions in product code; see CONVENTIONS.md). Value types, usable on
// any thread.
//
// The API mirrors C++23's std::expected (has_value, value, error, operator*,
// operator->, explicit bool) so moving to C++23 is a rename.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "xds/base/error.h"

namespace remora::base {

// A failure: what kind (Error) and, in words, why. The message names the field
// or peer involved: "listeners[0].address.socket_address.port_value: 70000 is
// out of range 0..65535".
struct Failure {
  Error code = Error::kInternal;
  std::string message;
};

inline Failure fail(Error code, std::string message) { return Failure{code, std::move(message)}; }

// Status: success, or a Failure.
class Status {
 public:
  Status() = default;
  Status(Failure failure) : failure_(std::move(failure)) {}  // NOLINT: implicit by design

  static Status ok() { return Status(); }

  bool has_value() const { return !failure_.has_value(); }
  explicit operator bool() const { return has_value(); }
  const Failure& error() const {
    assert(failure_.has_value());
    return *failure_;
  }
  Error code() const { return failure_ ? failure_->code : Error::kOk; }
  // The failure's message, or "" when ok.
  const std::string& message() const {
    static const std::string kEmpty;
    return failure_ ? failure_->message : kEmpty;
  }

 private:
  std::optional<Failure> failure_;
};

// Result<T>: a T, or a Failure.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}              // NOLINT: implicit by design
  Result(Failure failure) : v_(std::move(failure)) {}    // NOLINT: implicit by design
  Result(const Status& status) : v_(status.error()) {}  // NOLINT: only from a failed Status

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Failure& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }
  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }
  Status status() const { return has_value() ? Status() : Status(error()); }

 private:
  std::variant<T, Failure> v_;
};

}  // namespace remora::base
