#include "collect/ingest_parser.h"

#include <gtest/gtest.h>

#include "collect/iso8601.h"

namespace basalt::collect {
namespace {

constexpr int64_t kReceived = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z

class IngestParserTest : public ::testing::Test {
 protected:
  IngestParserTest()
      : sources_({{"web", "wk_web"}, {"ios", "wk_ios"}}), parser_(IngestLimits{}, sources_) {}

  RequestMeta meta(std::string source = "web") const {
    RequestMeta m;
    m.received_at_us = kReceived;
    m.ip = "203.0.113.5";
    m.user_agent = "header-agent/1.0";
    m.source = std::move(source);
    return m;
  }

  Result<IngestBatch> parse(Endpoint ep, std::string body, RequestMeta m) {
    return parser_.parse(ep, body, m);
  }
  Result<IngestBatch> parse(Endpoint ep, std::string body) { return parse(ep, body, meta()); }

  event::Event one_event(Endpoint ep, std::string body) {
    auto r = parse(ep, std::move(body));
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    if (!r.is_ok() || r->records.size() != 1 || r->accepted != 1) {
      ADD_FAILURE() << "expected one accepted event"
                    << (r.is_ok() && !r->errors.empty() ? ": " + r->errors[0].reason : "");
      return {};
    }
    auto e = event::decode_event(r->records[0]);
    EXPECT_TRUE(e.is_ok());
    return e.is_ok() ? *e : event::Event{};
  }

  // The reason a single event is rejected, checking it went to quarantine.
  std::string reason(Endpoint ep, std::string body) {
    auto r = parse(ep, body);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    if (!r.is_ok()) return "";
    EXPECT_EQ(r->accepted, 0u);
    EXPECT_EQ(r->rejected, 1u);
    if (r->records.size() != 1 || r->errors.size() != 1) return "";
    auto q = event::decode_quarantined(r->records[0]);
    EXPECT_TRUE(q.is_ok());
    if (q.is_ok()) {
      EXPECT_EQ(q->reason, r->errors[0].reason);
      EXPECT_EQ(q->source, "web");
      EXPECT_EQ(q->ip, "203.0.113.5");
      EXPECT_EQ(q->received_at_us, kReceived);
    }
    return r->errors[0].reason;
  }

  SourceDirectory sources_;
  IngestParser parser_;
};

TEST_F(IngestParserTest, TrackFieldsAndServerFields) {
  auto e = one_event(Endpoint::kTrack, R"({
    "userId": "u1", "anonymousId": "a1", "event": "Order Completed", "messageId": "m-1",
    "properties": {"revenue": 12.5, "items": [1, 2], "name": "x\"y"},
    "context": {"userAgent": "ctx-agent", "library": {"name": "analytics.js", "version": "4.1"},
                "os": {"name": "iOS"}, "app": {"version": "2.3.4"}}})");
  EXPECT_EQ(e.type, event::EventType::kTrack);
  EXPECT_EQ(e.user_id, "u1");
  EXPECT_EQ(e.anonymous_id, "a1");
  EXPECT_EQ(e.event, "Order Completed");
  EXPECT_EQ(e.message_id, "m-1");
  EXPECT_EQ(e.source, "web");
  EXPECT_EQ(e.ip, "203.0.113.5");
  EXPECT_EQ(e.properties_json, R"({"revenue":12.5,"items":[1,2],"name":"x\"y"})");
  EXPECT_EQ(e.traits_json, "{}");
  EXPECT_EQ(e.user_agent, "ctx-agent");
  EXPECT_EQ(e.library_name, "analytics.js");
  EXPECT_EQ(e.library_version, "4.1");
  EXPECT_EQ(e.os_name, "iOS");
  EXPECT_EQ(e.app_version, "2.3.4");
  EXPECT_EQ(e.received_at_us, kReceived);
  EXPECT_EQ(e.timestamp_us, kReceived);  // no timestamp
  EXPECT_FALSE(e.sent_at_us.has_value());
  EXPECT_FALSE(e.original_timestamp_us.has_value());
  EXPECT_EQ(e.event_id.size(), 36u);
  EXPECT_EQ(e.event_id[14], '4');
}

