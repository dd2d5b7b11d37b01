#include "collect/json_text.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>
#include <vector>

namespace basalt::collect {
namespace {

TEST(JsonTextTest, SpansOfScalarsStringsAndContainers) {
  const std::string text = R"(  {"a" : "x\"y\\", "b":[1,{"c":"]}"},[]] ,"d":-1.5e3,"e":true} )";
  EXPECT_EQ(json_document_span(text).begin, 2u);
  EXPECT_EQ(json_document_span(text).end, text.size() - 1);
  JsonMembers members(text, json_document_span(text));
  std::vector<std::pair<std::string, std::string>> got;
  while (auto m = members.next()) {
    got.emplace_back(std::string(m->key), text.substr(m->value.begin, m->value.size()));
  }
  const std::vector<std::pair<std::string, std::string>> want = {
      {"a", R"("x\"y\\")"}, {"b", R"([1,{"c":"]}"},[]])"}, {"d", "-1.5e3"}, {"e", "true"}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(members.end(), text.size() - 1);
}

TEST(JsonTextTest, LastStopsAtTheValuesStart) {
  const std::string text = R"({"sentAt":"2024","batch": [{"a":1}],"context":{}})";
  JsonMembers members(text, json_document_span(text));
  ASSERT_TRUE(members.next());
  auto batch = members.last();
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->key, "batch");
  EXPECT_EQ(text[batch->value.begin], '[');
  EXPECT_EQ(batch->value.end, batch->value.begin);
  EXPECT_FALSE(members.next());
  EXPECT_EQ(json_next_item(text, batch->value.begin + 1), batch->value.begin + 1);
}

TEST(JsonTextTest, EndOfAnEmptyObjectAndOfTextThatIsNotJson) {
  const std::string empty = " { } ";
  JsonMembers a(empty, json_document_span(empty));
  EXPECT_FALSE(a.next());
  EXPECT_EQ(a.end(), 4u);
  // Not JSON (outside the contract): the walk ends inside the text.
  for (std::string bad : {std::string(R"({"a":"unterminated)"), std::string(R"({"a":[[[)"),
                          std::string(R"({"a)"), std::string("{"), std::string(R"({"\)")}) {
    JsonMembers m(bad, JsonSpan{0, bad.size()});
    while (m.next()) {
    }
    EXPECT_LE(m.end(), bad.size()) << bad;
    EXPECT_LE(json_value_span(bad, 0).end, bad.size()) << bad;
  }
}

// Writes random JSON and remembers, for every object, the spans of its members: the oracle
// for the scanner, whose SIMD steps must agree with it at every alignment and string length.
class RandomJson {
 public:
  explicit RandomJson(uint32_t seed) : rng_(seed) {}

  struct Object {
    JsonSpan span;
    std::vector<std::pair<std::string, JsonSpan>> members;  // key as written, value span
  };
  std::string text;
  std::vector<Object> objects;

  void value(int depth) {
    switch (depth > 3 ? pick(4) : pick(6)) {
      case 0:
        string();
        break;
      case 1:
        text += std::to_string(static_cast<int>(rng_()) % 100000);
        break;
      case 2:
        text += pick(2) ? "true" : "null";
        break;
      case 3:
        text += "-0.25e-2";
        break;
      case 4:
        object(depth + 1);
        break;
      default:
        array(depth + 1);
        break;
    }
  }
  void object(int depth) {
    const size_t slot = objects.size();
    objects.emplace_back();
    const size_t begin = text.size();
    text += '{';
    const int n = pick(6);
    for (int i = 0; i < n; ++i) {
      if (i) text += ',';
      space();
      const size_t key_at = text.size();
      string();
      std::string key = text.substr(key_at + 1, text.size() - key_at - 2);
      space();
      text += ':';
      space();
      const size_t value_at = text.size();
      value(depth);
      objects[slot].members.emplace_back(key, JsonSpan{value_at, text.size()});
      space();
    }
    text += '}';
    objects[slot].span = {begin, text.size()};
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  void space() {
    static constexpr const char* kSpaces[] = {"", "", " ", "\n\t ", "\r\n"};
    text += kSpaces[pick(5)];
  }
  void array(int depth) {
    text += '[';
    const int n = pick(5);
    for (int i = 0; i < n; ++i) {
      if (i) text += ',';
      space();
      value(depth);
      space();
    }
    text += ']';
  }
  // Lengths around the 16-byte steps, with escapes (also of quotes and backslashes), brackets
  // and braces inside, and UTF-8.
  void string() {
    static constexpr const char* kPieces[] = {"a",         "bcdefgh",  R"(\")", R"(\\)",
                                              R"(\\\")",   "{",        "]",     "[}",
                                              R"(\u00e9)", "\xc3\xa9", ",:",    " "};
    text += '"';
    const int n = pick(3) == 0 ? pick(40) : pick(6);
    for (int i = 0; i < n; ++i) text += kPieces[pick(12)];
    text += '"';
  }

  std::mt19937 rng_;
};

TEST(JsonTextTest, AgreesWithTheWriterOnRandomDocuments) {
  simdjson::dom::parser parser;
  for (uint32_t seed = 1; seed <= 3000; ++seed) {
    RandomJson json(seed);
    json.text.assign(seed % 23, ' ');  // every alignment
    json.object(0);
    json.text.append(seed % 7, '\n');
    const std::string& text = json.text;
    ASSERT_EQ(parser.parse(text).error(), simdjson::SUCCESS) << text;
    const JsonSpan doc = json_document_span(text);
    ASSERT_EQ(doc.begin, json.objects[0].span.begin) << text;
    ASSERT_EQ(doc.end, json.objects[0].span.end) << text;
    ASSERT_EQ(json_value_span(text, 0).end, doc.end) << text;
    for (const auto& object : json.objects) {
      JsonMembers members(text, object.span);
      for (const auto& [key, span] : object.members) {
        auto m = members.next();
        ASSERT_TRUE(m) << text;
        ASSERT_EQ(m->key, key) << text;
        ASSERT_EQ(m->value.begin, span.begin) << text;
        ASSERT_EQ(m->value.end, span.end) << text;
        ASSERT_EQ(json_value_span(text, span.begin).end, span.end) << text;
      }
      ASSERT_FALSE(members.next()) << text;
      ASSERT_EQ(members.end(), object.span.end) << text;
    }
  }
}

}  // namespace
}  // namespace basalt::collect
