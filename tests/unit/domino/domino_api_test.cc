#include "domino/domino_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "support/postgres_server.h"

namespace basalt::domino {
namespace {

class DominoApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("domino_api_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "p" / "dags");
    std::ofstream(dir_ / "p" / "dags" / "d.yaml")
        << "dag: d\nschedule: '0 2 * * *'\nstart_date: 2026-11-01\ntasks:\n"
           "  - {id: a, type: shell, command: 'echo hello-{{ ds }}'}\n"
           "  - {id: b, type: shell, command: 'true', upstream: [a]}\n";
    std::ofstream(dir_ / "p" / "dags" / "bad.yaml")
        << "dag: bad\ntasks:\n  - {id: x, type: nope}\n";
    DominoServiceOptions o;
    o.project_dir = dir_ / "p";
    o.data_dir = dir_ / "data";
    o.clock = &clock_;
    auto s = DominoService::open(o);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    service_ = std::move(*s);
    api_ = std::make_unique<DominoApi>(*service_, [](const http::Request& r) {
      if (r.header("Authorization") == "Bearer t") return Status::ok();
      return Status(StatusCode::kUnauthenticated, "no token");
    });
    api_->register_routes(router_);
  }
  void TearDown() override {
    api_.reset();
    service_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::pair<int, nlohmann::json> call(const std::string& method, const std::string& target,
                                      const std::string& body = "", bool token = true) {
    auto path = target.substr(0, target.find('?'));
    auto m = router_.match(method, path);
    EXPECT_NE(m.route, nullptr) << method << " " << target;
    if (!m.route) return {m.status, nullptr};
    http::NameValues headers;
    if (token) headers.emplace_back("Authorization", "Bearer t");
    auto req = http::Request::make(method, target, body, headers);
    req.set_path_params(m.params);
    auto res = m.route->sync(req);
    auto j = nlohmann::json::parse(res.body, nullptr, false);
    return {res.status, j.is_discarded() ? nlohmann::json(res.body) : j};
  }

  std::filesystem::path dir_;
  ManualClock clock_{from_civil(2026, 11, 23, 12) * 1'000'000};
  std::unique_ptr<DominoService> service_;
  std::unique_ptr<DominoApi> api_;
  http::Router router_;
};

TEST_F(DominoApiTest, DagsRunsActionsAndWhy) {
  auto [st, dags] = call("GET", "/api/v1/domino/dags");
  ASSERT_EQ(st, 200) << dags.dump();
  ASSERT_EQ(dags["dags"].size(), 1u);
  EXPECT_EQ(dags["dags"][0]["graph"]["edges"][0], (nlohmann::json{{"from", "a"}, {"to", "b"}}));
  EXPECT_NE(dags["errors"][0].get<std::string>().find("bad.yaml:3: unknown task type 'nope'"),
            std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/domino/dags", "", false).first, 401);
  EXPECT_EQ(call("GET", "/api/v1/domino/dags/zz").first, 404);

  auto [tst, run] =
      call("POST", "/api/v1/domino/dags/d/trigger", R"({"date": "2026-11-22T02:00:00Z"})");
  ASSERT_EQ(tst, 200) << run.dump();
  EXPECT_EQ(run["run_id"], "manual__2026-11-22T02:00:00+00:00");
  auto [wst, why] = call("GET", "/api/v1/domino/dags/d/runs/2026-11-22/tasks/b/why");
  ASSERT_EQ(wst, 200) << why.dump();
  EXPECT_EQ(
      why["why"],
      "run manual__2026-11-22T02:00:00+00:00 is queued and starts on the scheduler's next pass");

  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(service_->scheduler().tick().is_ok());
    if (call("GET", "/api/v1/domino/runs?dag=d").second["runs"][0]["state"] == "success") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto [rst, detail] = call("GET", "/api/v1/domino/dags/d/runs/2026-11-22");
  ASSERT_EQ(rst, 200);
  EXPECT_EQ(detail["state"], "success");
  EXPECT_EQ(detail["tasks"][0]["attempts"].size(), 1u);
  EXPECT_NE(detail["tasks"][0]["log_tail"].get<std::string>().find("hello-2026-11-22"),
            std::string::npos);
  EXPECT_EQ(detail["graph"]["nodes"][1]["state"], "success");
  auto [lst, log] = call("GET", "/api/v1/domino/dags/d/runs/2026-11-22/tasks/a/log?attempt=1");
  EXPECT_EQ(lst, 200);
  EXPECT_NE(log.get<std::string>().find("hello-2026-11-22"), std::string::npos);

  auto [cst, cleared] = call("POST", "/api/v1/domino/dags/d/runs/2026-11-22/tasks/a/clear",
                             R"({"downstream": true})");
  ASSERT_EQ(cst, 200) << cleared.dump();
  EXPECT_EQ(cleared["cleared"], (nlohmann::json{"a", "b"}));
  auto [mst, marked] =
      call("POST", "/api/v1/domino/dags/d/runs/2026-11-22/tasks/a/mark", R"({"state": "bogus"})");
  EXPECT_EQ(mst, 400);
  EXPECT_EQ(call("POST", "/api/v1/domino/dags/d/pause").first, 200);
  EXPECT_TRUE(*service_->store().is_paused("d"));
  auto [bst, back] = call("POST", "/api/v1/domino/dags/d/backfill",
                          R"({"from": "2026-11-01", "to": "2026-11-03"})");
  ASSERT_EQ(bst, 200) << back.dump();
  EXPECT_EQ(back["runs"].size(), 3u);
  auto [fst, failed] = call("GET", "/api/v1/domino/runs?state=nope");
  EXPECT_EQ(fst, 400);
  auto [bad, nothing] = call("POST", "/api/v1/domino/dags/d/backfill",
                             R"({"from": "2026-11-03", "to": "2026-11-01"})");
  EXPECT_EQ(bad, 400);
  EXPECT_NE(nothing.dump().find("is empty"), std::string::npos) << nothing.dump();
}

TEST_F(DominoApiTest, PreviewNeedsARangeAndAnswersIso8601WithOffsets) {
  auto [st, runs] = call("GET", "/api/v1/domino/dags/d/preview?from=2026-11-01&to=2026-11-02");
  ASSERT_EQ(st, 200) << runs.dump();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0], nlohmann::json::parse(R"({"logical_date": "2026-11-01T02:00:00+00:00",
      "data_interval_start": "2026-11-01T02:00:00+00:00", "data_interval_end": "2026-11-02T02:00:00+00:00",
      "run_at": "2026-11-02T02:00:00+00:00"})"));
  EXPECT_EQ(call("GET", "/api/v1/domino/dags/d/preview?from=2026-11-01").first, 400);
  EXPECT_EQ(call("GET", "/api/v1/domino/dags/d/preview?from=yesterday&to=2026-11-02").first, 400);
}

TEST(DominoServiceStoreTest, DominoStoreSelectsPostgres) {
  auto pg = testing::PostgresServer::start();
  ASSERT_TRUE(pg.is_ok()) << pg.status().message();
  auto dir =
      std::filesystem::temp_directory_path() / ("domino_store_pick_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "p" / "dags");
  std::ofstream(dir / "p" / "basalt.yaml")
      << "domino:\n  store: " << (*pg)->url() << "\n  scheduler_id: one\n";
  std::ofstream(dir / "p" / "dags" / "d.yaml")
      << "dag: d\ntasks:\n  - {id: a, type: shell, command: 'true'}\n";
  DominoServiceOptions o;
  o.project_dir = dir / "p";
  o.data_dir = dir / "data";
  {
    auto s = DominoService::open(o);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    ASSERT_TRUE((*s)->scheduler().trigger("d", std::nullopt, {}).is_ok());
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "data" / "domino.db"));  // not SQLite
  auto store = open_postgres_metadata_store((*pg)->url());
  ASSERT_TRUE(store.is_ok());
  EXPECT_EQ((*store)->active_runs()->size(), 1u);
  // A store that cannot be reached is an error naming it, at start-up.
  std::ofstream(dir / "p" / "basalt.yaml")
      << "domino: {store: 'postgres://nobody@127.0.0.1:1/x'}\n";
  auto s = DominoService::open(o);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("cannot connect to the PostgreSQL metadata store"),
            std::string::npos)
      << s.status().message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace basalt::domino
