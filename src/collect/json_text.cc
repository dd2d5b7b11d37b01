#include "collect/json_text.h"

#include <simdjson.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstring>

namespace basalt::collect {
namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

size_t skip_space(std::string_view text, size_t at) {
  while (at < text.size() && is_space(text[at])) ++at;
  return at;
}

// The scans below look at 16 bytes at a time where SSE2 is there (every x86-64): most strings
// in events are shorter than that, so a string or a run of plain bytes is usually one step.
// They never read past text.size(): the last bytes are looked at one by one.
#if defined(__SSE2__)
// A mask of the bytes of the 16 at `p` that equal `a` or `b`.
inline unsigned mask_of(const char* p, char a, char b) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i hits =
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(a)), _mm_cmpeq_epi8(v, _mm_set1_epi8(b)));
  return static_cast<unsigned>(_mm_movemask_epi8(hits));
}
#endif

// The first '"' or '\\' at or after `p`, or text.size().
size_t next_quote_or_backslash(std::string_view text, size_t p) {
  const char* d = text.data();
  const size_t n = text.size();
#if defined(__SSE2__)
  for (; p + 16 <= n; p += 16) {
    if (unsigned m = mask_of(d + p, '"', '\\')) return p + static_cast<size_t>(__builtin_ctz(m));
  }
#endif
  for (; p < n; ++p)
    if (d[p] == '"' || d[p] == '\\') return p;
  return n;
}

// The first '"', '{', '}', '[' or ']' at or after `p`, or text.size().
size_t next_structural(std::string_view text, size_t p) {
  const char* d = text.data();
  const size_t n = text.size();
#if defined(__SSE2__)
  for (; p + 16 <= n; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p));
    // '[' and ']' are '{' and '}' without the 0x20 bit, and no other byte becomes '{' or '}'
    // with it set.
    const __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
    const __m128i hits = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(folded, _mm_set1_epi8('{')),
                                                   _mm_cmpeq_epi8(folded, _mm_set1_epi8('}'))),
                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
    if (unsigned m = static_cast<unsigned>(_mm_movemask_epi8(hits)))
      return p + static_cast<size_t>(__builtin_ctz(m));
  }
#endif
  for (; p < n; ++p) {
    const char c = d[p];
    if (c == '"' || c == '{' || c == '}' || c == '[' || c == ']') return p;
  }
  return n;
}

// One past the closing quote of the string whose opening quote is at `at`.
size_t string_end(std::string_view text, size_t at) {
  size_t p = at + 1;
  while (true) {
    p = next_quote_or_backslash(text, p);
    if (p >= text.size()) return text.size();
    if (text[p] == '"') return p + 1;
    p += 2;  // the backslash and the byte it escapes
  }
}

// One past the end of the value starting at `at` (no whitespace before it).
size_t value_end(std::string_view text, size_t at) {
  if (at >= text.size()) return text.size();
  const char c = text[at];
  if (c == '"') return string_end(text, at);
  if (c == '{' || c == '[') {
    size_t depth = 0;
    size_t p = at;
    while (true) {
      p = next_structural(text, p);
      if (p >= text.size()) return text.size();
      const char d = text[p];
      if (d == '"') {
        p = string_end(text, p);
        continue;
      }
      if (d == '{' || d == '[') {
        ++depth;
      } else if (--depth == 0) {
        return p + 1;
      }
      ++p;
    }
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

JsonSpan json_document_span(std::string_view text) {
  size_t end = text.size();
  while (end > 0 && is_space(text[end - 1])) --end;
  return {std::min(skip_space(text, 0), end), end};
}

std::optional<JsonMember> JsonMembers::next() { return member(true); }

std::optional<JsonMember> JsonMembers::last() { return member(false); }

std::optional<JsonMember> JsonMembers::member(bool read_value) {
  if (pos_ >= text_.size()) return std::nullopt;  // the walk has ended
  size_t p = json_next_item(text_, pos_);
  if (p >= text_.size() || text_[p] != '"') {
    if (p < text_.size() && text_[p] == '}') end_ = p + 1;
    pos_ = text_.size();
    return std::nullopt;
  }
  size_t key_end = string_end(text_, p);
  const size_t key_len = key_end >= p + 2 ? key_end - p - 2 : 0;
  std::string_view key = text_.substr(p + 1, key_len);
  p = skip_space(text_, key_end);
  if (p < text_.size() && text_[p] == ':') ++p;
  JsonSpan value;
  if (read_value) {
    value = json_value_span(text_, p);
    pos_ = value.end;
  } else {
    value.begin = value.end = skip_space(text_, p);
    pos_ = text_.size();
  }
  return JsonMember{key, value};
}

size_t json_next_item(std::string_view text, size_t at) {
  size_t p = skip_space(text, at);
  if (p < text.size() && text[p] == ',') p = skip_space(text, p + 1);
  return p;
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
