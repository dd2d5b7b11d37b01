// The SQLite MetadataStore: one connection in WAL mode, serialised by a mutex. Tables in
// docs/domino.md.

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "domino/metadata_sql.h"
#include "domino/metadata_store.h"

namespace basalt::domino {

namespace {

constexpr std::array<const char*, 4> kRunStates = {"queued", "running", "success", "failed"};
constexpr std::array<const char*, 3> kRunTypes = {"scheduled", "manual", "backfill"};
constexpr std::array<const char*, 9> kTaskStates = {"none",         "scheduled", "queued",
                                                    "running",      "success",   "failed",
                                                    "up_for_retry", "skipped",   "upstream_failed"};

const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS dags (
  dag_id TEXT PRIMARY KEY, paused INTEGER NOT NULL DEFAULT 0, hash TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS dag_versions (
  dag_id TEXT NOT NULL, hash TEXT NOT NULL, first_seen_us INTEGER NOT NULL,
  PRIMARY KEY (dag_id, hash));
CREATE TABLE IF NOT EXISTS dag_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, dag_id TEXT NOT NULL, run_id TEXT NOT NULL,
  run_type TEXT NOT NULL, state TEXT NOT NULL, logical_date INTEGER NOT NULL,
  interval_start INTEGER NOT NULL, interval_end INTEGER NOT NULL, dag_hash TEXT NOT NULL,
  params TEXT NOT NULL, created_us INTEGER NOT NULL, started_us INTEGER NOT NULL,
  ended_us INTEGER NOT NULL, owner TEXT NOT NULL DEFAULT '',
  lease_until_us INTEGER NOT NULL DEFAULT 0, UNIQUE (dag_id, run_id));
CREATE INDEX IF NOT EXISTS dag_runs_by_state ON dag_runs (state);
CREATE INDEX IF NOT EXISTS dag_runs_by_date ON dag_runs (dag_id, logical_date);
CREATE TABLE IF NOT EXISTS task_instances (
  run INTEGER NOT NULL, task_id TEXT NOT NULL, state TEXT NOT NULL, try_number INTEGER NOT NULL,
  next_try_us INTEGER NOT NULL, pid INTEGER NOT NULL, pid_token TEXT NOT NULL, host TEXT NOT NULL,
  started_us INTEGER NOT NULL, ended_us INTEGER NOT NULL, message TEXT NOT NULL,
  PRIMARY KEY (run, task_id));
CREATE INDEX IF NOT EXISTS task_instances_by_state ON task_instances (state);
CREATE TABLE IF NOT EXISTS task_attempts (
  run INTEGER NOT NULL, task_id TEXT NOT NULL, try_number INTEGER NOT NULL, state TEXT NOT NULL,
  started_us INTEGER NOT NULL, ended_us INTEGER NOT NULL, pid INTEGER NOT NULL,
  exit_code INTEGER NOT NULL, log_path TEXT NOT NULL, message TEXT NOT NULL,
  PRIMARY KEY (run, task_id, try_number));
)";

template <size_t N>
int index_of(const std::array<const char*, N>& names, const std::string& s) {
  for (size_t i = 0; i < N; ++i)
    if (s == names[i]) return static_cast<int>(i);
  return -1;
}

// Prepared statements kept for the connection's life, by SQL text, so the scheduler's many small
// writes do not parse their SQL again. Not thread-safe: used under the store's mutex.
class StatementCache {
 public:
  ~StatementCache() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  }
  // The cached statement for `sql` (prepared on first use); rc set on a prepare error.
  sqlite3_stmt* get(sqlite3* db, const char* sql, int& rc) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
    if (rc == SQLITE_OK) cache_.emplace(sql, stmt);
    return stmt;
  }

 private:
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// One prepared statement; binds by position from 1. With a cache, the statement is taken from
// it and reset (not finalized) at the end.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  Statement(sqlite3* db, const char* sql, StatementCache& cache) : db_(db), cached_(true) {
    stmt_ = cache.get(db, sql, rc_);
  }
  ~Statement() {
    if (!cached_) {
      sqlite3_finalize(stmt_);
    } else if (stmt_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, ++n_, v);
    return *this;
  }
  Statement& bind(const std::string& v) {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_text(stmt_, ++n_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // True while a row is available.
  Result<bool> step() {
    if (rc_ != SQLITE_OK) return error();
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    rc_ = rc;
    return error();
  }
  Status run() {
    auto r = step();
    return r.status();
  }
  bool null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : "";
  }

 private:
  Status error() const {
    StatusCode code = rc_ == SQLITE_CONSTRAINT ? StatusCode::kAlreadyExists
                      : rc_ == SQLITE_BUSY     ? StatusCode::kUnavailable
                                               : StatusCode::kInternal;
    return Status(code, fmt::format("metadata store: {}", sqlite3_errmsg(db_)));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool cached_ = false;
  int rc_ = SQLITE_OK;
  int n_ = 0;
};

using metadata_sql::kRunColumns;
using metadata_sql::kTiColumns;

std::string question_mark(size_t) { return "?"; }

DagRun read_run(const Statement& s, int c = 0) {
  DagRun r;
  r.id = s.i64(c);
  r.dag_id = s.text(c + 1);
  r.run_id = s.text(c + 2);
  r.type = static_cast<RunType>(std::max(0, index_of(kRunTypes, s.text(c + 3))));
  r.state = static_cast<RunState>(std::max(0, index_of(kRunStates, s.text(c + 4))));
  r.logical_date = s.i64(c + 5);
  r.interval_start = s.i64(c + 6);
  r.interval_end = s.i64(c + 7);
  r.dag_hash = s.text(c + 8);
  r.params = nlohmann::json::parse(s.text(c + 9), nullptr, false);
  if (r.params.is_discarded()) r.params = nlohmann::json::object();
  r.created_us = s.i64(c + 10);
  r.started_us = s.i64(c + 11);
  r.ended_us = s.i64(c + 12);
  r.owner = s.text(c + 13);
  r.lease_until_us = s.i64(c + 14);
  return r;
}

TaskInstance read_ti(const Statement& s) {
  TaskInstance t;
  t.run = s.i64(0);
  t.task_id = s.text(1);
  t.state = static_cast<TaskState>(std::max(0, index_of(kTaskStates, s.text(2))));
  t.try_number = static_cast<int>(s.i64(3));
  t.next_try_us = s.i64(4);
  t.pid = s.i64(5);
  t.pid_token = s.text(6);
  t.host = s.text(7);
  t.started_us = s.i64(8);
  t.ended_us = s.i64(9);
  t.message = s.text(10);
  return t;
}

class SqliteMetadataStore final : public MetadataStore {
 public:
  explicit SqliteMetadataStore(sqlite3* db) : db_(db) {}
  // close_v2: the cached statements are finalized after this, when the members go.
  ~SqliteMetadataStore() override { sqlite3_close_v2(db_); }

  Status init() {
    char* err = nullptr;
    std::string sql = std::string(
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                          "PRAGMA busy_timeout=5000;") +
                      kSchema;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "unknown";
      sqlite3_free(err);
      return internal_error("metadata store: cannot create tables: " + m);
    }
    // A database made before runs had owners gets the columns.
    bool has_owner = false;
    {
      Statement s(db_, "SELECT 1 FROM pragma_table_info('dag_runs') WHERE name = 'owner'");
      auto row = s.step();
      if (!row) return row.status();
      has_owner = *row;
    }
    if (!has_owner) {
      BASALT_RETURN_IF_ERROR(
          exec("ALTER TABLE dag_runs ADD COLUMN owner TEXT NOT NULL DEFAULT ''"));
      BASALT_RETURN_IF_ERROR(
          exec("ALTER TABLE dag_runs ADD COLUMN lease_until_us INTEGER NOT NULL DEFAULT 0"));
    }
    return Status::ok();
  }

  Status transaction(const std::function<Status()>& fn) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (in_transaction_) return fn();  // nested: part of the outer one
    BASALT_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
    in_transaction_ = true;
    Status s = fn();
    in_transaction_ = false;
    if (!s.is_ok()) {
      Status r = exec("ROLLBACK");
      if (!r.is_ok()) return r;
      return s;
    }
    return exec("COMMIT");
  }

  Result<uint64_t> version() override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    Statement s(db_, "PRAGMA data_version", cache_);
    auto row = s.step();
    if (!row) return row.status();
    // data_version changes when another connection commits; writes_ counts this one's.
    return (static_cast<uint64_t>(s.i64(0)) << 32) + writes_;
  }

  Status record_dag(const std::string& dag_id, const std::string& hash, int64_t now_us) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    wrote();
    BASALT_RETURN_IF_ERROR(Statement(db_,
                                     "INSERT INTO dags (dag_id, hash) VALUES (?, ?) "
                                     "ON CONFLICT (dag_id) DO UPDATE SET hash = excluded.hash",
                                     cache_)
                               .bind(dag_id)
                               .bind(hash)
                               .run());
    return Statement(db_, "INSERT OR IGNORE INTO dag_versions VALUES (?, ?, ?)", cache_)
        .bind(dag_id)
        .bind(hash)
        .bind(now_us)
        .run();
  }

  Result<std::vector<DagVersion>> dag_versions(const std::string& dag_id) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    Statement s(
        db_, "SELECT hash, first_seen_us FROM dag_versions WHERE dag_id = ? ORDER BY first_seen_us",
        cache_);
    s.bind(dag_id);
    std::vector<DagVersion> out;
    while (true) {
      auto row = s.step();
      if (!row) return row.status();
      if (!*row) return out;
      out.push_back({s.text(0), s.i64(1)});
    }
  }

  Result<bool> is_paused(const std::string& dag_id) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    Statement s(db_, "SELECT paused FROM dags WHERE dag_id = ?", cache_);
    s.bind(dag_id);
    auto row = s.step();
    if (!row) return row.status();
    return *row && s.i64(0) != 0;
  }

  Status set_paused(const std::string& dag_id, bool paused) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    wrote();
    return Statement(db_,
                     "INSERT INTO dags (dag_id, paused) VALUES (?, ?) "
                     "ON CONFLICT (dag_id) DO UPDATE SET paused = excluded.paused",
                     cache_)
        .bind(dag_id)
        .bind(int64_t{paused})
        .run();
  }

  Result<DagRun> create_run(const DagRun& run) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    wrote();
    Statement s(
        db_,
        "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date, "
        "interval_start, interval_end, dag_hash, params, created_us, started_us, "
        "ended_us, owner, lease_until_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        cache_);
    s.bind(run.dag_id)
        .bind(run.run_id)
        .bind(std::string(run_type_name(run.type)))
        .bind(std::string(run_state_name(run.state)))
        .bind(run.logical_date)
        .bind(run.interval_start)
        .bind(run.interval_end)
        .bind(run.dag_hash)
        .bind(run.params.dump())
        .bind(run.created_us)
        .bind(run.started_us)
        .bind(run.ended_us)
        .bind(run.owner)
        .bind(run.lease_until_us);
    Status st = s.run();
    if (!st.is_ok()) {
      if (st.code() == StatusCode::kAlreadyExists) {
        return Status(StatusCode::kAlreadyExists,
                      fmt::format("DAG {} already has a run {}", run.dag_id, run.run_id));
      }
      return st;
    }
    DagRun out = run;
    out.id = sqlite3_last_insert_rowid(db_);
    return out;
  }

  Status update_run(const DagRun& run) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    wrote();
    return Statement(db_,
                     "UPDATE dag_runs SET state = ?, started_us = ?, ended_us = ?, params = ? "
                     "WHERE id = ?",
                     cache_)
        .bind(std::string(run_state_name(run.state)))
        .bind(run.started_us)
        .bind(run.ended_us)
        .bind(run.params.dump())
        .bind(run.id)
        .run();
  }

  Result<std::vector<DagRun>> runs_where(const std::string& where,
                                         const std::vector<metadata_sql::Arg>& args) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    std::string sql = fmt::format("SELECT {} FROM dag_runs {}", kRunColumns, where);
    Statement s(db_, sql.c_str(), cache_);
    for (const auto& a : args) std::visit([&](const auto& v) { s.bind(v); }, a);
    std::vector<DagRun> out;
    while (true) {
      auto row = s.step();
      if (!row) return row.status();
      if (!*row) return out;
      out.push_back(read_run(s));
    }
  }

  Result<std::optional<DagRun>> find_run(const std::string& dag_id,
                                         const std::string& run_id) override {
    auto runs = runs_where("WHERE dag_id = ? AND run_id = ?", {dag_id, run_id});
    return metadata_sql::first_run(std::move(runs));
  }

  Result<std::optional<DagRun>> run_by_id(int64_t id) override {
    auto runs = runs_where("WHERE id = ?", {id});
    return metadata_sql::first_run(std::move(runs));
  }

  Result<std::vector<DagRun>> list_runs(const RunFilter& f) override {
    auto w = metadata_sql::list_runs_where(f, question_mark);
    return runs_where(w.sql, w.args);
  }

  Result<std::vector<DagRun>> active_runs() override {
    return runs_where("WHERE state IN ('queued', 'running') ORDER BY id", {});
  }

  Result<std::vector<int64_t>> claim_runs(const std::string& owner, int64_t now_us,
                                          int64_t lease_until_us, size_t limit) override {
    std::vector<int64_t> out;
    // SQLite has one writer at a time, so the transaction alone makes the claim safe.
    Status st = transaction([&]() -> Status {
      wrote();
      BASALT_RETURN_IF_ERROR(
          Statement(db_,
                    "UPDATE dag_runs SET lease_until_us = ? WHERE owner = ? AND state IN "
                    "('queued', 'running')",
                    cache_)
              .bind(lease_until_us)
              .bind(owner)
              .run());
      BASALT_RETURN_IF_ERROR(
          Statement(db_,
                    "UPDATE dag_runs SET owner = ?, lease_until_us = ? WHERE id IN (SELECT id "
                    "FROM dag_runs WHERE state IN ('queued', 'running') AND owner <> ? AND "
                    "(owner = '' OR lease_until_us < ?) ORDER BY run_type = 'backfill', "
                    "logical_date, id LIMIT ?)",
                    cache_)
              .bind(owner)
              .bind(lease_until_us)
              .bind(owner)
              .bind(now_us)
              .bind(static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)))
              .run());
      Statement s(db_,
                  "SELECT id FROM dag_runs WHERE owner = ? AND state IN ('queued', 'running') "
                  "ORDER BY id",
                  cache_);
      s.bind(owner);
      while (true) {
        auto row = s.step();
        if (!row) return row.status();
        if (!*row) return Status::ok();
        out.push_back(s.i64(0));
      }
    });
    if (!st.is_ok()) return st;
    return out;
  }

  Result<std::optional<UnixSeconds>> last_scheduled_date(const std::string& dag_id) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    Statement s(
        db_, "SELECT max(logical_date) FROM dag_runs WHERE dag_id = ? AND run_type = 'scheduled'",
        cache_);
    s.bind(dag_id);
    auto row = s.step();
    if (!row) return row.status();
    if (!*row || s.null(0)) return std::optional<UnixSeconds>();
    return std::optional<UnixSeconds>(s.i64(0));
  }

  Result<std::vector<TaskInstance>> tis_where(
      const std::string& where, const std::vector<std::variant<int64_t, std::string>>& args) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    std::string sql = fmt::format("SELECT {} FROM task_instances {}", kTiColumns, where);
    Statement s(db_, sql.c_str(), cache_);
    for (const auto& a : args) std::visit([&](const auto& v) { s.bind(v); }, a);
    std::vector<TaskInstance> out;
    while (true) {
      auto row = s.step();
      if (!row) return row.status();
      if (!*row) return out;
      out.push_back(read_ti(s));
    }
  }

  Result<std::vector<TaskInstance>> task_instances(int64_t run) override {
    return tis_where("WHERE run = ?", {run});
  }

  Result<std::vector<TaskInstance>> running_task_instances() override {
    return tis_where("WHERE state = 'running'", {});
  }

  Status save_task_instance(const TaskInstance& t) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    wrote();
    return Statement(
               db_,
               "INSERT OR REPLACE INTO task_instances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               cache_)
        .bind(t.run)
        .bind(t.task_id)
        .bind(std::string(task_state_name(t.state)))
        .bind(int64_t{t.try_number})
        .bind(t.next_try_us)
        .bind(t.pid)
        .bind(t.pid_token)
        .bind(t.host)
        .bind(t.started_us)
        .bind(t.ended_us)
        .bind(t.message)
        .run();
  }

  Result<std::vector<std::pair<DagRun, TaskState>>> task_states_between(const std::string& dag_id,
                                                                        const std::string& task_id,
                                                                        UnixSeconds from,
                                                                        UnixSeconds to) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    Statement s(db_,
                fmt::format("SELECT r.id, r.dag_id, r.run_id, r.run_type, r.state, r.logical_date, "
                            "r.interval_start, r.interval_end, r.dag_hash, r.params, r.created_us, "
                            "r.started_us, r.ended_us, coalesce(t.state, 'none') FROM dag_runs r "
                            "LEFT JOIN task_instances t ON t.run = r.id AND t.task_id = ? "
                            "WHERE r.dag_id = ? AND r.logical_date >= ? AND r.logical_date < ? "
                            "ORDER BY r.logical_date")
                    .c_str(),
                cache_);
    s.bind(task_id).bind(dag_id).bind(from).bind(to);
    std::vector<std::pair<DagRun, TaskState>> out;
    while (true) {
      auto row = s.step();
      if (!row) return row.status();
      if (!*row) return out;
      out.emplace_back(read_run(s),
                       static_cast<TaskState>(std::max(0, index_of(kTaskStates, s.text(13)))));
    }
  }

  Status save_attempt(const TaskAttempt& a) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    wrote();
    return Statement(db_,
                     "INSERT OR REPLACE INTO task_attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     cache_)
        .bind(a.run)
        .bind(a.task_id)
        .bind(int64_t{a.try_number})
        .bind(std::string(task_state_name(a.state)))
        .bind(a.started_us)
        .bind(a.ended_us)
        .bind(a.pid)
        .bind(int64_t{a.exit_code})
        .bind(a.log_path)
        .bind(a.message)
        .run();
  }

  Result<std::vector<TaskAttempt>> attempts(int64_t run, const std::string& task_id) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    Statement s(db_,
                "SELECT try_number, state, started_us, ended_us, pid, exit_code, log_path, message "
                "FROM task_attempts WHERE run = ? AND task_id = ? ORDER BY try_number",
                cache_);
    s.bind(run).bind(task_id);
    std::vector<TaskAttempt> out;
    while (true) {
      auto row = s.step();
      if (!row) return row.status();
      if (!*row) return out;
      TaskAttempt a;
      a.run = run;
      a.task_id = task_id;
      a.try_number = static_cast<int>(s.i64(0));
      a.state = static_cast<TaskState>(std::max(0, index_of(kTaskStates, s.text(1))));
      a.started_us = s.i64(2);
      a.ended_us = s.i64(3);
      a.pid = s.i64(4);
      a.exit_code = static_cast<int>(s.i64(5));
      a.log_path = s.text(6);
      a.message = s.text(7);
      out.push_back(std::move(a));
    }
  }

 private:
  Status exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "unknown";
      sqlite3_free(err);
      return internal_error(fmt::format("metadata store: {}: {}", sql, m));
    }
    return Status::ok();
  }

  // Counts writes through this object, so version() changes with them.
  void wrote() { ++writes_; }

  std::recursive_mutex mu_;      // held through a transaction()
  sqlite3* db_;                  // protected by mu_
  StatementCache cache_;         // protected by mu_; declared after db_ so it is finalized first
  uint64_t writes_ = 0;          // protected by mu_
  bool in_transaction_ = false;  // protected by mu_
};

}  // namespace

