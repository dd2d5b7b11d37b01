#include "collect/ingest_service.h"

#include <gtest/gtest.h>

#include "collect/iso8601.h"
#include "http/client.h"
#include "http/content_coding.h"
#include "http/server.h"
#include "support/memory_wal.h"

namespace basalt::collect {
namespace {

using namespace std::chrono_literals;
constexpr int64_t kNow = 1'700'000'000'000'000;
const std::string kWebAuth = "Basic d2tfd2ViOg==";  // "wk_web:"

class IngestServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(IngestConfig config) {
    server_.reset();
    service_.reset();
    config.port = 0;
    config.threads = 2;
    config.trusted_proxies = {"127.0.0.1"};
    service_ = std::make_unique<IngestService>(
        config, std::vector<SourceConfig>{{"web", "wk_web"}, {"ios", "wk_ios"}}, wal_, clock_,
        metrics_, [this] { return ready_; });
    http::Router router;
    service_->register_routes(router);
    server_ = std::make_unique<http::Server>(service_->server_options(), std::move(router));
    ASSERT_TRUE(server_->start().is_ok());
    auto c = http::Client::connect_to("http://127.0.0.1:" + std::to_string(server_->port()), 5s);
    ASSERT_TRUE(c.is_ok());
    client_ = std::move(*c);
  }

  http::ClientResponse post(const std::string& path, std::string body,
                            std::vector<std::pair<std::string, std::string>> headers = {
                                {"Authorization", kWebAuth}}) {
    headers.emplace_back("Content-Type", "application/json");
    auto r = client_->send({"POST", path, std::move(headers), std::move(body)});
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : http::ClientResponse{};
  }
  http::ClientResponse get(const std::string& path) {
    auto r = client_->send({"GET", path, {}, ""});
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : http::ClientResponse{};
  }

  testing::MemoryWal wal_;
  ManualClock clock_{kNow};
  MetricsRegistry metrics_;
  Status ready_;
  std::unique_ptr<IngestService> service_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<http::Client> client_;
};

TEST_F(IngestServiceTest, BatchLandsInTheWalFieldByField) {
  auto r = post("/v1/batch", R"({
    "sentAt": "2023-11-14T22:13:15Z",
    "context": {"library": {"name": "analytics-python", "version": "2.2"}},
    "batch": [
      {"type": "track", "userId": "u1", "event": "Signed Up", "messageId": "m1",
       "timestamp": "2023-11-14T22:13:10Z", "properties": {"plan": "pro"}},
      {"type": "identify", "anonymousId": "a2", "traits": {"email": "a@b.c"}, "messageId": "m2"}
    ]})",
                {{"Authorization", kWebAuth}, {"User-Agent", "curl/8"},
                 {"X-Forwarded-For", "198.51.100.23"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"success":true})");
  auto records = wal_.records();
  ASSERT_EQ(records.size(), 2u);
  auto a = event::decode_event(records[0]);
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->type, event::EventType::kTrack);
  EXPECT_EQ(a->source, "web");
  EXPECT_EQ(a->message_id, "m1");
  EXPECT_EQ(a->user_id, "u1");
  EXPECT_EQ(a->event, "Signed Up");
  EXPECT_EQ(a->properties_json, R"({"plan":"pro"})");
  EXPECT_EQ(a->context_json, R"({"library":{"name":"analytics-python","version":"2.2"}})");
  EXPECT_EQ(a->library_name, "analytics-python");
  EXPECT_EQ(a->library_version, "2.2");
  EXPECT_EQ(a->received_at_us, kNow);
  EXPECT_EQ(a->timestamp_us, kNow - 5'000'000);
  EXPECT_EQ(a->sent_at_us, parse_iso8601_us("2023-11-14T22:13:15Z"));
  EXPECT_EQ(a->original_timestamp_us, parse_iso8601_us("2023-11-14T22:13:10Z"));
  EXPECT_EQ(a->ip, "198.51.100.23");  // 127.0.0.1 is a trusted proxy here
  EXPECT_EQ(a->user_agent, "curl/8");
  auto b = event::decode_event(records[1]);
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(b->type, event::EventType::kIdentify);
  EXPECT_EQ(b->anonymous_id, "a2");
  EXPECT_EQ(b->traits_json, R"({"email":"a@b.c"})");
  EXPECT_EQ(b->timestamp_us, kNow);
}

TEST_F(IngestServiceTest, MixedBatchReportsRejectionsAndQuarantines) {
  auto r = post("/v1/import", R"({"batch": [
      {"type": "track", "userId": "u", "event": "ok"},
      {"type": "track", "userId": "u", "event": "bad", "properties": "nope"},
      {"type": "page", "anonymousId": "a"}]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            R"({"success":true,"accepted":2,"rejected":1,"errors":[{"index":1,"reason":"\"properties\" must be an object, got string"}]})");
  auto records = wal_.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(*event::record_kind(records[0]), event::RecordKind::kEvent);
  EXPECT_EQ(*event::record_kind(records[1]), event::RecordKind::kQuarantine);
  auto q = event::decode_quarantined(records[1]);
  ASSERT_TRUE(q.is_ok());
  EXPECT_EQ(q->reason, R"("properties" must be an object, got string)");
  EXPECT_EQ(q->raw_json, R"({"type":"track","userId":"u","event":"bad","properties":"nope"})");
  EXPECT_EQ(q->source, "web");
  EXPECT_EQ(q->received_at_us, kNow);
}