TEST_F(IngestParserTest, GeneratedMessageIdNumericIdsAndHeaderUserAgent) {
  auto e = one_event(Endpoint::kIdentify, R"({"userId": 42, "traits": {"plan": "pro"}})");
  EXPECT_EQ(e.type, event::EventType::kIdentify);
  EXPECT_EQ(e.user_id, "42");
  EXPECT_EQ(e.message_id.size(), 36u);
  EXPECT_NE(e.message_id, e.event_id);
  EXPECT_EQ(e.traits_json, R"({"plan":"pro"})");
  EXPECT_EQ(e.user_agent, "header-agent/1.0");
  EXPECT_EQ(e.context_json, "{}");
  e = one_event(Endpoint::kPage, R"({"anonymousId": 12345678901234, "name": "Home"})");
  EXPECT_EQ(e.anonymous_id, "12345678901234");
  EXPECT_EQ(e.event, "Home");
  e = one_event(Endpoint::kGroup, R"({"userId": "u", "groupId": 7})");
  EXPECT_EQ(e.group_id, "7");
  e = one_event(Endpoint::kAlias, R"({"userId": "u", "previousId": "anon"})");
  EXPECT_EQ(e.previous_id, "anon");
  e = one_event(Endpoint::kScreen, R"({"userId": "u", "name": "Settings", "anonymousId": null})");
  EXPECT_EQ(e.type, event::EventType::kScreen);
  EXPECT_EQ(e.event, "Settings");
}

TEST_F(IngestParserTest, PreciseReasons) {
  EXPECT_EQ(reason(Endpoint::kTrack, R"({"event": "x"})"),
            R"("userId" or "anonymousId" is required)");
  EXPECT_EQ(reason(Endpoint::kTrack, R"({"userId": "", "anonymousId": "", "event": "x"})"),
            R"("userId" or "anonymousId" is required)");
  EXPECT_EQ(reason(Endpoint::kTrack, R"({"userId": true, "event": "x"})"),
            R"("userId" must be a string or a number, got boolean)");
  EXPECT_EQ(reason(Endpoint::kTrack, R"({"userId": "u"})"),
            R"("event" is required for a track call)");
  EXPECT_EQ(reason(Endpoint::kTrack, R"({"userId": "u", "event": ""})"),
            R"("event" must not be empty)");
  EXPECT_EQ(reason(Endpoint::kTrack, R"({"userId": "u", "event": 5})"),
            R"("event" must be a string, got number)");
  EXPECT_EQ(reason(Endpoint::kTrack, R"({"userId": "u", "event": "e", "properties": "x"})"),
            R"("properties" must be an object, got string)");
  EXPECT_EQ(reason(Endpoint::kIdentify, R"({"userId": "u", "traits": [1]})"),
            R"("traits" must be an object, got array)");
  EXPECT_EQ(reason(Endpoint::kTrack, R"({"userId": "u", "event": "e", "context": 3})"),
            R"("context" must be an object, got number)");
  EXPECT_EQ(reason(Endpoint::kTrack, R"({"userId": "u", "event": "e", "timestamp": "yesterday"})"),
            R"("timestamp" is not an ISO 8601 date-time: "yesterday")");
  EXPECT_EQ(reason(Endpoint::kTrack,
                   R"({"userId": "u", "event": "e", "timestamp": "2023-02-29T00:00:00Z"})"),
            R"("timestamp" is not an ISO 8601 date-time: "2023-02-29T00:00:00Z")");
  EXPECT_EQ(reason(Endpoint::kTrack, R"({"userId": "u", "event": "e", "sentAt": 17})"),
            R"("sentAt" must be an ISO 8601 date-time string, got number)");
  EXPECT_EQ(reason(Endpoint::kTrack, R"({"userId": "u", "event": "e", "originalTimestamp": "x"})"),
            R"("originalTimestamp" is not an ISO 8601 date-time: "x")");
  EXPECT_EQ(reason(Endpoint::kGroup, R"({"userId": "u"})"),
            R"("groupId" is required for a group call)");
  EXPECT_EQ(reason(Endpoint::kAlias, R"({"userId": "u"})"),
            R"("previousId" is required for an alias call)");
  EXPECT_EQ(reason(Endpoint::kAlias, R"({"anonymousId": "a", "previousId": "p"})"),
            R"("userId" is required for an alias call)");
  EXPECT_EQ(reason(Endpoint::kPage, R"({"userId": "u", "name": {}})"),
            R"("name" must be a string, got object)");
}

