#pragma once
// Who may call the console and data APIs: the configured admin token (role admin) and API keys
// from the KeyStore, each with a role:
//   admin    everything
//   analyst  run queries, save charts and dashboards (and read them)
//   viewer   read saved charts and dashboards (and their data)
//   service  only the data APIs its key is scoped to
// Every denied call answers 401 (no or unknown credentials) or 403 (known but not allowed) with
// the reason, and is counted in basalt_api_denied_total{reason}.
//
// Thread safety: every member may be called from any thread.

#include <string>
#include <vector>

#include "api/key_store.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "http/request.h"

namespace basalt::api {

struct Principal {
  std::string name;  // "admin" for the admin token, else the key's name
  std::string key_id;
  Role role = Role::kViewer;
  std::vector<std::string> apis;  // service keys: the data APIs they may call
  double rate_per_minute = 0;     // 0: no limit
};

class AccessControl {
 public:
  // `keys` may be null (only the admin token is known). Both must outlive this object.
  AccessControl(const ApiConfig& config, KeyStore* keys, MetricsRegistry& metrics);

  // The caller of "Authorization: Bearer <token>"; kUnauthenticated with the reason otherwise.
  Result<Principal> authenticate(const http::Request& request) const;
  // authenticate, then kPermissionDenied unless the role is at least `minimum` in
  // viewer < analyst < admin (service keys pass only for kService).
  Result<Principal> require(const http::Request& request, Role minimum) const;

  // The 401/403 answer for a denial, counted; other codes map as usual.
  http::Response deny(const Status& status) const;

 private:
  ApiConfig config_;
  KeyStore* keys_;
  MetricsRegistry& metrics_;
};

}  // namespace basalt::api
