#include "collect/json_text.h"

#include <simdjson.h>

#include <cstring>

namespace basalt::collect {
namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

size_t skip_space(std::string_view text, size_t at) {
  while (at < text.size() && is_space(text[at])) ++at;
  return at;
}

// One past the closing quote of the string whose opening quote is at `at`.
size_t string_end(std::string_view text, size_t at) {
  size_t p = at + 1;
  while (p < text.size()) {
    const void* hit = std::memchr(text.data() + p, '"', text.size() - p);
    if (hit == nullptr) return text.size();
    size_t q = static_cast<size_t>(static_cast<const char*>(hit) - text.data());
    size_t backslashes = 0;
    while (q - backslashes > at + 1 && text[q - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return q + 1;
    p = q + 1;
  }
  return text.size();
}

// One past the end of the value starting at `at` (no whitespace before it).
size_t value_end(std::string_view text, size_t at) {
  if (at >= text.size()) return text.size();
  const char c = text[at];
  if (c == '"') return string_end(text, at);
  if (c == '{' || c == '[') {
    size_t depth = 0;
    size_t p = at;
    while (p < text.size()) {
      const char d = text[p];
      if (d == '"') {
        p = string_end(text, p);
        continue;
      }
      if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return p + 1;
      }
      ++p;
    }
    return text.size();
  }
  size_t p = at;
  while (p < text.size() && text[p] != ',' && text[p] != '}' && text[p] != ']' &&
         !is_space(text[p]))
    ++p;
  return p;
}

}  // namespace

JsonSpan json_value_span(std::string_view text, size_t at) {
  size_t begin = skip_space(text, at);
  return {begin, value_end(text, begin)};
}

std::optional<JsonMember> JsonMembers::next() {
  size_t p = skip_space(text_, pos_);
  if (p < text_.size() && text_[p] == ',') p = skip_space(text_, p + 1);
  if (p >= text_.size() || text_[p] != '"') {
    pos_ = text_.size();
    return std::nullopt;
  }
  size_t key_end = string_end(text_, p);
  const size_t key_len = key_end >= p + 2 ? key_end - p - 2 : 0;
  std::string_view key = text_.substr(p + 1, key_len);
  p = skip_space(text_, key_end);
  if (p < text_.size() && text_[p] == ':') ++p;
  JsonSpan value = json_value_span(text_, p);
  pos_ = value.end;
  return JsonMember{key, value};
}

std::optional<JsonSpan> JsonElements::next() {
  size_t p = skip_space(text_, pos_);
  if (p < text_.size() && text_[p] == ',') p = skip_space(text_, p + 1);
  if (p >= text_.size() || text_[p] == ']') {
    pos_ = text_.size();
    return std::nullopt;
  }
  JsonSpan value = json_value_span(text_, p);
  if (value.end == value.begin) {  // not a value: only on invalid text
    pos_ = text_.size();
    return std::nullopt;
  }
  pos_ = value.end;
  return value;
}

void append_minified_json(std::string_view json, std::string& out) {
  const size_t old = out.size();
  // simdjson's minifier may write a block past the end of its output.
  out.resize(old + json.size() + simdjson::SIMDJSON_PADDING);
  size_t written = 0;
  if (simdjson::minify(json.data(), json.size(), out.data() + old, written) != simdjson::SUCCESS) {
    // Only on text that is not JSON, which the REQUIRES rules out: keep it as it is.
    std::memcpy(out.data() + old, json.data(), json.size());
    written = json.size();
  }
  out.resize(old + written);
}

}  // namespace basalt::collect
