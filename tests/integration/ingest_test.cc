// The collection pipeline end to end: a real `basalt up`, HTTP in, rows out of the warehouse.

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "integration/basalt_process.h"

namespace basalt::testing {
namespace {

using nlohmann::json;

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<BasaltServer>(dir_.path() / "project", dir_.path() / "data");
    server_->start();
  }

  http::ClientResponse post(const std::string& path, const std::string& body,
                            const std::string& key = "test-key") {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/json"}};
    if (!key.empty()) headers.emplace_back("Authorization", basic_auth(key));
    return http_request(server_->ingest_url(), "POST", path, body, headers);
  }

  TempDir dir_;
  std::unique_ptr<BasaltServer> server_;
};

TEST_F(IngestTest, BatchInRowsOut) {
  json batch = {
      {"sentAt", "2026-11-20T10:00:10.000Z"},
      {"batch",
       {{{"type", "track"},
         {"event", "pay"},
         {"userId", "u1"},
         {"messageId", "m-1"},
         {"timestamp", "2026-11-20T10:00:00.000Z"},
         {"properties", {{"amount", 4.99}, {"currency", "USD"}}},
         {"context",
          {{"library", {{"name", "basalt-unity"}, {"version", "1.2"}}},
           {"os", {{"name", "Android"}}},
           {"app", {{"version", "3.4.5"}}}}}},
        {{"type", "identify"},
         {"userId", "u1"},
         {"anonymousId", "a1"},
         {"messageId", "m-2"},
         {"traits", {{"level", 7}, {"vip", true}}}},
        {{"type", "page"}, {"anonymousId", "a2"}, {"name", "Shop"}, {"messageId", "m-3"}}}}};
  auto r = post("/v1/batch", batch.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["success"], true);

  EXPECT_EQ(server_->wait_for_int("SELECT count(*) FROM events", 3), 3);
  auto rows = json::parse(server_->sql_json(
      "SELECT message_id, type, event, user_id, anonymous_id, source, library_name, "
      "library_version, os_name, app_version, properties->>'currency', "
      "CAST(properties->>'amount' AS DOUBLE), "
      "epoch_ms(received_at) - epoch_ms(timestamp), epoch_ms(original_timestamp), ip "
      "FROM events ORDER BY message_id"))["rows"];
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][0], "m-1");
  EXPECT_EQ(rows[0][1], "track");
  EXPECT_EQ(rows[0][2], "pay");
  EXPECT_EQ(rows[0][3], "u1");
  EXPECT_EQ(rows[0][5], "app");
  EXPECT_EQ(rows[0][6], "basalt-unity");
  EXPECT_EQ(rows[0][7], "1.2");
  EXPECT_EQ(rows[0][8], "Android");
  EXPECT_EQ(rows[0][9], "3.4.5");
  EXPECT_EQ(rows[0][10], "USD");
  EXPECT_DOUBLE_EQ(rows[0][11].get<double>(), 4.99);
  // Clock skew: the client said it sent 10 s after the event, so the event happened 10 s
  // before the server received the batch, whatever the client's clock said.
  EXPECT_EQ(rows[0][12].get<int64_t>(), 10000);
  EXPECT_EQ(rows[0][13].get<int64_t>(), 1795168800000);
  EXPECT_EQ(rows[0][14], "127.0.0.1");
  EXPECT_EQ(rows[1][1], "identify");
  EXPECT_EQ(rows[2][1], "page");
  EXPECT_EQ(rows[2][2], "Shop");
  EXPECT_EQ(rows[2][4], "a2");

  EXPECT_EQ(server_->wait_for_int("SELECT count(*) FROM users", 1), 1);
  auto users = json::parse(
      server_->sql_json("SELECT user_id, CAST(traits->>'level' AS INT), traits->>'vip', "
                        "list_contains(anonymous_ids, 'a1') FROM users"))["rows"];
  EXPECT_EQ(users[0][0], "u1");
  EXPECT_EQ(users[0][1], 7);
  EXPECT_EQ(users[0][2], "true");
  EXPECT_EQ(users[0][3], true);
}

