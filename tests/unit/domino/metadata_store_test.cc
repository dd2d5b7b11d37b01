#include "domino/metadata_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "support/postgres_server.h"

namespace basalt::domino {
namespace {

// The same suite runs on SQLite and on a real PostgreSQL started for it (one server for the
// suite, a fresh database per test).
class MetadataStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() { postgres_.reset(); }

  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    dir_ = std::filesystem::temp_directory_path() /
           ("domino_store_" + std::to_string(getpid()) + "_" + name);
    std::filesystem::remove_all(dir_);
    if (GetParam() == "postgres") {
      if (!postgres_) {
        auto pg = testing::PostgresServer::start();
        ASSERT_TRUE(pg.is_ok()) << pg.status().message();
        postgres_ = std::move(*pg);
      }
      std::string db = "t" + std::to_string(++databases_);
      ASSERT_TRUE(postgres_->create_database(db).is_ok());
      url_ = postgres_->url(db);
    }
    auto s = open();
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Another connection to the same store.
  Result<std::unique_ptr<MetadataStore>> open() {
    if (GetParam() == "postgres") return open_postgres_metadata_store(url_);
    return open_sqlite_metadata_store(dir_ / "domino.db");
  }
  DagRun run(const std::string& id, UnixSeconds date, RunType type = RunType::kScheduled) {
    DagRun r;
    r.dag_id = "d";
    r.run_id = id;
    r.type = type;
    r.logical_date = r.interval_start = date;
    r.interval_end = date + 86400;
    r.dag_hash = "h1";
    r.params = {{"x", 1}};
    return r;
  }
  static inline std::unique_ptr<testing::PostgresServer> postgres_;
  static inline int databases_ = 0;
  std::filesystem::path dir_;
  std::string url_;
  std::unique_ptr<MetadataStore> store_;
};

TEST_P(MetadataStoreTest, RunsRoundTripAndAreUniquePerDag) {
  auto a = store_->create_run(run("r1", 100));
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  EXPECT_GT(a->id, 0);
  auto dup = store_->create_run(run("r1", 100));
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_->create_run(run("r2", 200, RunType::kManual)).is_ok());
  auto found = store_->find_run("d", "r1");
  ASSERT_TRUE(found.is_ok() && found->has_value());
  EXPECT_EQ((*found)->params["x"], 1);
  EXPECT_EQ((*found)->interval_end, 100 + 86400);
  EXPECT_EQ(**store_->last_scheduled_date("d"), 100);  // the manual run does not count
  EXPECT_FALSE(store_->last_scheduled_date("other")->has_value());
  DagRun r = **found;
  r.state = RunState::kSuccess;
  ASSERT_TRUE(store_->update_run(r).is_ok());
  auto active = store_->active_runs();
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ(active->front().run_id, "r2");
  RunFilter f;
  f.dag_id = "d";
  f.state = RunState::kSuccess;
  EXPECT_EQ(store_->list_runs(f)->size(), 1u);
  f = {};
  f.limit = 1;
  auto newest = store_->list_runs(f);
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ(newest->front().run_id, "r2");
  // Logical-date bounds are inclusive; all filters combine.
  f = {};
  f.from = 100;
  f.to = 150;
  auto first = store_->list_runs(f);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ(first->front().run_id, "r1");
  f.to = 200;
  EXPECT_EQ(store_->list_runs(f)->size(), 2u);
  f.from = 101;
  f.dag_id = "d";
  f.state = RunState::kQueued;
  auto queued = store_->list_runs(f);
  ASSERT_EQ(queued->size(), 1u);
  EXPECT_EQ(queued->front().run_id, "r2");
  f.dag_id = "other";
  EXPECT_TRUE(store_->list_runs(f)->empty());
  EXPECT_EQ((*store_->run_by_id(a->id))->run_id, "r1");
  EXPECT_FALSE(store_->run_by_id(a->id + 100)->has_value());
}