const char* run_state_name(RunState s) { return kRunStates[static_cast<size_t>(s)]; }
const char* run_type_name(RunType t) { return kRunTypes[static_cast<size_t>(t)]; }
const char* task_state_name(TaskState s) { return kTaskStates[static_cast<size_t>(s)]; }
std::optional<RunState> parse_run_state(const std::string& s) {
  int i = index_of(kRunStates, s);
  if (i < 0) return std::nullopt;
  return static_cast<RunState>(i);
}
std::optional<TaskState> parse_task_state(const std::string& s) {
  int i = index_of(kTaskStates, s);
  if (i < 0) return std::nullopt;
  return static_cast<TaskState>(i);
}
bool is_finished(TaskState s) {
  return s == TaskState::kSuccess || s == TaskState::kFailed || s == TaskState::kSkipped ||
         s == TaskState::kUpstreamFailed;
}

Result<std::unique_ptr<MetadataStore>> open_metadata_store(const std::string& spec,
                                                           const std::filesystem::path& data_dir) {
  if (spec.empty()) return open_sqlite_metadata_store(data_dir / "domino.db");
  if (spec.starts_with("postgres://") || spec.starts_with("postgresql://")) {
    return open_postgres_metadata_store(spec);
  }
  std::filesystem::path path = spec.starts_with("sqlite:") ? spec.substr(7) : spec;
  if (path.empty()) return invalid_argument("domino.store: sqlite: needs a file path");
  return open_sqlite_metadata_store(path.is_absolute() ? path : data_dir / path);
}

Result<std::unique_ptr<MetadataStore>> open_sqlite_metadata_store(
    const std::filesystem::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return unavailable(fmt::format("cannot open {}: {}", path.string(), m));
  }
  auto store = std::make_unique<SqliteMetadataStore>(db);
  BASALT_RETURN_IF_ERROR(store->init());
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace basalt::domino