TEST_F(IngestParserTest, QuarantineKeepsTheRawText) {
  std::string body = R"({"event": "x",   "properties": {"a": 1}})";
  auto r = parse(Endpoint::kTrack, body + "\n");
  ASSERT_TRUE(r.is_ok());
  auto q = event::decode_quarantined(r->records[0]);
  ASSERT_TRUE(q.is_ok());
  EXPECT_EQ(q->raw_json, body);
}

TEST_F(IngestParserTest, SkewCorrection) {
  // The client's clock is 1 hour behind: it stamped the event 10 s before sending.
  auto e = one_event(Endpoint::kTrack, R"({"userId": "u", "event": "e",
      "timestamp": "2023-11-14T21:13:00Z", "sentAt": "2023-11-14T21:13:10Z"})");
  EXPECT_EQ(e.timestamp_us, kReceived - 10'000'000);
  EXPECT_EQ(e.original_timestamp_us, *parse_iso8601_us("2023-11-14T21:13:00Z"));
  EXPECT_EQ(e.sent_at_us, *parse_iso8601_us("2023-11-14T21:13:10Z"));
  // Without sentAt the client's timestamp is kept.
  e = one_event(Endpoint::kTrack,
                R"({"userId": "u", "event": "e", "timestamp": "2023-11-14T21:13:00.25+01:00"})");
  EXPECT_EQ(e.timestamp_us, *parse_iso8601_us("2023-11-14T20:13:00.25Z"));
  EXPECT_FALSE(e.sent_at_us.has_value());
  // originalTimestamp stands in for a missing timestamp.
  e = one_event(Endpoint::kTrack, R"({"userId": "u", "event": "e",
      "originalTimestamp": "2023-11-14T22:13:00Z", "sentAt": "2023-11-14T22:13:05Z"})");
  EXPECT_EQ(e.timestamp_us, kReceived - 5'000'000);
}

