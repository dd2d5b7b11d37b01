#include "api/access_control.h"

namespace basalt::api {

namespace {

// Compares in time independent of where the strings differ.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

int rank(Role r) {
  switch (r) {
    case Role::kViewer:
      return 1;
    case Role::kAnalyst:
      return 2;
    case Role::kAdmin:
      return 3;
    case Role::kService:
      return 0;
  }
  return 0;
}

}  // namespace

AccessControl::AccessControl(const ApiConfig& config, KeyStore* keys, MetricsRegistry& metrics)
    : config_(config), keys_(keys), metrics_(metrics) {}

Result<Principal> AccessControl::authenticate(const http::Request& request) const {
  std::string_view h = request.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!h.starts_with(kBearer)) {
    return Status{StatusCode::kUnauthenticated, "missing 'Authorization: Bearer <token>' header"};
  }
  std::string_view token = h.substr(kBearer.size());
  if (!config_.admin_token.empty() && same_secret(token, config_.admin_token)) {
    return Principal{"admin", "", Role::kAdmin, {}, 0};
  }
  if (keys_ && token.starts_with("bsk_")) {
    auto k = keys_->find_by_secret(std::string(token));
    if (!k) return k.status();
    if (*k) return Principal{(*k)->name, (*k)->id, (*k)->role, (*k)->apis, (*k)->rate_per_minute};
  }
  if (config_.admin_token.empty() && !keys_) {
    return Status{StatusCode::kUnauthenticated,
                  "no admin token is configured (set api.admin_token in basalt.yaml or "
                  "BASALT_ADMIN_TOKEN)"};
  }
  return Status{StatusCode::kUnauthenticated, "unknown or revoked token"};
}

Result<Principal> AccessControl::require(const http::Request& request, Role minimum) const {
  auto p = authenticate(request);
  if (!p) return p;
  if (minimum == Role::kService) {
    if (p->role == Role::kViewer) {
      return Status{StatusCode::kPermissionDenied, "viewer keys cannot call data APIs"};
    }
    return p;
  }
  if (rank(p->role) < rank(minimum)) {
    return Status{StatusCode::kPermissionDenied, std::string("this needs the ") +
                                                     role_name(minimum) + " role or higher; key '" +
                                                     p->name + "' is " + role_name(p->role)};
  }
  return p;
}

http::Response AccessControl::deny(const Status& s) const {
  const char* reason = s.code() == StatusCode::kUnauthenticated     ? "unauthenticated"
                       : s.code() == StatusCode::kPermissionDenied  ? "forbidden"
                       : s.code() == StatusCode::kResourceExhausted ? "rate_limited"
                                                                    : "other";
  metrics_
      .counter("basalt_api_denied_total", "Console and data API calls denied, by reason",
               {{"reason", reason}})
      .inc();
  auto r = http::Response::error(http_status_of(s.code()), s.message());
  if (s.code() == StatusCode::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"basalt\"");
  }
  return r;
}

}  // namespace basalt::api
