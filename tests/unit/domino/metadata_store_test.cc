#include "domino/metadata_store.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace basalt::domino {
namespace {

class MetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("domino_store_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = open_sqlite_metadata_store(dir_ / "domino.db");
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
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
  std::filesystem::path dir_;
  std::unique_ptr<MetadataStore> store_;
};

TEST_F(MetadataStoreTest, RunsRoundTripAndAreUniquePerDag) {
  auto a = store_->create_run(run("r1", 100));
  ASSERT_TRUE(a.is_ok());
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
}

TEST_F(MetadataStoreTest, TaskInstancesAttemptsAndStates) {
  auto r = store_->create_run(run("r1", 100));
  TaskInstance ti;
  ti.run = r->id;
  ti.task_id = "t";
  ti.state = TaskState::kRunning;
  ti.try_number = 1;
  ti.pid = 42;
  ti.pid_token = "777";
  ASSERT_TRUE(store_->save_task_instance(ti).is_ok());
  auto running = store_->running_task_instances();
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ(running->front().pid_token, "777");
  ti.state = TaskState::kSuccess;
  ASSERT_TRUE(store_->save_task_instance(ti).is_ok());
  EXPECT_TRUE(store_->running_task_instances()->empty());
  auto states = store_->task_states_between("d", "t", 0, 1000);
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ(states->front().second, TaskState::kSuccess);
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

TEST_F(MetadataStoreTest, PauseAndVersionsSurviveReopen) {
  ASSERT_TRUE(store_->record_dag("d", "h1", 10).is_ok());
  ASSERT_TRUE(store_->record_dag("d", "h1", 20).is_ok());
  ASSERT_TRUE(store_->record_dag("d", "h2", 30).is_ok());
  ASSERT_TRUE(store_->set_paused("d", true).is_ok());
  store_.reset();
  auto s = open_sqlite_metadata_store(dir_ / "domino.db");
  ASSERT_TRUE(s.is_ok());
  store_ = std::move(*s);
  EXPECT_TRUE(*store_->is_paused("d"));
  EXPECT_FALSE(*store_->is_paused("other"));
  auto v = store_->dag_versions("d");
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ(v->at(0).hash, "h1");
  EXPECT_EQ(v->at(1).first_seen_us, 30);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "domino.db-wal"));
}

}  // namespace
}  // namespace basalt::domino