TEST_F(IngestTest, SingleCallsAndBodyWriteKey) {
  auto r = post("/v1/track", R"({"userId":"u9","event":"login","properties":{"server":"s1"}})");
  EXPECT_EQ(r.status, 200) << r.body;
  r = post("/v1/identify", R"({"userId":"u9","traits":{"vip":false},"writeKey":"server-key"})", "");
  EXPECT_EQ(r.status, 200) << r.body;
  r = post("/v1/alias", R"({"userId":"u9","previousId":"a9"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(server_->wait_for_int("SELECT count(*) FROM events", 3), 3);
  EXPECT_EQ(server_->sql_int("SELECT count(*) FROM events WHERE source = 'server'"), 1);
  EXPECT_EQ(server_->sql_int("SELECT count(*) FROM events WHERE message_id IS NULL OR "
                             "length(message_id) <> 36"),
            0);
}

TEST_F(IngestTest, BadInputGetsPreciseErrorsAndLosesNothing) {
  // Unknown and missing write keys.
  auto r = post("/v1/batch", R"({"batch":[]})", "wrong-key");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body)["success"], false);
  r = post("/v1/batch", R"({"batch":[]})", "");
  EXPECT_EQ(r.status, 401);

  // Malformed JSON and bodies that are not a batch.
  r = post("/v1/batch", R"({"batch":[{"type":"track",)");
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(json::parse(r.body)["error"].get<std::string>().empty());
  r = post("/v1/batch", R"({"batch":"nope"})");
  EXPECT_EQ(r.status, 400);
  r = post("/v1/batch", R"([1,2,3])");
  EXPECT_EQ(r.status, 400);

  // Too large: the test project allows 200 KB bodies and 100 events a batch.
  r = post("/v1/batch", R"({"batch":[{"type":"track","event":"x","userId":")" +
                            std::string(300 * 1000, 'a') + R"("}]})");
  EXPECT_EQ(r.status, 413);
  json many = {{"batch", json::array()}};
  for (int i = 0; i < 101; ++i)
    many["batch"].push_back({{"type", "track"}, {"event", "e"}, {"userId", "u"}});
  r = post("/v1/batch", many.dump());
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("100"), std::string::npos) << r.body;

  // Wrong method and path.
  r = http_request(server_->ingest_url(), "GET", "/v1/batch");
  EXPECT_EQ(r.status, 405);
  r = post("/v2/nothing", "{}");
  EXPECT_EQ(r.status, 404);

  // A batch with invalid events: the valid ones are kept, the others quarantined.
  json mixed = {
      {"batch",
       {{{"type", "track"}, {"event", "ok1"}, {"userId", "u1"}},
        {{"type", "track"}, {"userId", "u1"}},
        {{"type", "track"}, {"event", "no_user"}},
        {{"type", "track"}, {"event", "bad_props"}, {"userId", "u1"}, {"properties", "x"}},
        {{"type", "track"}, {"event", "ok2"}, {"anonymousId", "a1"}}}}};
  r = post("/v1/batch", mixed.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = json::parse(r.body);
  EXPECT_EQ(body["success"], true);
  EXPECT_EQ(body["accepted"], 2);
  EXPECT_EQ(body["rejected"], 3);
  ASSERT_EQ(body["errors"].size(), 3u);
  EXPECT_EQ(body["errors"][0]["index"], 1);
  EXPECT_EQ(body["errors"][1]["index"], 2);
  EXPECT_EQ(body["errors"][2]["index"], 3);

  EXPECT_EQ(server_->wait_for_int("SELECT count(*) FROM events", 2), 2);
  EXPECT_EQ(server_->wait_for_int("SELECT count(*) FROM quarantine", 3), 3);
  EXPECT_EQ(server_->sql_int("SELECT count(*) FROM quarantine WHERE source = 'app' AND "
                             "raw LIKE '%bad_props%' AND reason LIKE '%properties%'"),
            1);
  EXPECT_EQ(server_->sql_int("SELECT count(*) FROM quarantine WHERE reason LIKE '%event%' AND "
                             "raw NOT LIKE '%no_user%'"),
            1);

  // The server is still up and answering.
  EXPECT_EQ(http_request(server_->ingest_url(), "GET", "/healthz").status, 200);
}

