#include "stream/stream_record.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "stream_test_support.h"

namespace basalt::stream {
namespace {

TEST(StreamRecord, RoundTripsEveryField) {
  event::Event e = testing::make_event(3);
  e.type = event::EventType::kIdentify;
  e.anonymous_id = "anon-1";
  e.group_id = "g";
  e.previous_id = "p";
  e.sent_at_us = 11;
  e.original_timestamp_us = 12;
  e.ip = "10.0.0.1";
  e.user_agent = "Mozilla \"quoted\" \\ back\nslash\x01";
  e.library_name = "analytics.js";
  e.library_version = "4.1";
  e.os_name = "Linux";
  e.app_version = "1.2.3";
  e.browser = "Chrome";
  e.browser_version = "120.0.0";
  e.os_family = "Windows";
  e.os_version = "10";
  e.device_family = "Other";
  e.device_model = "";  // not found: absent from the record, "" again when read
  e.country = "FR";
  e.region = "Île-de-France";
  e.city = "Paris";
  e.traits_json = R"({"name":"Ann","z":1,"a":[1,2]})";
  e.context_json = R"({"page":{"path":"/é"}})";
  std::string json = stream_record(e);
  auto back = parse_stream_record(json);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string() << " in " << json;
  EXPECT_EQ(*back, e);
  auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["schema_version"], kStreamSchemaVersion);
  EXPECT_EQ(j["type"], "identify");
  EXPECT_EQ(j["traits"]["name"], "Ann");
  EXPECT_EQ(j["user_agent"], e.user_agent);
  EXPECT_EQ(j["city"], "Paris");
  EXPECT_FALSE(j.contains("device_model"));
}

TEST(StreamRecord, AbsentOptionalTimesStayAbsent) {
  event::Event e = testing::make_event(1);
  std::string json = stream_record(e);
  EXPECT_EQ(json.find("sent_at_us"), std::string::npos);
  auto back = parse_stream_record(json);
  ASSERT_TRUE(back.is_ok());
  EXPECT_FALSE(back->sent_at_us.has_value());
}

TEST(StreamRecord, RefusesWhatItDidNotWrite) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {"not json", "invalid JSON"},
      {"[1]", "not a JSON object"},
      {R"({"type":"track"})", "no schema_version"},
      {R"({"schema_version":2,"type":"track"})", "schema_version 2 is not supported"},
      {R"({"schema_version":1,"type":"nope"})", "unknown type 'nope'"},
      {R"({"schema_version":1,"type":"track","message_id":"m","received_at_us":1})",
       "no timestamp_us"},
      {R"({"schema_version":1,"type":"track","message_id":"m","timestamp_us":"x"})",
       "timestamp_us must be an integer"},
      {R"({"schema_version":1,"type":"track","message_id":7,"timestamp_us":1,"received_at_us":1})",
       "message_id must be a string"},
      {R"({"schema_version":1,"type":"track","message_id":"m","timestamp_us":1,"received_at_us":1,"properties":[]})",
       "properties must be an object"},
  };
  for (const auto& c : cases) {
    auto r = parse_stream_record(c.json);
    ASSERT_FALSE(r.is_ok()) << c.json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.json << " → " << r.status().message();
  }
}

TEST(StreamRecord, OrderingKeyIsUserIdElseAnonymousId) {
  event::Event e;
  e.anonymous_id = "a";
  EXPECT_EQ(ordering_key(e), "a");
  e.user_id = "u";
  EXPECT_EQ(ordering_key(e), "u");
}

TEST(StreamRecord, CarriesTheValidatedTypedValues) {
  event::Event e = testing::make_event(3);
  auto field = [](std::string name, event::ValueType t) {
    event::TypedField f;
    f.name = std::move(name);
    f.type = t;
    return f;
  };
  e.typed.push_back(field("amount", event::ValueType::kFloat));
  e.typed.back().float_value = 0.1 + 0.2;
  e.typed.push_back(field("currency", event::ValueType::kString));
  e.typed.back().text = "U\"S\\D";
  e.typed.push_back(field("level", event::ValueType::kInt));
  e.typed.back().int_value = -7;
  e.typed.push_back(field("vip", event::ValueType::kBool));
  e.typed.back().int_value = 1;
  e.typed.push_back(field("at", event::ValueType::kTimestamp));
  e.typed.back().int_value = 1'795'514'400'000'001;
  e.typed.push_back(field("tags", event::ValueType::kStringList));
  e.typed.back().list = {"a", "b c"};
  e.typed.push_back(field("extra", event::ValueType::kJson));
  e.typed.back().text = R"({"x":[1,2]})";
  e.typed.push_back(field("gone", event::ValueType::kNull));
  auto back = parse_stream_record(stream_record(e));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->typed, e.typed);
  EXPECT_EQ(*back, e);

  // Without typed values the member is left out; a record with a bad one is refused.
  EXPECT_EQ(stream_record(testing::make_event(4)).find("typed"), std::string::npos);
  std::string bad = stream_record(testing::make_event(5));
  bad.pop_back();
  EXPECT_FALSE(parse_stream_record(bad + R"(,"typed":[["amount","float","x"]]})").is_ok());
  auto unknown = parse_stream_record(bad + R"(,"typed":[["amount","money",1]]})");
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("unknown type 'money'"), std::string::npos);
}

}  // namespace
}  // namespace basalt::stream