TEST_F(IngestParserTest, BatchMixesValidAndInvalidAndAppliesBatchLevelFields) {
  auto r = parse(Endpoint::kBatch, R"({
    "sentAt": "2023-11-14T22:13:00Z",
    "context": {"library": {"name": "batch-lib", "version": "1"}, "locale": "fr", "os": {"name": "Android"}},
    "batch": [
      {"type": "track", "userId": "u1", "event": "A", "timestamp": "2023-11-14T22:12:59Z",
       "context": {"locale": "de", "app": {"version": "9"}}},
      {"type": "track", "userId": "u2"},
      "not an object",
      {"type": "bogus", "userId": "u3"},
      {"userId": "u4"},
      {"type": "identify", "anonymousId": "a5", "sentAt": "2023-11-14T22:13:02Z",
       "timestamp": "2023-11-14T22:13:00Z"}
    ]})");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->accepted, 2u);
  EXPECT_EQ(r->rejected, 4u);
  ASSERT_EQ(r->records.size(), 6u);
  ASSERT_EQ(r->errors.size(), 4u);
  EXPECT_EQ(r->errors[0].index, 1u);
  EXPECT_EQ(r->errors[0].reason, R"("event" is required for a track call)");
  EXPECT_EQ(r->errors[1].index, 2u);
  EXPECT_EQ(r->errors[1].reason, "an event must be a JSON object, got string");
  EXPECT_EQ(r->errors[2].index, 3u);
  EXPECT_EQ(r->errors[2].reason,
            R"(unknown "type" "bogus" (expected track, identify, page, screen, group or alias))");
  EXPECT_EQ(r->errors[3].reason, R"("type" is required for an event in a batch)");

  auto first = event::decode_event(r->records[0]);
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->timestamp_us, kReceived - 1'000'000);  // batch sentAt
  EXPECT_EQ(first->context_json,
            R"({"locale":"de","app":{"version":"9"},"library":{"name":"batch-lib","version":"1"},"os":{"name":"Android"}})");
  EXPECT_EQ(first->library_name, "batch-lib");
  EXPECT_EQ(first->os_name, "Android");
  EXPECT_EQ(first->app_version, "9");
  auto quarantined = event::decode_quarantined(r->records[2]);
  ASSERT_TRUE(quarantined.is_ok());
  EXPECT_EQ(quarantined->raw_json, R"("not an object")");
  quarantined = event::decode_quarantined(r->records[1]);
  ASSERT_TRUE(quarantined.is_ok());
  EXPECT_EQ(quarantined->raw_json, R"({"type":"track","userId":"u2"})");
  auto last = event::decode_event(r->records[5]);
  ASSERT_TRUE(last.is_ok());
  EXPECT_EQ(last->type, event::EventType::kIdentify);
  EXPECT_EQ(last->timestamp_us, kReceived - 2'000'000);  // the event's own sentAt wins
  EXPECT_EQ(last->context_json,
            R"({"library":{"name":"batch-lib","version":"1"},"locale":"fr","os":{"name":"Android"}})");
}

TEST_F(IngestParserTest, SubObjectsKeepTheirOriginalTextMinified) {
  event::Event e = one_event(Endpoint::kTrack, R"({"userId": "u", "event": "e",
      "properties": { "price": 1.50, "big": 1.0e3, "esc": "a\u00e9 \"b\" c", "nested": [ {"k" : null} ] },
      "context": {"ip" : "1.2.3.4", "k\u0065y": true}})");
  EXPECT_EQ(e.properties_json,
            R"({"price":1.50,"big":1.0e3,"esc":"a\u00e9 \"b\" c","nested":[{"k":null}]})");
  EXPECT_EQ(e.context_json, R"({"ip":"1.2.3.4","k\u0065y":true})");
}

TEST_F(IngestParserTest, BatchItemsDoNotInheritEarlierItemsFields) {
  auto r = parse(Endpoint::kBatch, R"({"batch": [
      {"type": "group", "userId": "u1", "groupId": "g", "traits": {"t": 1},
       "properties": {"p": 1}, "context": {"userAgent": "ua-1", "os": {"name": "iOS"}},
       "sentAt": "2023-11-14T22:13:00Z", "timestamp": "2023-11-14T22:12:00Z", "messageId": "m1"},
      {"type": "page", "anonymousId": "a2", "name": "Home"},
      {"type": "page", "anonymousId": "a3"},
      {"type": "track", "userId": "u4", "event": "x", "properties": 5},
      {"type": "alias", "userId": "u5", "previousId": "p5"},
      {"type": "identify", "userId": "u6"}]})");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->records.size(), 6u);
  EXPECT_EQ(r->accepted, 5u);
  auto q = event::decode_quarantined(r->records[3]);
  ASSERT_TRUE(q.is_ok());
  EXPECT_EQ(q->raw_json, R"({"type":"track","userId":"u4","event":"x","properties":5})");
  auto page = event::decode_event(r->records[2]);
  ASSERT_TRUE(page.is_ok());
  EXPECT_EQ(page->event, "");
  auto last = event::decode_event(r->records[5]);
  ASSERT_TRUE(last.is_ok());
  event::Event fresh;
  EXPECT_EQ(last->type, event::EventType::kIdentify);
  EXPECT_EQ(last->user_id, "u6");
  EXPECT_EQ(last->anonymous_id, "");
  EXPECT_EQ(last->group_id, "");
  EXPECT_EQ(last->previous_id, "");
  EXPECT_EQ(last->event, "");
  EXPECT_EQ(last->properties_json, fresh.properties_json);
  EXPECT_EQ(last->traits_json, fresh.traits_json);
  EXPECT_EQ(last->context_json, fresh.context_json);
  EXPECT_EQ(last->user_agent, "header-agent/1.0");
  EXPECT_EQ(last->os_name, "");
  EXPECT_FALSE(last->sent_at_us.has_value());
  EXPECT_FALSE(last->original_timestamp_us.has_value());
  EXPECT_EQ(last->timestamp_us, kReceived);
  EXPECT_NE(last->message_id, "m1");
  EXPECT_EQ(last->message_id.size(), 36u);
}