TEST_P(MetadataStoreTest, TaskInstancesAttemptsAndStates) {
  auto r = store_->create_run(run("r1", 100));
  TaskInstance ti;
  ti.run = r->id;
  ti.task_id = "t";
  ti.state = TaskState::kRunning;
  ti.try_number = 1;
  ti.pid = 42;
  ti.pid_token = "777";
  ti.message = "it's \"quoted\"";
  ASSERT_TRUE(store_->save_task_instance(ti).is_ok());
  auto running = store_->running_task_instances();
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ(running->front().pid_token, "777");
  EXPECT_EQ(running->front().message, "it's \"quoted\"");
  ti.state = TaskState::kSuccess;
  ASSERT_TRUE(store_->save_task_instance(ti).is_ok());
  EXPECT_TRUE(store_->running_task_instances()->empty());
  EXPECT_EQ(store_->task_instances(r->id)->size(), 1u);
  auto states = store_->task_states_between("d", "t", 0, 1000);
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ(states->front().second, TaskState::kSuccess);
  EXPECT_EQ(store_->task_states_between("d", "other", 0, 1000)->front().second, TaskState::kNone);
  EXPECT_TRUE(store_->task_states_between("d", "t", 101, 1000)->empty());
  TaskAttempt a;
  a.run = r->id;
  a.task_id = "t";
  a.try_number = 1;
  a.state = TaskState::kFailed;
  a.exit_code = 3;
  a.log_path = "/x.log";
  ASSERT_TRUE(store_->save_attempt(a).is_ok());
  a.try_number = 2;
  a.state = TaskState::kSuccess;
  ASSERT_TRUE(store_->save_attempt(a).is_ok());
  auto attempts = store_->attempts(r->id, "t");
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ(attempts->at(0).exit_code, 3);
  EXPECT_EQ(attempts->at(1).state, TaskState::kSuccess);
}

TEST_P(MetadataStoreTest, PauseAndVersionsSurviveReopen) {
  ASSERT_TRUE(store_->record_dag("d", "h1", 10).is_ok());
  ASSERT_TRUE(store_->record_dag("d", "h1", 20).is_ok());
  ASSERT_TRUE(store_->record_dag("d", "h2", 30).is_ok());
  ASSERT_TRUE(store_->set_paused("d", true).is_ok());
  store_.reset();
  auto s = open();
  ASSERT_TRUE(s.is_ok());
  store_ = std::move(*s);
  EXPECT_TRUE(*store_->is_paused("d"));
  EXPECT_FALSE(*store_->is_paused("other"));
  auto v = store_->dag_versions("d");
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ(v->at(0).hash, "h1");
  EXPECT_EQ(v->at(1).first_seen_us, 30);
  if (GetParam() == "sqlite") {
    EXPECT_TRUE(std::filesystem::exists(dir_ / "domino.db-wal"));
  }
}

TEST_P(MetadataStoreTest, TransactionsCommitOrRollBack) {
  Status failed = store_->transaction([&]() -> Status {
    EXPECT_TRUE(store_->create_run(run("gone", 100)).is_ok());
    return invalid_argument("changed my mind");
  });
  EXPECT_EQ(failed.message(), "changed my mind");
  EXPECT_FALSE(store_->find_run("d", "gone")->has_value());
  // A duplicate inside a transaction is an answer, not the end of the transaction.
  Status ok = store_->transaction([&]() -> Status {
    EXPECT_TRUE(store_->create_run(run("kept", 100)).is_ok());
    EXPECT_EQ(store_->create_run(run("kept", 100)).status().code(), StatusCode::kAlreadyExists);
    return store_->create_run(run("also", 200)).status();
  });
  ASSERT_TRUE(ok.is_ok()) << ok.message();
  EXPECT_EQ(store_->active_runs()->size(), 2u);
}

