// The SQLite ApiStore: one connection (serialised by a mutex) on data_dir/console.db, in WAL
// mode. Tables:
//   api_keys(id PRIMARY KEY, name UNIQUE, hash UNIQUE, role, apis JSON, rate_per_minute,
//            created_us, revoked_us)
//   saved_items(id PRIMARY KEY, kind, name, owner, body JSON, created_us, updated_us)
#include <fmt/format.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sqlite3.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/key_store.h"

namespace basalt::api {

namespace {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    throw std::runtime_error("no randomness for an API key");  // start-up grade failure
  }
  std::string out;
  for (unsigned char c : b) out += fmt::format("{:02x}", c);
  return out;
}

// A prepared statement with positional binds.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& bind(const std::string& v) {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_text(s_, ++n_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(s_, ++n_, v);
    return *this;
  }
  Stmt& bind(double v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_double(s_, ++n_, v);
    return *this;
  }
  // true: a row; false: done.
  Result<bool> step() {
    if (rc_ != SQLITE_OK) return error();
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    rc_ = rc;
    return error();
  }
  std::string text(int c) const {
    auto p = sqlite3_column_text(s_, c);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
  double dbl(int c) const { return sqlite3_column_double(s_, c); }
  bool null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }

 private:
  Status error() const {
    if (rc_ == SQLITE_CONSTRAINT || sqlite3_errcode(db_) == SQLITE_CONSTRAINT) {
      return {StatusCode::kAlreadyExists, sqlite3_errmsg(db_)};
    }
    return unavailable(std::string("console database: ") + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_OK;
  int n_ = 0;
};

ApiKey key_of(const Stmt& s) {
  ApiKey k;
  k.id = s.text(0);
  k.name = s.text(1);
  k.role = parse_role(s.text(2)).value_or(Role::kViewer);
  auto apis = nlohmann::json::parse(s.text(3), nullptr, false);
  if (apis.is_array()) {
    for (const auto& a : apis)
      if (a.is_string()) k.apis.push_back(a.get<std::string>());
  }
  k.rate_per_minute = s.dbl(4);
  k.created_us = s.i64(5);
  if (!s.null(6)) k.revoked_us = s.i64(6);
  return k;
}

SavedItem item_of(const Stmt& s) {
  return SavedItem{s.text(0), s.text(1), s.text(2), s.text(3), s.i64(4), s.i64(5)};
}

}  // namespace

const char* role_name(Role r) {
  switch (r) {
    case Role::kViewer:
      return "viewer";
    case Role::kAnalyst:
      return "analyst";
    case Role::kAdmin:
      return "admin";
    case Role::kService:
      return "service";
  }
  return "viewer";
}

std::optional<Role> parse_role(const std::string& n) {
  if (n == "viewer") return Role::kViewer;
  if (n == "analyst") return Role::kAnalyst;
  if (n == "admin") return Role::kAdmin;
  if (n == "service") return Role::kService;
  return std::nullopt;
}

std::string sha256_hex(const std::string& data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  std::string out;
  for (unsigned char c : d) out += fmt::format("{:02x}", c);
  return out;
}

struct SqliteApiStore::Impl {
  sqlite3* db = nullptr;
  std::mutex mu;
  ~Impl() { sqlite3_close(db); }
};

SqliteApiStore::SqliteApiStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteApiStore::~SqliteApiStore() = default;

Result<std::unique_ptr<SqliteApiStore>> SqliteApiStore::open(const std::filesystem::path& path) {
  auto impl = std::make_unique<Impl>();
  if (sqlite3_open(path.c_str(), &impl->db) != SQLITE_OK) {
    return unavailable("cannot open the console database " + path.string() + ": " +
                       (impl->db ? sqlite3_errmsg(impl->db) : "out of memory"));
  }
  sqlite3_busy_timeout(impl->db, 5000);
  const char* schema = R"(
    PRAGMA journal_mode=WAL;
    CREATE TABLE IF NOT EXISTS api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
      hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL, apis TEXT NOT NULL DEFAULT '[]',
      rate_per_minute REAL NOT NULL DEFAULT 0, created_us INTEGER NOT NULL, revoked_us INTEGER);
    CREATE TABLE IF NOT EXISTS saved_items (id TEXT PRIMARY KEY, kind TEXT NOT NULL,
      name TEXT NOT NULL, owner TEXT NOT NULL, body TEXT NOT NULL, created_us INTEGER NOT NULL,
      updated_us INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS saved_items_kind ON saved_items(kind, name);)";
  char* err = nullptr;
  if (sqlite3_exec(impl->db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "?";
    sqlite3_free(err);
    return unavailable("console database " + path.string() + ": " + m);
  }
  return std::unique_ptr<SqliteApiStore>(new SqliteApiStore(std::move(impl)));
}

