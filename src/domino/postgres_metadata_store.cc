// The PostgreSQL MetadataStore (libpq): one connection, serialised by a mutex, the same tables
// as the SQLite store (docs/domino.md). Several schedulers may share one database: each drives
// the runs it holds a lease on (claim_runs, FOR UPDATE SKIP LOCKED), and every write
// transaction bumps one counter row (domino_version) so that each can tell when another wrote.

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "domino/metadata_sql.h"
#include "domino/metadata_store.h"

namespace basalt::domino {

namespace {

const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS dags (
  dag_id TEXT PRIMARY KEY, paused BOOLEAN NOT NULL DEFAULT false, hash TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS dag_versions (
  dag_id TEXT NOT NULL, hash TEXT NOT NULL, first_seen_us BIGINT NOT NULL,
  PRIMARY KEY (dag_id, hash));
CREATE TABLE IF NOT EXISTS dag_runs (
  id BIGSERIAL PRIMARY KEY, dag_id TEXT NOT NULL, run_id TEXT NOT NULL,
  run_type TEXT NOT NULL, state TEXT NOT NULL, logical_date BIGINT NOT NULL,
  interval_start BIGINT NOT NULL, interval_end BIGINT NOT NULL, dag_hash TEXT NOT NULL,
  params TEXT NOT NULL, created_us BIGINT NOT NULL, started_us BIGINT NOT NULL,
  ended_us BIGINT NOT NULL, owner TEXT NOT NULL DEFAULT '', lease_until_us BIGINT NOT NULL DEFAULT 0,
  UNIQUE (dag_id, run_id));
CREATE INDEX IF NOT EXISTS dag_runs_by_state ON dag_runs (state);
CREATE INDEX IF NOT EXISTS dag_runs_by_date ON dag_runs (dag_id, logical_date);
CREATE TABLE IF NOT EXISTS task_instances (
  run BIGINT NOT NULL, task_id TEXT NOT NULL, state TEXT NOT NULL, try_number INTEGER NOT NULL,
  next_try_us BIGINT NOT NULL, pid BIGINT NOT NULL, pid_token TEXT NOT NULL, host TEXT NOT NULL,
  started_us BIGINT NOT NULL, ended_us BIGINT NOT NULL, message TEXT NOT NULL,
  PRIMARY KEY (run, task_id));
CREATE INDEX IF NOT EXISTS task_instances_by_state ON task_instances (state);
CREATE TABLE IF NOT EXISTS task_attempts (
  run BIGINT NOT NULL, task_id TEXT NOT NULL, try_number INTEGER NOT NULL, state TEXT NOT NULL,
  started_us BIGINT NOT NULL, ended_us BIGINT NOT NULL, pid BIGINT NOT NULL,
  exit_code INTEGER NOT NULL, log_path TEXT NOT NULL, message TEXT NOT NULL,
  PRIMARY KEY (run, task_id, try_number));
CREATE TABLE IF NOT EXISTS domino_version (one INTEGER PRIMARY KEY CHECK (one = 1), n BIGINT NOT NULL);
INSERT INTO domino_version VALUES (1, 0) ON CONFLICT DO NOTHING;
)";

using metadata_sql::kRunColumns;
using metadata_sql::kTiColumns;

std::string numbered_placeholder(size_t n) { return "$" + std::to_string(n); }

// A query's result; owns the PGresult.
class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r) {}
  ~Rows() { PQclear(r_); }
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  Rows(Rows&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }

  int size() const { return PQntuples(r_); }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col); }
  std::string text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), PQgetlength(r_, row, col));
  }
  int64_t i64(int row, int col) const {
    return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
  }

 private:
  PGresult* r_;
};

// A parameter of a query, in text form.
struct Param {
  Param(const std::string& s) : text(s) {}       // NOLINT(google-explicit-constructor)
  Param(const char* s) : text(s) {}              // NOLINT(google-explicit-constructor)
  Param(int64_t v) : text(std::to_string(v)) {}  // NOLINT(google-explicit-constructor)
  Param(int v) : text(std::to_string(v)) {}      // NOLINT(google-explicit-constructor)
  Param(bool v) : text(v ? "true" : "false") {}  // NOLINT(google-explicit-constructor)
  std::string text;
};