TEST_P(MetadataStoreTest, VersionChangesWithEveryWriterButNotWithReads) {
  auto other = open();
  ASSERT_TRUE(other.is_ok()) << other.status().message();
  uint64_t v0 = *store_->version();
  EXPECT_EQ(*store_->version(), v0);
  ASSERT_TRUE(store_->list_runs({}).is_ok());
  EXPECT_EQ(*store_->version(), v0);  // reads change nothing
  ASSERT_TRUE((*other)->create_run(run("r1", 100)).is_ok());
  uint64_t v1 = *store_->version();
  EXPECT_NE(v1, v0);  // another connection wrote
  ASSERT_TRUE(store_->set_paused("d", true).is_ok());
  uint64_t v2 = *store_->version();
  EXPECT_NE(v2, v1);  // this one wrote
  // Read at the end of a transaction, the version is the one that transaction commits.
  uint64_t inside = 0;
  ASSERT_TRUE(store_
                  ->transaction([&]() -> Status {
                    BASALT_RETURN_IF_ERROR(store_->set_paused("d", false));
                    inside = *store_->version();
                    return Status::ok();
                  })
                  .is_ok());
  EXPECT_NE(inside, v2);
  EXPECT_EQ(*store_->version(), inside);
  // The other connection sees that change (its numbers are its own: compare with its own).
  uint64_t seen = *(*other)->version();
  ASSERT_TRUE(store_->set_paused("d", true).is_ok());
  EXPECT_NE(*(*other)->version(), seen);
}

TEST_P(MetadataStoreTest, ClaimsShareRunsBetweenSchedulersWithLeases) {
  auto other = open();
  ASSERT_TRUE(other.is_ok()) << other.status().message();
  ASSERT_TRUE(store_->create_run(run("old", 100)).is_ok());
  ASSERT_TRUE(store_->create_run(run("back", 50, RunType::kBackfill)).is_ok());
  ASSERT_TRUE(store_->create_run(run("new", 200)).is_ok());
  DagRun done = run("done", 300);
  done.state = RunState::kSuccess;
  ASSERT_TRUE(store_->create_run(done).is_ok());
  auto id = [&](const std::string& run_id) { return (*store_->find_run("d", run_id))->id; };
  // Fresh runs first, oldest first; finished runs are never claimed.
  auto a = store_->claim_runs("a", 1000, 5000, 2);
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  EXPECT_EQ(*a, (std::vector<int64_t>{id("old"), id("new")}));
  auto b = (*other)->claim_runs("b", 1000, 5000, 10);
  EXPECT_EQ(*b, std::vector<int64_t>{id("back")});
  // Renewing keeps what each holds.
  EXPECT_EQ(*store_->claim_runs("a", 2000, 6000, 10), (std::vector<int64_t>{id("old"), id("new")}));
  EXPECT_EQ((*store_->find_run("d", "old"))->owner, "a");
  EXPECT_EQ((*store_->find_run("d", "old"))->lease_until_us, 6000);
  // b's lease (5000) has ended at 5500: a takes its run over; a's (6000) has not.
  EXPECT_EQ(store_->claim_runs("a", 5500, 9000, 10)->size(), 3u);
  EXPECT_TRUE((*other)->claim_runs("b", 5500, 9000, 10)->empty());
}

TEST_P(MetadataStoreTest, ConcurrentClaimsNeverOverlap) {
  auto other = open();
  ASSERT_TRUE(other.is_ok()) << other.status().message();
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(store_->create_run(run("r" + std::to_string(i), 100 + i)).is_ok());
  std::atomic<bool> claimed{false};
  std::vector<int64_t> a, b;
  std::thread first([&] {
    ASSERT_TRUE(store_
                    ->transaction([&]() -> Status {
                      auto ids = store_->claim_runs("a", 1000, 5000, 3);
                      if (!ids) return ids.status();
                      a = *ids;
                      claimed = true;
                      // Holds its transaction (and, on PostgreSQL, the row locks) while b claims.
                      std::this_thread::sleep_for(std::chrono::milliseconds(300));
                      return Status::ok();
                    })
                    .is_ok());
  });
  while (!claimed) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto ids = (*other)->claim_runs("b", 1000, 5000, 10);
  first.join();
  ASSERT_TRUE(ids.is_ok()) << ids.status().message();
  b = *ids;
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(b.size(), 3u);
  for (int64_t x : a)
    EXPECT_EQ(std::count(b.begin(), b.end(), x), 0) << "run " << x << " claimed twice";
}

INSTANTIATE_TEST_SUITE_P(Stores, MetadataStoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace basalt::domino