TEST_F(IngestParserTest, RequestLevelErrors) {
  auto r = parse(Endpoint::kTrack, R"({"userId": "u", )");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("malformed JSON"), std::string::npos);
  r = parse(Endpoint::kTrack, "[1,2]");
  EXPECT_EQ(r.status().message(), "the body must be a JSON object, got array");
  r = parse(Endpoint::kBatch, R"({"batch": {}})");
  EXPECT_EQ(r.status().message(), R"("batch" must be an array, got object)");
  r = parse(Endpoint::kBatch, R"({})");
  EXPECT_EQ(r.status().message(), R"("batch" is required: an array of events)");
  r = parse(Endpoint::kBatch, R"({"batch": [], "sentAt": "soon"})");
  EXPECT_EQ(r.status().message(), R"("sentAt" is not an ISO 8601 date-time: "soon")");
  r = parse(Endpoint::kBatch, R"({"batch": [], "context": []})");
  EXPECT_EQ(r.status().message(), R"("context" must be an object, got array)");
}

TEST_F(IngestParserTest, WriteKeyInTheBody) {
  auto r = parse(Endpoint::kTrack, R"({"writeKey": "wk_ios", "userId": "u", "event": "e"})",
                 meta(""));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->source, "ios");
  EXPECT_EQ(event::decode_event(r->records[0])->source, "ios");
  r = parse(Endpoint::kTrack, R"({"writeKey": "nope", "userId": "u", "event": "e"})", meta(""));
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().message(), "unknown write key");
  r = parse(Endpoint::kTrack, R"({"userId": "u", "event": "e"})", meta(""));
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("missing write key"), std::string::npos);
}

TEST_F(IngestParserTest, Limits) {
  IngestParser small(IngestLimits{200, 3}, sources_);
  std::string big = R"({"userId": "u", "event": "e", "properties": {"x": ")" +
                    std::string(300, 'y') + "\"}}";
  std::string body = big;
  auto r = small.parse(Endpoint::kTrack, body, meta());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->rejected, 1u);
  EXPECT_EQ(r->errors[0].reason, "event is " + std::to_string(big.size()) +
                                     " bytes, more than the limit of 200 bytes");
  body = R"({"batch": [{"type": "track", "userId": "u", "event": "ok"},
                        {"type": "track", "userId": "u", "event": "e", "properties": {"x": ")" +
         std::string(300, 'y') + "\"}}]}";
  r = small.parse(Endpoint::kBatch, body, meta());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->accepted, 1u);
  EXPECT_EQ(r->rejected, 1u);
  EXPECT_EQ(r->errors[0].index, 1u);
  EXPECT_NE(r->errors[0].reason.find("more than the limit of 200 bytes"), std::string::npos);
  body = R"({"batch": [{}, {}, {}, {}]})";
  r = small.parse(Endpoint::kBatch, body, meta());
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(r.status().message(), "batch has 4 events, more than the limit of 3");
}

}  // namespace
}  // namespace basalt::collect
