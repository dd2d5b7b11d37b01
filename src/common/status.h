#pragma once
// Status and Result<T>: the one error model for expected failures (bad input, I/O, a server
// down). Each code maps to an HTTP status and a CLI exit code, so every layer answers alike.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace basalt {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // bad input from a client or a user
  kUnauthenticated,     // no or unknown credentials
  kPermissionDenied,    // credentials known but not allowed
  kNotFound,
  kMethodNotAllowed,
  kAlreadyExists,
  kPayloadTooLarge,
  kResourceExhausted,   // rate limit or a configured budget
  kFailedPrecondition,  // the system is not in a state to do this
  kUnavailable,         // try again later (disk full, server down)
  kDeadlineExceeded,
  kDataLoss,            // corruption found
  kInternal,
};

const char* status_code_name(StatusCode code);
int http_status_of(StatusCode code);
int exit_code_of(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message", for logs.
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status data_loss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status failed_precondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).is_ok() && "a Result holding a Status must hold an error");
  }

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }

  T& value() & {
    assert(is_ok() && "value() of a failed Result");
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(is_ok() && "value() of a failed Result");
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(is_ok() && "value() of a failed Result");
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace basalt

// Returns early from the calling function when `expr` (a Status) is an error.
#define BASALT_RETURN_IF_ERROR(expr)        \
  do {                                      \
    ::basalt::Status basalt_s_ = (expr);    \
    if (!basalt_s_.is_ok()) return basalt_s_; \
  } while (0)
