#pragma once
// API keys, saved charts and dashboards: the console's metadata, behind small interfaces so
// a test can fake them and a server database can replace SQLite later. Keys are stored as
// SHA-256 hashes of the secret; the secret is shown once, when created.
//
// Thread safety: implementations may be called from any thread.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace basalt::api {

enum class Role { kViewer, kAnalyst, kAdmin, kService };
const char* role_name(Role r);
std::optional<Role> parse_role(const std::string& name);

struct ApiKey {
  std::string id;  // public, e.g. "k_3f2a…" (prefix of the secret's hash)
  std::string name;
  Role role = Role::kViewer;
  std::vector<std::string> apis;  // service keys: data APIs they may call
  double rate_per_minute = 0;     // 0: unlimited
  int64_t created_us = 0;
  std::optional<int64_t> revoked_us;
};

struct NewKey {
  ApiKey key;
  std::string secret;  // "bsk_…": shown once
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // kInvalidArgument for an empty or duplicate name, or apis on a non-service key.
  virtual Result<NewKey> create_key(const std::string& name, Role role,
                                    const std::vector<std::string>& apis,
                                    double rate_per_minute) = 0;
  virtual Result<std::vector<ApiKey>> list_keys() = 0;
  // By id or name; kNotFound when unknown.
  virtual Status revoke_key(const std::string& id_or_name) = 0;
  // The live key whose secret is `secret`; nullopt when unknown or revoked.
  virtual Result<std::optional<ApiKey>> find_by_secret(const std::string& secret) = 0;
};

// A saved chart or dashboard: its JSON document as the console sent it, with server fields.
struct SavedItem {
  std::string id;
  std::string name;
  std::string owner;
  std::string body;  // JSON object text
  int64_t created_us = 0;
  int64_t updated_us = 0;
};

class ContentStore {
 public:
  virtual ~ContentStore() = default;
  // `kind` is "chart" or "dashboard".
  virtual Result<SavedItem> create_item(const std::string& kind, const std::string& name,
                                        const std::string& owner, const std::string& body) = 0;
  virtual Result<std::vector<SavedItem>> list_items(const std::string& kind) = 0;
  virtual Result<SavedItem> get_item(const std::string& kind, const std::string& id) = 0;
  virtual Result<SavedItem> update_item(const std::string& kind, const std::string& id,
                                        const std::string& name, const std::string& body) = 0;
  virtual Status delete_item(const std::string& kind, const std::string& id) = 0;
};

// Both in one SQLite database file (created if missing).
class SqliteApiStore final : public KeyStore, public ContentStore {
 public:
  static Result<std::unique_ptr<SqliteApiStore>> open(const std::filesystem::path& path);
  ~SqliteApiStore() override;

  Result<NewKey> create_key(const std::string& name, Role role,
                            const std::vector<std::string>& apis, double rate_per_minute) override;
  Result<std::vector<ApiKey>> list_keys() override;
  Status revoke_key(const std::string& id_or_name) override;
  Result<std::optional<ApiKey>> find_by_secret(const std::string& secret) override;

  Result<SavedItem> create_item(const std::string& kind, const std::string& name,
                                const std::string& owner, const std::string& body) override;
  Result<std::vector<SavedItem>> list_items(const std::string& kind) override;
  Result<SavedItem> get_item(const std::string& kind, const std::string& id) override;
  Result<SavedItem> update_item(const std::string& kind, const std::string& id,
                                const std::string& name, const std::string& body) override;
  Status delete_item(const std::string& kind, const std::string& id) override;

 private:
  struct Impl;
  explicit SqliteApiStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(const std::string& data);

}  // namespace basalt::api
