#pragma once
// A scheduler on a temp project and data dir, a SQLite store and a ManualClock.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "domino/dag.h"
#include "domino/metadata_store.h"
#include "domino/scheduler.h"
#include "domino/task_process.h"
#include "domino/task_type.h"

namespace basalt::domino {

class SchedulerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("domino_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(project());
    auto s = open_sqlite_metadata_store(dir_ / "data" / "domino.db");
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    store_ = std::move(*s);
  }
  void TearDown() override {
    scheduler_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path project() const { return dir_ / "project"; }
  std::filesystem::path data() const { return dir_ / "data"; }

  Scheduler& make(DominoConfig config = {}, bool scheduled_runs = false) {
    SchedulerOptions o;
    o.project_dir = project();
    o.data_dir = data();
    o.config = std::move(config);
    o.clock = &clock_;
    o.create_scheduled_runs = scheduled_runs;
    scheduler_ = std::make_unique<Scheduler>(o, *store_, registry_);
    return *scheduler_;
  }

  Dag dag(const std::string& yaml) {
    auto p = parse_dag(yaml, "test.yaml", registry_);
    EXPECT_TRUE(p.dag.has_value()) << (p.errors.empty() ? "" : p.errors[0]);
    return p.dag ? *p.dag : Dag{};
  }

  // Ticks (real time passing for the processes) until `done` holds; false after `limit`.
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      Status s = scheduler_->tick();
      EXPECT_TRUE(s.is_ok()) << s.message();
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  TaskInstance ti(const DagRun& run, const std::string& task) {
    auto tis = store_->task_instances(run.id);
    for (const auto& t : *tis) if (t.task_id == task) return t;
    return {};
  }
  TaskState state(const DagRun& run, const std::string& task) { return ti(run, task).state; }
  RunState run_state(const DagRun& run) { return (*store_->run_by_id(run.id))->state; }
  bool run_done(const DagRun& run) {
    auto s = run_state(run);
    return s == RunState::kSuccess || s == RunState::kFailed;
  }

  // Waits (real time, bounded) until process `pid` has ended: the kill reaches the group at once,
  // but each member dies only when the kernel next schedules it, which on a loaded machine can
  // be well after the scheduler has seen the group's leader exit and completed the attempt.
  static bool ends_within(pid_t pid, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (process_start_token(pid) != "") {
      if (std::chrono::steady_clock::now() >= end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  // Runs `command` (which starts a background child and writes its pid to child.pid) under a 5 s
  // timeout, lets the timeout pass and returns the child's pid once the attempt has completed.
  pid_t time_out_a_task_with_a_child(Scheduler& s, const std::string& command, DagRun* out_run) {
    const std::string yaml =
        "dag: slow\ntasks:\n  - id: t\n    type: shell\n    timeout: 5s\n    command: '" +
        command + "'\n";
    s.set_dags({dag(yaml)});
    auto run = s.trigger("slow", std::nullopt, {});
    EXPECT_TRUE(run.is_ok());
    if (!run.is_ok()) return -1;
    *out_run = *run;
    // The whole line: the shell may be between creating the file and writing it.
    const auto pid_file = project() / "child.pid";
    if (!run_until([&] { return read(pid_file).ends_with('\n'); })) return -1;
    pid_t child = std::stoi(read(pid_file));
    EXPECT_EQ(kill(child, 0), 0);
    clock_.advance_us(6'000'000);  // past the 5 s timeout
    if (!run_until([&] { return run_done(*run); })) return -1;
    return child;
  }

  static std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void write(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

  std::filesystem::path dir_;
  ManualClock clock_{from_civil(2026, 11, 23, 12) * 1'000'000};
  std::unique_ptr<MetadataStore> store_;
  TaskRegistry registry_ = make_default_task_registry();
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace basalt::domino