TEST_F(IngestServiceTest, SingleCallsAndBodyWriteKeyAndGzip) {
  auto r = post("/v1/track", R"({"userId": "u", "event": "e", "writeKey": "wk_ios"})", {});
  EXPECT_EQ(r.status, 200);
  r = post("/v1/alias", http::gzip_compress(R"({"userId": "u", "previousId": "p"})"),
           {{"Authorization", kWebAuth}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 200);
  auto records = wal_.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(event::decode_event(records[0])->source, "ios");
  EXPECT_EQ(event::decode_event(records[1])->previous_id, "p");
  EXPECT_EQ(event::decode_event(records[1])->ip, "127.0.0.1");
}

TEST_F(IngestServiceTest, EverySpellingOfAWriteKeysBasicCredentialsNamesItsSource) {
  // The usual header takes a shortcut; the others are decoded. Both must agree.
  for (const char* auth : {"Basic d2tfd2ViOg==",   // "wk_web:", what SDKs send
                           "basic d2tfd2ViOg==",   // the scheme in lower case
                           "Basic d2tfd2Vi",       // "wk_web", no colon, no padding
                           "Basic d2tfd2ViOng="})  // "wk_web:x", a password is ignored
    EXPECT_EQ(post("/v1/track", R"({"userId": "u", "event": "e"})", {{"Authorization", auth}}).status,
              200)
        << auth;
  auto records = wal_.records();
  ASSERT_EQ(records.size(), 4u);
  for (const auto& record : records) EXPECT_EQ(event::decode_event(record)->source, "web");
}

TEST_F(IngestServiceTest, ErrorBodies) {
  auto r = post("/v1/track", R"({"userId": "u", "event": "e"})", {});
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find(R"("success":false,"error":"missing write key)"), std::string::npos);
  r = post("/v1/track", R"({"userId": "u", "event": "e"})",
           {{"Authorization", "Basic bm9wZTo="}});  // "nope:"
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, R"({"success":false,"error":"unknown write key"})");
  r = post("/v1/track", R"({"userId": "u", "event": )");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"("success":false,"error":"malformed JSON)"), std::string::npos);
  r = post("/v1/unknown", "{}");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"success":false,"error":"no route for /v1/unknown"})");
  auto g = get("/v1/track");
  EXPECT_EQ(g.status, 405);
  EXPECT_EQ(g.header("Allow"), "POST");
  EXPECT_TRUE(wal_.records().empty());
}

TEST_F(IngestServiceTest, LimitsGive413) {
  IngestConfig config;
  config.max_batch_events = 2;
  config.max_body_bytes = 2000;
  start(config);
  auto r = post("/v1/batch", R"({"batch": [{}, {}, {}]})");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body,
            R"({"success":false,"error":"batch has 3 events, more than the limit of 2"})");
  r = post("/v1/track", std::string(3000, ' '));
  EXPECT_EQ(r.status, 413);
  r = post("/v1/track", http::gzip_compress(std::string(5000, ' ')),
           {{"Authorization", kWebAuth}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(wal_.records().empty());
}

TEST_F(IngestServiceTest, WalFailureGives503WithRetryAfter) {
  wal_.set_fail_appends(true);
  auto r = post("/v1/track", R"({"userId": "u", "event": "e"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("Retry-After"), "1");
  EXPECT_EQ(r.body,
            R"({"success":false,"error":"events not stored: injected write failure"})");
  EXPECT_EQ(get("/readyz").status, 503);
  wal_.set_fail_appends(false);
  EXPECT_EQ(post("/v1/track", R"({"userId": "u", "event": "e"})").status, 200);
  EXPECT_EQ(wal_.records().size(), 1u);
}

TEST_F(IngestServiceTest, HealthReadinessAndMetrics) {
  auto r = get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
  EXPECT_EQ(get("/readyz").status, 200);
  ready_ = unavailable("warehouse loader not started");
  r = get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"status":"unavailable","reason":"warehouse loader not started"})");

  post("/v1/batch", R"({"batch": [{"type": "track", "userId": "u", "event": "e"},
                                   {"type": "track", "userId": "u"}]})");
  post("/v1/track", R"({"userId": "u", "event": "e"})", {});
  r = get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_NE(r.body.find(R"(basalt_ingest_events_total{result="accepted"} 1)"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"(basalt_ingest_events_total{result="rejected"} 1)"), std::string::npos);
  EXPECT_NE(r.body.find(R"(basalt_http_requests_total{route="/v1/batch",code="200"} 1)"),
            std::string::npos);
  EXPECT_NE(r.body.find(R"(basalt_http_requests_total{route="/v1/track",code="401"} 1)"),
            std::string::npos);
  EXPECT_NE(r.body.find(R"(basalt_http_requests_total{route="/readyz",code="503"} 1)"),
            std::string::npos);
  EXPECT_NE(r.body.find("basalt_http_request_seconds_count"), std::string::npos);
  EXPECT_NE(r.body.find("basalt_ingest_bytes_total"), std::string::npos);
}

}  // namespace
}  // namespace basalt::collect