DagRun read_run(const Rows& r, int row) {
  DagRun run;
  run.id = r.i64(row, 0);
  run.dag_id = r.text(row, 1);
  run.run_id = r.text(row, 2);
  std::string type = r.text(row, 3);
  run.type = type == "manual"     ? RunType::kManual
             : type == "backfill" ? RunType::kBackfill
                                  : RunType::kScheduled;
  run.state = parse_run_state(r.text(row, 4)).value_or(RunState::kQueued);
  run.logical_date = r.i64(row, 5);
  run.interval_start = r.i64(row, 6);
  run.interval_end = r.i64(row, 7);
  run.dag_hash = r.text(row, 8);
  run.params = nlohmann::json::parse(r.text(row, 9), nullptr, false);
  if (run.params.is_discarded()) run.params = nlohmann::json::object();
  run.created_us = r.i64(row, 10);
  run.started_us = r.i64(row, 11);
  run.ended_us = r.i64(row, 12);
  run.owner = r.text(row, 13);
  run.lease_until_us = r.i64(row, 14);
  return run;
}

TaskInstance read_ti(const Rows& r, int row) {
  TaskInstance t;
  t.run = r.i64(row, 0);
  t.task_id = r.text(row, 1);
  t.state = parse_task_state(r.text(row, 2)).value_or(TaskState::kNone);
  t.try_number = static_cast<int>(r.i64(row, 3));
  t.next_try_us = r.i64(row, 4);
  t.pid = r.i64(row, 5);
  t.pid_token = r.text(row, 6);
  t.host = r.text(row, 7);
  t.started_us = r.i64(row, 8);
  t.ended_us = r.i64(row, 9);
  t.message = r.text(row, 10);
  return t;
}

class PostgresMetadataStore final : public MetadataStore {
 public:
  explicit PostgresMetadataStore(PGconn* conn) : conn_(conn) {}
  ~PostgresMetadataStore() override { PQfinish(conn_); }

  Status init() {
    // Two schedulers starting at once must not race on CREATE TABLE: an advisory lock orders them.
    return transaction([&]() -> Status {
      BASALT_RETURN_IF_ERROR(query("SELECT pg_advisory_xact_lock(4242001)", {}).status());
      PGresult* r = PQexec(conn_, kSchema);
      Status s = check(r, "create tables");
      PQclear(r);
      return s;
    });
  }