Result<NewKey> SqliteApiStore::create_key(const std::string& name, Role role,
                                          const std::vector<std::string>& apis,
                                          double rate_per_minute) {
  if (name.empty() || name.size() > 128)
    return invalid_argument("a key needs a name of 1 to 128 characters");
  if (!apis.empty() && role != Role::kService)
    return invalid_argument("only service keys are scoped to data APIs");
  if (rate_per_minute < 0) return invalid_argument("the rate limit must be 0 (none) or positive");
  NewKey k;
  k.secret = "bsk_" + random_hex(24);
  std::string hash = sha256_hex(k.secret);
  k.key.id = "k_" + hash.substr(0, 12);
  k.key.name = name;
  k.key.role = role;
  k.key.apis = apis;
  k.key.rate_per_minute = rate_per_minute;
  k.key.created_us = now_us();
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "INSERT INTO api_keys (id, name, hash, role, apis, rate_per_minute, created_us) VALUES "
         "(?,?,?,?,?,?,?)");
  s.bind(k.key.id)
      .bind(name)
      .bind(hash)
      .bind(std::string(role_name(role)))
      .bind(nlohmann::json(apis).dump())
      .bind(rate_per_minute)
      .bind(k.key.created_us);
  auto r = s.step();
  if (!r) {
    if (r.status().code() == StatusCode::kAlreadyExists)
      return invalid_argument("a key named '" + name + "' exists already");
    return r.status();
  }
  return k;
}

Result<std::vector<ApiKey>> SqliteApiStore::list_keys() {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT id, name, role, apis, rate_per_minute, created_us, revoked_us FROM api_keys ORDER "
         "BY created_us, name");
  std::vector<ApiKey> out;
  while (true) {
    auto r = s.step();
    if (!r) return r.status();
    if (!*r) break;
    out.push_back(key_of(s));
  }
  return out;
}

Status SqliteApiStore::revoke_key(const std::string& id_or_name) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "UPDATE api_keys SET revoked_us = ? WHERE (id = ? OR name = ?) AND revoked_us IS NULL");
  s.bind(now_us()).bind(id_or_name).bind(id_or_name);
  auto r = s.step();
  if (!r) return r.status();
  if (sqlite3_changes(impl_->db) == 0)
    return not_found("no live key with id or name '" + id_or_name + "'");
  return Status::ok();
}

Result<std::optional<ApiKey>> SqliteApiStore::find_by_secret(const std::string& secret) {
  std::string hash = sha256_hex(secret);
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT id, name, role, apis, rate_per_minute, created_us, revoked_us FROM api_keys WHERE "
         "hash = ? AND revoked_us IS NULL");
  s.bind(hash);
  auto r = s.step();
  if (!r) return r.status();
  if (!*r) return std::optional<ApiKey>();
  return std::optional<ApiKey>(key_of(s));
}

Result<SavedItem> SqliteApiStore::create_item(const std::string& kind, const std::string& name,
                                              const std::string& owner, const std::string& body) {
  SavedItem it{(kind == "chart" ? "c_" : "d_") + random_hex(8), name, owner, body, now_us(), 0};
  it.updated_us = it.created_us;
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "INSERT INTO saved_items (id, kind, name, owner, body, created_us, updated_us) VALUES "
         "(?,?,?,?,?,?,?)");
  s.bind(it.id)
      .bind(kind)
      .bind(name)
      .bind(owner)
      .bind(body)
      .bind(it.created_us)
      .bind(it.updated_us);
  auto r = s.step();
  if (!r) return r.status();
  return it;
}

Result<std::vector<SavedItem>> SqliteApiStore::list_items(const std::string& kind) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT id, name, owner, body, created_us, updated_us FROM saved_items WHERE kind = ? "
         "ORDER BY name, id");
  s.bind(kind);
  std::vector<SavedItem> out;
  while (true) {
    auto r = s.step();
    if (!r) return r.status();
    if (!*r) break;
    out.push_back(item_of(s));
  }
  return out;
}

Result<SavedItem> SqliteApiStore::get_item(const std::string& kind, const std::string& id) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT id, name, owner, body, created_us, updated_us FROM saved_items WHERE kind = ? AND "
         "id = ?");
  s.bind(kind).bind(id);
  auto r = s.step();
  if (!r) return r.status();
  if (!*r) return not_found("no " + kind + " with id '" + id + "'");
  return item_of(s);
}

Result<SavedItem> SqliteApiStore::update_item(const std::string& kind, const std::string& id,
                                              const std::string& name, const std::string& body) {
  {
    std::lock_guard lock(impl_->mu);
    Stmt s(impl_->db,
           "UPDATE saved_items SET name = ?, body = ?, updated_us = ? WHERE kind = ? AND id = ?");
    s.bind(name).bind(body).bind(now_us()).bind(kind).bind(id);
    auto r = s.step();
    if (!r) return r.status();
    if (sqlite3_changes(impl_->db) == 0) return not_found("no " + kind + " with id '" + id + "'");
  }
  return get_item(kind, id);
}

Status SqliteApiStore::delete_item(const std::string& kind, const std::string& id) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "DELETE FROM saved_items WHERE kind = ? AND id = ?");
  s.bind(kind).bind(id);
  auto r = s.step();
  if (!r) return r.status();
  if (sqlite3_changes(impl_->db) == 0) return not_found("no " + kind + " with id '" + id + "'");
  return Status::ok();
}

}  // namespace basalt::api
