#pragma once
// The original text of values inside JSON that a validating parser (simdjson's DOM parser) has
// already accepted: spans of values, the members of an object in document order and where the
// elements of an array start, so a caller can copy a sub-object as it was written instead of
// re-serialising it. Private to src/collect.
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

// The one value of a whole document (json_value_span(text, 0) without reading the value: a
// valid document is its value with whitespace around it).
JsonSpan json_document_span(std::string_view text);

struct JsonMember {
  std::string_view key;  // as written between the quotes, escapes kept
  JsonSpan value;
};

// The members of the object whose value starts at `object.begin`, in document order.
class JsonMembers {
 public:
  JsonMembers(std::string_view text, JsonSpan object)
      : text_(text), pos_(object.begin + 1), end_(text.size()) {}
  std::optional<JsonMember> next();
  // The next member without looking for the end of its value (value.end == value.begin): for
  // a caller that needs no more of the object, the walk ends with it.
  std::optional<JsonMember> last();
  // Once next() has returned nullopt: one past the object's closing brace (text.size() when
  // the walk found none).
  size_t end() const { return end_; }

 private:
  std::optional<JsonMember> member(bool read_value);

  std::string_view text_;
  size_t pos_;  // after the '{' or the last member
  size_t end_;
};

// Where the element or member after `at` (the '[' or '{' before the first, or the end of the
// previous one) starts: past whitespace and the comma between them.
size_t json_next_item(std::string_view text, size_t at);

// Appends `json` without the whitespace outside its strings.
void append_minified_json(std::string_view json, std::string& out);

}  // namespace basalt::collect