  Status transaction(const std::function<Status()>& fn) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (in_transaction_) return fn();  // nested: part of the outer one
    BASALT_RETURN_IF_ERROR(exec("BEGIN"));
    in_transaction_ = true;
    wrote_ = false;
    Status s = fn();
    if (s.is_ok() && wrote_) s = bump().status();
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
    // Inside a transaction with writes, the bump happens now, so the number returned is the
    // one this transaction commits (the row stays locked by it until then).
    if (in_transaction_ && wrote_) return bump();
    auto r = query("SELECT n FROM domino_version", {});
    if (!r) return r.status();
    return static_cast<uint64_t>(r->i64(0, 0));
  }

  Status record_dag(const std::string& dag_id, const std::string& hash, int64_t now_us) override {
    return write([&]() -> Status {
      BASALT_RETURN_IF_ERROR(query("INSERT INTO dags (dag_id, hash) VALUES ($1, $2) "
                                   "ON CONFLICT (dag_id) DO UPDATE SET hash = excluded.hash",
                                   {dag_id, hash})
                                 .status());
      return query("INSERT INTO dag_versions VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                   {dag_id, hash, now_us})
          .status();
    });
  }

  Result<std::vector<DagVersion>> dag_versions(const std::string& dag_id) override {
    auto r = query(
        "SELECT hash, first_seen_us FROM dag_versions WHERE dag_id = $1 ORDER BY first_seen_us",
        {dag_id});
    if (!r) return r.status();
    std::vector<DagVersion> out;
    for (int i = 0; i < r->size(); ++i) out.push_back({r->text(i, 0), r->i64(i, 1)});
    return out;
  }

  Result<bool> is_paused(const std::string& dag_id) override {
    auto r = query("SELECT paused FROM dags WHERE dag_id = $1", {dag_id});
    if (!r) return r.status();
    return r->size() > 0 && r->text(0, 0) == "t";
  }

  Status set_paused(const std::string& dag_id, bool paused) override {
    return write([&] {
      return query(
                 "INSERT INTO dags (dag_id, paused) VALUES ($1, $2) "
                 "ON CONFLICT (dag_id) DO UPDATE SET paused = excluded.paused",
                 {dag_id, paused})
          .status();
    });
  }

  Result<DagRun> create_run(const DagRun& run) override {
    Result<DagRun> out = internal_error("create_run did not run");
    Status s = write([&]() -> Status {
      // ON CONFLICT DO NOTHING rather than an error: an error would abort the whole transaction.
      auto r = query(
          fmt::format("INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date, "
                      "interval_start, interval_end, dag_hash, params, created_us, started_us, "
                      "ended_us, owner, lease_until_us) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                      "$8, $9, $10, $11, $12, $13, $14) ON CONFLICT (dag_id, run_id) DO "
                      "NOTHING RETURNING {}",
                      kRunColumns),
          {run.dag_id, run.run_id, run_type_name(run.type), run_state_name(run.state),
           run.logical_date, run.interval_start, run.interval_end, run.dag_hash, run.params.dump(),
           run.created_us, run.started_us, run.ended_us, run.owner, run.lease_until_us});
      if (!r) return r.status();
      if (r->size() == 0) {
        return Status(StatusCode::kAlreadyExists,
                      fmt::format("DAG {} already has a run {}", run.dag_id, run.run_id));
      }
      out = read_run(*r, 0);
      return Status::ok();
    });
    if (!s.is_ok()) return s;
    return out;
  }

  Status update_run(const DagRun& run) override {
    return write([&] {
      return query(
                 "UPDATE dag_runs SET state = $1, started_us = $2, ended_us = $3, params = $4 "
                 "WHERE id = $5",
                 {run_state_name(run.state), run.started_us, run.ended_us, run.params.dump(),
                  run.id})
          .status();
    });
  }

  Result<std::vector<DagRun>> runs_where(const std::string& where, const std::vector<Param>& args) {
    auto r = query(fmt::format("SELECT {} FROM dag_runs {}", kRunColumns, where), args);
    if (!r) return r.status();
    std::vector<DagRun> out;
    for (int i = 0; i < r->size(); ++i) out.push_back(read_run(*r, i));
    return out;
  }

  Result<std::optional<DagRun>> find_run(const std::string& dag_id,
                                         const std::string& run_id) override {
    return metadata_sql::first_run(
        runs_where("WHERE dag_id = $1 AND run_id = $2", {dag_id, run_id}));
  }

  Result<std::optional<DagRun>> run_by_id(int64_t id) override {
    return metadata_sql::first_run(runs_where("WHERE id = $1", {id}));
  }

  Result<std::vector<DagRun>> list_runs(const RunFilter& f) override {
    auto w = metadata_sql::list_runs_where(f, numbered_placeholder);
    std::vector<Param> args;
    for (auto& a : w.args) std::visit([&](auto& v) { args.emplace_back(std::move(v)); }, a);
    return runs_where(w.sql, args);
  }

  Result<std::vector<DagRun>> active_runs() override {
    return runs_where("WHERE state IN ('queued', 'running') ORDER BY id", {});
  }

  Result<std::vector<int64_t>> claim_runs(const std::string& owner, int64_t now_us,
                                          int64_t lease_until_us, size_t limit) override {
    std::vector<int64_t> out;
    Status s = write([&]() -> Status {
      // Renew what `owner` holds; take up to `limit` more that nobody holds (or whose lease
      // ended), skipping rows another scheduler has locked right now.
      auto mine = query(
          "UPDATE dag_runs SET lease_until_us = $2 WHERE owner = $1 AND state IN "
          "('queued', 'running') RETURNING id",
          {owner, lease_until_us});
      if (!mine) return mine.status();
      for (int i = 0; i < mine->size(); ++i) out.push_back(mine->i64(i, 0));
      auto taken = query(
          "UPDATE dag_runs SET owner = $1, lease_until_us = $2 WHERE id IN ("
          "SELECT id FROM dag_runs WHERE state IN ('queued', 'running') AND owner <> $1 "
          "AND (owner = '' OR lease_until_us < $3) ORDER BY run_type = 'backfill', logical_date, "
          "id "
          "LIMIT $4 "
          "FOR UPDATE SKIP LOCKED) RETURNING id",
          {owner, lease_until_us, now_us,
           static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX))});
      if (!taken) return taken.status();
      for (int i = 0; i < taken->size(); ++i) out.push_back(taken->i64(i, 0));
      return Status::ok();
    });
    if (!s.is_ok()) return s;
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<std::optional<UnixSeconds>> last_scheduled_date(const std::string& dag_id) override {
    auto r =
        query("SELECT max(logical_date) FROM dag_runs WHERE dag_id = $1 AND run_type = 'scheduled'",
              {dag_id});
    if (!r) return r.status();
    if (r->size() == 0 || r->null(0, 0)) return std::optional<UnixSeconds>();
    return std::optional<UnixSeconds>(r->i64(0, 0));
  }

  Result<std::vector<TaskInstance>> tis_where(const std::string& where,
                                              const std::vector<Param>& args) {
    auto r = query(fmt::format("SELECT {} FROM task_instances {}", kTiColumns, where), args);
    if (!r) return r.status();
    std::vector<TaskInstance> out;
    for (int i = 0; i < r->size(); ++i) out.push_back(read_ti(*r, i));
    return out;
  }

  Result<std::vector<TaskInstance>> task_instances(int64_t run) override {
    return tis_where("WHERE run = $1", {run});
  }

  Result<std::vector<TaskInstance>> running_task_instances() override {
    return tis_where("WHERE state = 'running'", {});
  }

  Status save_task_instance(const TaskInstance& t) override {
    return write([&] {
      return query(
                 "INSERT INTO task_instances VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
                 "ON CONFLICT (run, task_id) DO UPDATE SET state = excluded.state, "
                 "try_number = excluded.try_number, next_try_us = excluded.next_try_us, "
                 "pid = excluded.pid, pid_token = excluded.pid_token, host = excluded.host, "
                 "started_us = excluded.started_us, ended_us = excluded.ended_us, "
                 "message = excluded.message",
                 {t.run, t.task_id, task_state_name(t.state), t.try_number, t.next_try_us, t.pid,
                  t.pid_token, t.host, t.started_us, t.ended_us, t.message})
          .status();
    });
  }

  Result<std::vector<std::pair<DagRun, TaskState>>> task_states_between(const std::string& dag_id,
                                                                        const std::string& task_id,
                                                                        UnixSeconds from,
                                                                        UnixSeconds to) override {
    std::string columns;
    for (std::string_view c : {"id", "dag_id", "run_id", "run_type", "state", "logical_date",
                               "interval_start", "interval_end", "dag_hash", "params", "created_us",
                               "started_us", "ended_us", "owner", "lease_until_us"}) {
      columns += fmt::format("{}r.{}", columns.empty() ? "" : ", ", c);
    }
    auto r = query(
        fmt::format("SELECT {}, coalesce(t.state, 'none') FROM dag_runs r LEFT JOIN "
                    "task_instances t ON t.run = r.id AND t.task_id = $1 WHERE r.dag_id = $2 "
                    "AND r.logical_date >= $3 AND r.logical_date < $4 ORDER BY r.logical_date",
                    columns),
        {task_id, dag_id, from, to});
    if (!r) return r.status();
    std::vector<std::pair<DagRun, TaskState>> out;
    for (int i = 0; i < r->size(); ++i) {
      out.emplace_back(read_run(*r, i),
                       parse_task_state(r->text(i, 15)).value_or(TaskState::kNone));
    }
    return out;
  }

  Status save_attempt(const TaskAttempt& a) override {
    return write([&] {
      return query(
                 "INSERT INTO task_attempts VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                 "ON CONFLICT (run, task_id, try_number) DO UPDATE SET state = excluded.state, "
                 "started_us = excluded.started_us, ended_us = excluded.ended_us, pid = "
                 "excluded.pid, "
                 "exit_code = excluded.exit_code, log_path = excluded.log_path, "
                 "message = excluded.message",
                 {a.run, a.task_id, a.try_number, task_state_name(a.state), a.started_us,
                  a.ended_us, a.pid, a.exit_code, a.log_path, a.message})
          .status();
    });
  }

  Result<std::vector<TaskAttempt>> attempts(int64_t run, const std::string& task_id) override {
    auto r = query(
        "SELECT try_number, state, started_us, ended_us, pid, exit_code, log_path, message "
        "FROM task_attempts WHERE run = $1 AND task_id = $2 ORDER BY try_number",
        {run, task_id});
    if (!r) return r.status();
    std::vector<TaskAttempt> out;
    for (int i = 0; i < r->size(); ++i) {
      TaskAttempt a;
      a.run = run;
      a.task_id = task_id;
      a.try_number = static_cast<int>(r->i64(i, 0));
      a.state = parse_task_state(r->text(i, 1)).value_or(TaskState::kRunning);
      a.started_us = r->i64(i, 2);
      a.ended_us = r->i64(i, 3);
      a.pid = r->i64(i, 4);
      a.exit_code = static_cast<int>(r->i64(i, 5));
      a.log_path = r->text(i, 6);
      a.message = r->text(i, 7);
      out.push_back(std::move(a));
    }
    return out;
  }

 private:
  // A write: inside the caller's transaction, or one of its own (which bumps the version).
  Status write(const std::function<Status()>& fn) {
    return transaction([&] {
      wrote_ = true;
      return fn();
    });
  }

  // Bumps the version row. REQUIRES: in a transaction.
  Result<uint64_t> bump() {
    auto r = query("UPDATE domino_version SET n = n + 1 RETURNING n", {});
    if (!r) return r.status();
    wrote_ = false;
    return static_cast<uint64_t>(r->i64(0, 0));
  }

  Status check(PGresult* r, std::string_view what) {
    auto st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::ok();
    const char* sqlstate = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    std::string message = fmt::format("metadata store (PostgreSQL): {}: {}", what,
                                      r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
    while (!message.empty() && message.back() == '\n') message.pop_back();
    if (PQstatus(conn_) != CONNECTION_OK) return unavailable(message);
    if (sqlstate && std::string_view(sqlstate) == "23505")
      return Status(StatusCode::kAlreadyExists, message);
    return internal_error(message);
  }

  // Runs one statement with text parameters. A broken connection is reset once, outside a
  // transaction (inside one, the transaction is lost and the error goes up).
  Result<Rows> query(const std::string& sql, const std::vector<Param>& args) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    std::vector<const char*> values;
    for (const auto& a : args) values.push_back(a.text.c_str());
    for (int attempt = 0;; ++attempt) {
      PGresult* r = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                 values.data(), nullptr, nullptr, 0);
      Status s = check(r, sql.substr(0, sql.find(' ', 12)));
      if (s.is_ok()) return Rows(r);
      PQclear(r);
      if (attempt == 0 && !in_transaction_ && PQstatus(conn_) != CONNECTION_OK) {
        PQreset(conn_);
        continue;
      }
      return s;
    }
  }

  Status exec(const char* sql) { return query(sql, {}).status(); }

  std::recursive_mutex mu_;      // held through a transaction()
  PGconn* conn_;                 // protected by mu_
  bool in_transaction_ = false;  // protected by mu_
  bool wrote_ = false;           // protected by mu_; the open transaction wrote since its bump
};

}  // namespace

Result<std::unique_ptr<MetadataStore>> open_postgres_metadata_store(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string m = PQerrorMessage(conn);
    while (!m.empty() && m.back() == '\n') m.pop_back();
    PQfinish(conn);
    return unavailable(fmt::format("cannot connect to the PostgreSQL metadata store: {}", m));
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);  // "relation already exists"
  auto store = std::make_unique<PostgresMetadataStore>(conn);
  BASALT_RETURN_IF_ERROR(store->init());
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace basalt::domino