std::string gzip(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST_F(IngestTest, GzipBodies) {
  json batch = {{"batch", json::array()}};
  for (int i = 0; i < 50; ++i) {
    batch["batch"].push_back({{"type", "track"},
                              {"event", "level_up"},
                              {"userId", "u"},
                              {"properties", {{"level", i}}}});
  }
  auto r = http_request(server_->ingest_url(), "POST", "/v1/batch", gzip(batch.dump()),
                        {{"Authorization", basic_auth("test-key")},
                         {"Content-Encoding", "gzip"},
                         {"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(server_->wait_for_int("SELECT count(*) FROM events", 50), 50);
  EXPECT_EQ(server_->sql_int("SELECT sum(CAST(properties->>'level' AS INT)) FROM events"), 1225);

  r = http_request(server_->ingest_url(), "POST", "/v1/batch", "not gzip at all",
                   {{"Authorization", basic_auth("test-key")}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(IngestTest, RetriedMessagesAreStoredOnce) {
  std::string body =
      R"({"batch":[{"type":"track","event":"pay","userId":"u","messageId":"dup-1"}]})";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(post("/v1/batch", body).status, 200);
  // Same messageId from another source is another event.
  ASSERT_EQ(post("/v1/batch", body, "server-key").status, 200);
  ASSERT_EQ(post("/v1/track", R"({"event":"marker","userId":"u"})").status, 200);
  EXPECT_EQ(server_->wait_for_int("SELECT count(*) FROM events WHERE event = 'marker'", 1), 1);
  EXPECT_EQ(server_->sql_int("SELECT count(*) FROM events WHERE message_id = 'dup-1'"), 2);
}

TEST_F(IngestTest, MetricsAndHealth) {
  ASSERT_EQ(post("/v1/track", R"({"event":"x","userId":"u"})").status, 200);
  EXPECT_EQ(http_request(server_->ingest_url(), "GET", "/readyz").status, 200);
  auto m = http_request(server_->ingest_url(), "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("basalt_ingest_events_total{result=\"accepted\"} 1"), std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("basalt_http_request_seconds_bucket"), std::string::npos);
  EXPECT_NE(m.body.find("basalt_loader_lag_events"), std::string::npos);
  EXPECT_NE(m.body.find("basalt_wal_bytes"), std::string::npos);
}

// Sends batches in a loop, kills the server with SIGKILL mid-way, restarts it, and checks that
// every acknowledged event is in the warehouse exactly once.
TEST_F(IngestTest, CrashLosesNoAcknowledgedEvent) {
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::set<std::string> acked;
  auto sender = [&](int thread) {
    auto client = http::Client::connect_to(server_->ingest_url(), std::chrono::seconds(5));
    if (!client) return;
    for (int n = 0; !stop; ++n) {
      json batch = {{"batch", json::array()}};
      std::vector<std::string> ids;
      for (int i = 0; i < 20; ++i) {
        ids.push_back("t" + std::to_string(thread) + "-" + std::to_string(n) + "-" +
                      std::to_string(i));
        batch["batch"].push_back(
            {{"type", "track"}, {"event", "tick"}, {"userId", "u"}, {"messageId", ids.back()}});
      }
      http::ClientRequest req{
          "POST", "/v1/batch", {{"Authorization", basic_auth("test-key")}}, batch.dump()};
      auto r = (*client)->send(req);
      if (!r) break;  // the server is gone
      if (r->status == 200) {
        std::lock_guard lock(mu);
        acked.insert(ids.begin(), ids.end());
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(sender, t);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  server_->kill9();
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_GT(acked.size(), 100u) << "too few batches were acknowledged before the kill";

  server_->start();
  // Everything acknowledged arrives; nothing arrives twice.
  server_->wait_until_loaded();
  // In pages: the SQL API caps an answer's rows, and a fast machine acknowledges more.
  std::set<std::string> stored;
  for (size_t offset = 0;; offset += 20000) {
    auto rows = json::parse(server_->sql_json(
        "SELECT message_id, count(*) FROM events WHERE event = 'tick' GROUP BY 1 ORDER BY 1 "
        "LIMIT 20000 OFFSET " +
        std::to_string(offset)))["rows"];
    for (const auto& row : rows) {
      EXPECT_EQ(row[1], 1) << "stored twice: " << row[0];
      stored.insert(row[0].get<std::string>());
    }
    if (rows.size() < 20000) break;
  }
  for (const auto& id : acked) EXPECT_TRUE(stored.contains(id)) << "lost: " << id;
}

}  // namespace
}  // namespace basalt::testing
