#pragma once
// The original text of values inside JSON that a validating parser (simdjson's DOM parser) has
// already accepted: spans of values, the members of an object and the elements of an array in
// document order, so a caller can copy a sub-object as it was written instead of re-serialising
// it. Private to src/collect.
//
// REQUIRES for every function: the whole text is valid JSON. On any other input the spans are
// meaningless, but no read ever leaves the text and every call ends.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::collect {

// Bytes [begin, end) of a value in the text.
struct JsonSpan {
  size_t begin = 0;
  size_t end = 0;
  size_t size() const { return end - begin; }
};

// The value starting at `at` or after the whitespace there.
JsonSpan json_value_span(std::string_view text, size_t at);

struct JsonMember {
  std::string_view key;  // as written between the quotes, escapes kept
  JsonSpan value;
};

// The members of the object whose value starts at `object.begin`, in document order.
class JsonMembers {
 public:
  JsonMembers(std::string_view text, JsonSpan object) : text_(text), pos_(object.begin + 1) {}
  std::optional<JsonMember> next();

 private:
  std::string_view text_;
  size_t pos_;  // after the '{' or the last member
};

// The elements of the array whose value starts at `array.begin`, in document order.
class JsonElements {
 public:
  JsonElements(std::string_view text, JsonSpan array) : text_(text), pos_(array.begin + 1) {}
  std::optional<JsonSpan> next();

 private:
  std::string_view text_;
  size_t pos_;
};

// Appends `json` without the whitespace outside its strings.
void append_minified_json(std::string_view json, std::string& out);

}  // namespace basalt::collect
