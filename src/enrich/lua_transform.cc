#include "enrich/lua_transform.h"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <lua.hpp>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "common/json_string.h"

namespace basalt::enrich {
namespace {

namespace fs = std::filesystem;

// Nesting deeper than this, in or out, is refused (a table that contains itself ends here).
constexpr int kMaxDepth = 128;
// The count hook runs every this many VM instructions (or fewer, for a smaller budget).
constexpr uint64_t kHookStep = 1000;
// Integers beyond this lose digits as Lua numbers (doubles).
constexpr int64_t kMaxExactInteger = int64_t{1} << 53;
constexpr double kInt64Bound = 9223372036854775808.0;  // 2^63

// Addresses used as unique keys and values: the json.null sentinel, and the registry slots of
// the array metatable and of the table of number spellings to keep. (Different contents, so
// no linker can fold them into one.)
const char kJsonNull[] = "json.null";
const char kArrayMetaKey[] = "json.array metatable";
const char kNumberTextKey[] = "json number spellings";

void* as_key(const char* tag) { return const_cast<char*>(tag); }  // NOLINT: Lua wants void*

// What one Lua state may use and has used; the allocator's and the hook's user data.
struct Budget {
  size_t used = 0;
  size_t limit = 0;
  bool refused = false;  // an allocation was refused during the current call
  uint64_t budget = 0;
  uint64_t step = kHookStep;
  uint64_t executed = 0;
  bool exhausted = false;
  bool own_allocator = true;  // false: memory is checked in the hook instead
};

// Counts every byte the state holds and refuses what would go beyond the limit: a single
// huge allocation (string.rep) is stopped before it is made, which a check in the count hook
// could not do. (OpenResty's LuaJIT is built with GC64 on x86-64, so lua_newstate takes a
// custom allocator.)
void* allocate(void* ud, void* ptr, size_t old_size, size_t new_size) {
  auto* b = static_cast<Budget*>(ud);
  const size_t old_bytes = ptr == nullptr ? 0 : old_size;
  if (new_size == 0) {
    b->used -= old_bytes;
    std::free(ptr);  // NOLINT: the Lua allocator contract
    return nullptr;
  }
  if (new_size > old_bytes && b->used + (new_size - old_bytes) > b->limit) {
    b->refused = true;
    return nullptr;
  }
  void* p = std::realloc(ptr, new_size);  // NOLINT: the Lua allocator contract
  if (p != nullptr) b->used = b->used - old_bytes + new_size;
  return p;
}

Budget& budget_of(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return *static_cast<Budget*>(ud);
}

void count_hook(lua_State* L, lua_Debug* /*unused*/) {
  Budget& b = budget_of(L);
  b.executed += b.step;
  if (b.executed > b.budget) {
    b.exhausted = true;
    // From now on every instruction fails, so a pcall in the script cannot swallow the stop.
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, "instruction budget exceeded");
  }
  if (!b.own_allocator) {
    const size_t used = static_cast<size_t>(lua_gc(L, LUA_GCCOUNT, 0)) * 1024 +
                        static_cast<size_t>(lua_gc(L, LUA_GCCOUNTB, 0));
    if (used > b.limit) {
      b.refused = true;
      luaL_error(L, "not enough memory");
    }
  }
}

void start_budget(lua_State* L, Budget& b) {
  b.executed = 0;
  b.exhausted = false;
  b.refused = false;
  b.step = std::max<uint64_t>(1, std::min(kHookStep, b.budget));
  lua_sethook(L, count_hook, LUA_MASKCOUNT, static_cast<int>(b.step));
}

std::string megabytes(size_t bytes) {
  std::ostringstream s;
  s << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MB";
  return s.str();
}

// The Status for a failed protected call: the limit that stopped it, or Lua's error text.
Status lua_failure(lua_State* L, const Budget& b, const LuaLimits& limits, std::string_view what) {
  if (b.exhausted) {
    return {StatusCode::kResourceExhausted, std::string(what) + " stopped: instruction budget of " +
                                                std::to_string(limits.instruction_budget) +
                                                " Lua instructions exceeded (an endless loop?)"};
  }
  if (b.refused) {
    return {StatusCode::kResourceExhausted, std::string(what) + " stopped: memory limit of " +
                                                megabytes(limits.memory_limit_bytes) + " reached"};
  }
  // Read without converting in place (which could allocate outside a protected call).
  const int type = lua_type(L, -1);
  std::string message;
  if (type == LUA_TSTRING) {
    size_t size = 0;
    const char* text = lua_tolstring(L, -1, &size);
    message.assign(text, size);
  } else if (type == LUA_TNUMBER) {
    char buffer[40];
    message.assign(buffer, std::to_chars(buffer, buffer + sizeof(buffer), lua_tonumber(L, -1)).ptr);
  } else {
    message = std::string("(error object is a ") + lua_typename(L, type) + ")";
  }
  return invalid_argument(std::string(what) + " failed: " + message);
}

// json.array(t): marks t as a JSON array (so an empty one is written `[]`) and returns it.
int json_array(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_pushlightuserdata(L, as_key(kArrayMetaKey));
  lua_rawget(L, LUA_REGISTRYINDEX);
  lua_setmetatable(L, 1);
  return 1;
}

void set_nil(lua_State* L, int table, const char* name) {
  lua_pushnil(L);
  lua_setfield(L, table, name);
}

// Opens the allowed libraries and takes out what a transform must not reach.
int setup_sandbox(lua_State* L) {
  static constexpr std::pair<const char*, lua_CFunction> kLibraries[] = {
      {"", luaopen_base},
      {LUA_TABLIBNAME, luaopen_table},
      {LUA_STRLIBNAME, luaopen_string},
      {LUA_MATHLIBNAME, luaopen_math},
      {LUA_BITLIBNAME, luaopen_bit},
      {LUA_OSLIBNAME, luaopen_os}};
  for (const auto& [name, open] : kLibraries) {
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
  }
  for (const char* name :
       {"dofile", "loadfile", "load", "loadstring", "require", "module", "getfenv", "setfenv",
        "collectgarbage", "gcinfo", "newproxy", "print", "package", "debug", "io", "jit", "ffi"}) {
    set_nil(L, LUA_GLOBALSINDEX, name);
  }
  lua_getglobal(L, LUA_STRLIBNAME);
  set_nil(L, lua_gettop(L), "dump");
  lua_pop(L, 1);

  // os keeps its clock functions only.
  lua_getglobal(L, LUA_OSLIBNAME);
  const int full_os = lua_gettop(L);
  lua_createtable(L, 0, 3);
  for (const char* name : {"time", "clock", "date"}) {
    lua_getfield(L, full_os, name);
    lua_setfield(L, -2, name);
  }
  lua_setglobal(L, LUA_OSLIBNAME);
  lua_pop(L, 1);

  // The string metatable stays in use (s:upper()) but cannot be read or replaced.
  lua_pushliteral(L, "");
  if (lua_getmetatable(L, -1) != 0) {
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);

  // The array marker and the weak-keyed table of number spellings (see push_json).
  lua_pushlightuserdata(L, as_key(kArrayMetaKey));
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "array");
  lua_setfield(L, -2, "__json");
  lua_rawset(L, LUA_REGISTRYINDEX);
  lua_pushlightuserdata(L, as_key(kNumberTextKey));
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);

  lua_createtable(L, 0, 2);
  lua_pushlightuserdata(L, as_key(kJsonNull));
  lua_setfield(L, -2, "null");
  lua_pushcfunction(L, json_array);
  lua_setfield(L, -2, "array");
  lua_setglobal(L, "json");
  return 0;
}

// ---- JSON → Lua --------------------------------------------------------------------------

// The spelling a number must keep when written back unchanged: an integral float ("2.0") or
// an integer a double cannot hold exactly. Empty when the plain writer gets it right.
struct NumberText {
  char text[32];
  size_t size = 0;
};

NumberText spelling_of(const simdjson::dom::element& value) {
  NumberText out;
  char* end = out.text;
  switch (value.type()) {
    case simdjson::dom::element_type::DOUBLE: {
      const double v = value.get_double().value_unsafe();
      if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < kInt64Bound) {
        end = std::to_chars(out.text, out.text + 28, static_cast<int64_t>(v)).ptr;
        *end++ = '.';
        *end++ = '0';
      }
      break;
    }
    case simdjson::dom::element_type::INT64: {
      const int64_t v = value.get_int64().value_unsafe();
      if (v > kMaxExactInteger || v < -kMaxExactInteger) {
        end = std::to_chars(out.text, out.text + 31, v).ptr;
      }
      break;
    }
    case simdjson::dom::element_type::UINT64:
      end = std::to_chars(out.text, out.text + 31, value.get_uint64().value_unsafe()).ptr;
      break;
    default:
      break;
  }
  out.size = static_cast<size_t>(end - out.text);
  return out;
}

// Remembers, for the table at `table`, that the value under the key at the top of the stack
// is spelled `text`. Pops the key.
void remember_spelling(lua_State* L, int table, const NumberText& text) {
  lua_pushlightuserdata(L, as_key(kNumberTextKey));
  lua_rawget(L, LUA_REGISTRYINDEX);  // key, spellings
  lua_pushvalue(L, table);
  lua_rawget(L, -2);  // key, spellings, spellings[table]
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, table);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
  }
  lua_pushvalue(L, -3);
  lua_pushlstring(L, text.text, text.size);
  lua_rawset(L, -3);
  lua_pop(L, 3);
}

// Pushes `value`; false (and `error` set) when it is nested too deep.
bool push_json(lua_State* L, const simdjson::dom::element& value, int depth, std::string& error) {
  if (depth > kMaxDepth) {
    error = "the event is nested deeper than " + std::to_string(kMaxDepth) + " levels";
    return false;
  }
  if (!lua_checkstack(L, 8)) {
    error = "the event is nested too deep for the Lua stack";
    return false;
  }
  switch (value.type()) {
    case simdjson::dom::element_type::OBJECT: {
      const simdjson::dom::object object = value.get_object().value_unsafe();
      lua_createtable(L, 0, static_cast<int>(object.size()));
      const int table = lua_gettop(L);
      for (const auto field : object) {
        lua_pushlstring(L, field.key.data(), field.key.size());
        if (!push_json(L, field.value, depth + 1, error)) return false;
        lua_rawset(L, table);
        if (const NumberText t = spelling_of(field.value); t.size > 0) {
          lua_pushlstring(L, field.key.data(), field.key.size());
          remember_spelling(L, table, t);
        }
      }
      return true;
    }
    case simdjson::dom::element_type::ARRAY: {
      const simdjson::dom::array array = value.get_array().value_unsafe();
      lua_createtable(L, static_cast<int>(array.size()), 0);
      const int table = lua_gettop(L);
      int index = 0;
      for (const auto element : array) {
        ++index;
        if (!push_json(L, element, depth + 1, error)) return false;
        lua_rawseti(L, table, index);
        if (const NumberText t = spelling_of(element); t.size > 0) {
          lua_pushinteger(L, index);
          remember_spelling(L, table, t);
        }
      }
      lua_pushlightuserdata(L, as_key(kArrayMetaKey));
      lua_rawget(L, LUA_REGISTRYINDEX);
      lua_setmetatable(L, table);
      return true;
    }
    case simdjson::dom::element_type::STRING: {
      const std::string_view s = value.get_string().value_unsafe();
      lua_pushlstring(L, s.data(), s.size());
      return true;
    }
    case simdjson::dom::element_type::INT64:
      lua_pushnumber(L, static_cast<lua_Number>(value.get_int64().value_unsafe()));
      return true;
    case simdjson::dom::element_type::UINT64:
      lua_pushnumber(L, static_cast<lua_Number>(value.get_uint64().value_unsafe()));
      return true;
    case simdjson::dom::element_type::DOUBLE:
      lua_pushnumber(L, value.get_double().value_unsafe());
      return true;
    case simdjson::dom::element_type::BOOL:
      lua_pushboolean(L, value.get_bool().value_unsafe() ? 1 : 0);
      return true;
    case simdjson::dom::element_type::NULL_VALUE:
      lua_pushlightuserdata(L, as_key(kJsonNull));
      return true;
  }
  error = "unknown JSON value";
  return false;
}

// ---- Lua → JSON --------------------------------------------------------------------------

// Whether `s` is valid UTF-8; plain ASCII (most keys and values) is checked inline.
bool is_utf8(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return simdjson::validate_utf8(s.data(), s.size());
  }
  return true;
}

void append_number(double v, std::string& out) {
  char buffer[40];
  char* end = nullptr;
  if (v == std::trunc(v) && std::fabs(v) < kInt64Bound) {
    end = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<int64_t>(v)).ptr;
  } else {
    end = std::to_chars(buffer, buffer + sizeof(buffer), v).ptr;
  }
  out.append(buffer, end);
}

enum class TableKind { kEmpty, kArray, kObject };

class JsonWriter {
 public:
  JsonWriter(lua_State* L, std::string& error) : L_(L), error_(error) {
    lua_pushlightuserdata(L, as_key(kArrayMetaKey));
    lua_rawget(L, LUA_REGISTRYINDEX);
    array_meta_ = lua_gettop(L);
    lua_pushlightuserdata(L, as_key(kNumberTextKey));
    lua_rawget(L, LUA_REGISTRYINDEX);
    spellings_ = lua_gettop(L);
  }

  // What the table at `index` is written as; false (error set) when it is none of them.
  bool classify(int index, TableKind& kind, size_t& length) {
    if (lua_getmetatable(L_, index) != 0) {
      const bool marked = lua_rawequal(L_, -1, array_meta_) != 0;
      lua_pop(L_, 1);
      if (marked) return classify_marked_array(index, kind, length);
    }
    size_t count = 0;
    size_t strings = 0;
    double max_index = 0;
    bool all_indexes = true;
    lua_pushnil(L_);
    while (lua_next(L_, index) != 0) {
      lua_pop(L_, 1);
      ++count;
      if (lua_type(L_, -1) == LUA_TSTRING) {
        ++strings;
        all_indexes = false;
      } else if (lua_type(L_, -1) == LUA_TNUMBER) {
        const double k = lua_tonumber(L_, -1);
        if (k >= 1 && k == std::trunc(k) && k < 2147483648.0) {
          max_index = std::max(max_index, k);
        } else {
          all_indexes = false;
        }
      } else {
        all_indexes = false;
      }
    }
    length = count;
    if (count == 0) {
      kind = TableKind::kEmpty;
    } else if (strings == count) {
      kind = TableKind::kObject;
    } else if (all_indexes && max_index == static_cast<double>(count)) {
      kind = TableKind::kArray;
    } else {
      error_ = all_indexes ? "a table with holes in its indexes cannot be a JSON array"
                           : "a table mixing string and other keys cannot be JSON";
      return false;
    }
    return true;
  }

  // A table marked by json.array (or made from a JSON array): its keys must all be indexes;
  // it is written up to the largest, with null for holes.
  bool classify_marked_array(int index, TableKind& kind, size_t& length) {
    double max_index = 0;
    lua_pushnil(L_);
    while (lua_next(L_, index) != 0) {
      lua_pop(L_, 1);
      const double k = lua_type(L_, -1) == LUA_TNUMBER ? lua_tonumber(L_, -1) : 0;
      if (!(k >= 1 && k == std::trunc(k) && k < 2147483648.0)) {
        lua_pop(L_, 1);
        error_ = "a table marked as a JSON array has a key that is not an index";
        return false;
      }
      max_index = std::max(max_index, k);
    }
    kind = TableKind::kArray;
    length = static_cast<size_t>(max_index);
    return true;
  }

  // Writes the value at `index`.
  bool write(int index, int depth, std::string& out) {
    switch (lua_type(L_, index)) {
      case LUA_TNIL:
        out += "null";
        return true;
      case LUA_TBOOLEAN:
        out += lua_toboolean(L_, index) != 0 ? "true" : "false";
        return true;
      case LUA_TNUMBER: {
        const double v = lua_tonumber(L_, index);
        if (!std::isfinite(v)) {
          error_ = std::string("the number ") + (std::isnan(v) ? "nan" : "inf") + " cannot be JSON";
          return false;
        }
        append_number(v, out);
        return true;
      }
      case LUA_TSTRING: {
        size_t size = 0;
        const char* s = lua_tolstring(L_, index, &size);
        if (!is_utf8({s, size})) {
          error_ = "a string is not valid UTF-8";
          return false;
        }
        append_json_string({s, size}, out);
        return true;
      }
      case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L_, index) == as_key(kJsonNull)) {
          out += "null";
          return true;
        }
        break;
      case LUA_TTABLE:
        return write_table(index, depth, out);
      default:
        break;
    }
    error_ = std::string("a ") + lua_typename(L_, lua_type(L_, index)) + " cannot be JSON";
    return false;
  }

  bool write_table(int index, int depth, std::string& out) {
    if (depth > kMaxDepth) {
      error_ = "tables nested deeper than " + std::to_string(kMaxDepth) +
               " levels (a table that contains itself?)";
      return false;
    }
    if (!lua_checkstack(L_, 8)) {
      error_ = "tables nested too deep for the Lua stack";
      return false;
    }
    TableKind kind = TableKind::kObject;
    size_t length = 0;
    if (!classify(index, kind, length)) return false;
    const int base = lua_gettop(L_);
    lua_pushvalue(L_, index);
    lua_rawget(L_, spellings_);
    const int spelled = lua_istable(L_, -1) ? lua_gettop(L_) : 0;
    const bool ok = kind == TableKind::kArray ? write_array(index, length, spelled, depth, out)
                                              : write_object(index, spelled, depth, out);
    lua_settop(L_, base);
    return ok;
  }

  // Path of the failing value, innermost first; filled as the writer unwinds.
  std::vector<std::string>& path() { return path_; }

 private:
  // Writes the value at the top of the stack (key at top-1 for spellings) and pops it.
  bool write_member(int spelled, int depth, std::string& out) {
    const int value = lua_gettop(L_);
    if (spelled != 0 && lua_type(L_, value) == LUA_TNUMBER) {
      lua_pushvalue(L_, value - 1);
      lua_rawget(L_, spelled);
      if (lua_type(L_, -1) == LUA_TSTRING) {
        size_t size = 0;
        const char* text = lua_tolstring(L_, -1, &size);
        if (std::strtod(text, nullptr) == lua_tonumber(L_, value)) {
          out.append(text, size);
          lua_pop(L_, 2);
          return true;
        }
      }
      lua_pop(L_, 1);
    }
    const bool ok = write(value, depth + 1, out);
    lua_pop(L_, 1);
    return ok;
  }

  bool write_array(int index, size_t length, int spelled, int depth, std::string& out) {
    out.push_back('[');
    for (size_t i = 1; i <= length; ++i) {
      if (i > 1) out.push_back(',');
      lua_pushinteger(L_, static_cast<lua_Integer>(i));
      lua_rawgeti(L_, index, static_cast<int>(i));
      if (!write_member(spelled, depth, out)) {
        path_.push_back("[" + std::to_string(i) + "]");
        return false;
      }
      lua_pop(L_, 1);
    }
    out.push_back(']');
    return true;
  }

  bool write_object(int index, int spelled, int depth, std::string& out) {
    // Keys sorted, so the same table always gives the same text. The key strings stay alive:
    // they are keys of the table, which nothing changes while it is written.
    std::vector<std::string_view> keys;
    lua_pushnil(L_);
    while (lua_next(L_, index) != 0) {
      lua_pop(L_, 1);
      size_t size = 0;
      const char* key = lua_tolstring(L_, -1, &size);
      keys.emplace_back(key, size);
    }
    std::sort(keys.begin(), keys.end());
    out.push_back('{');
    bool first = true;
    for (const std::string_view key : keys) {
      if (!is_utf8(key)) {
        error_ = "a key is not valid UTF-8";
        return false;
      }
      if (!first) out.push_back(',');
      first = false;
      append_json_string(key, out);
      out.push_back(':');
      lua_pushlstring(L_, key.data(), key.size());
      lua_pushvalue(L_, -1);
      lua_rawget(L_, index);
      if (!write_member(spelled, depth, out)) {
        path_.push_back(std::string(key));
        return false;
      }
      lua_pop(L_, 1);
    }
    out.push_back('}');
    return true;
  }

  lua_State* L_;
  std::string& error_;
  int array_meta_ = 0;
  int spellings_ = 0;
  std::vector<std::string> path_;
};

// "properties.tags[2]" from the innermost-first path.
std::string dotted(const std::vector<std::string>& path) {
  std::string out;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    if (!out.empty() && (*it)[0] != '[') out.push_back('.');
    out += *it;
  }
  return out;
}

// One call of transform(): in, out and what went wrong outside Lua's own errors.
struct Call {
  int transform_ref = LUA_NOREF;
  simdjson::dom::element event;
  size_t max_events = 0;
  size_t event_bytes = 0;  // of the input, to size the output
  TransformOutput* output = nullptr;
  std::string error;
};

bool write_event(lua_State* L, int index, Call& call, const std::string& where) {
  std::string out;
  out.reserve(call.event_bytes + 64);
  JsonWriter writer(L, call.error);
  TableKind kind = TableKind::kObject;
  size_t length = 0;
  if (!writer.classify(index, kind, length)) {
    call.error = where + ": " + call.error;
    return false;
  }
  if (kind == TableKind::kArray) {
    call.error = where + " is a list, not an event (an object)";
    return false;
  }
  if (!writer.write_table(index, 0, out)) {
    const std::string at = dotted(writer.path());
    call.error = where + (at.empty() ? "" : " at \"" + at + "\"") + ": " + call.error;
    return false;
  }
  call.output->push_back(std::move(out));
  return true;
}

// Runs in lua_cpcall: Lua errors (the script's, and memory) unwind to it.
int run_call(lua_State* L) {
  Call& call = *static_cast<Call*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, call.transform_ref);
  if (!push_json(L, call.event, 0, call.error)) return 0;
  lua_call(L, 1, 1);
  const int result = lua_gettop(L);
  switch (lua_type(L, result)) {
    case LUA_TNIL:
      return 0;  // dropped
    case LUA_TTABLE:
      break;
    default:
      call.error =
          std::string("transform() must return the event, a list of events or nil, not a ") +
          lua_typename(L, lua_type(L, result));
      return 0;
  }
  std::string why;
  JsonWriter probe(L, why);
  TableKind kind = TableKind::kObject;
  size_t length = 0;
  if (!probe.classify(result, kind, length)) {
    call.error = "the returned table: " + why;
    return 0;
  }
  if (kind == TableKind::kArray) {
    if (length > call.max_events) {
      call.error = "transform() returned " + std::to_string(length) + " events, more than the " +
                   std::to_string(call.max_events) + " allowed";
      return 0;
    }
    for (size_t i = 1; i <= length; ++i) {
      lua_rawgeti(L, result, static_cast<int>(i));
      if (!lua_istable(L, -1)) {
        call.error = "event " + std::to_string(i) + " of the list transform() returned is a " +
                     lua_typename(L, lua_type(L, -1)) + ", not an event (an object)";
        return 0;
      }
      if (!write_event(L, lua_gettop(L), call, "event " + std::to_string(i) + " of the list")) {
        return 0;
      }
      lua_pop(L, 1);
    }
    return 0;
  }
  if (kind == TableKind::kEmpty) return 0;  // an empty list: dropped
  write_event(L, result, call, "the returned event");
  return 0;
}

struct LoadJob {
  const std::string* code = nullptr;
  const std::string* chunk_name = nullptr;
  int transform_ref = LUA_NOREF;
  std::string error;
};

int run_load(lua_State* L) {
  LoadJob& job = *static_cast<LoadJob*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  const std::string chunk = "@" + *job.chunk_name;
  if (luaL_loadbuffer(L, job.code->data(), job.code->size(), chunk.c_str()) != 0) {
    lua_error(L);
  }
  lua_call(L, 0, 0);
  lua_getglobal(L, "transform");
  if (!lua_isfunction(L, -1)) {
    job.error = *job.chunk_name + ": the script defines no function transform(event)";
    return 0;
  }
  job.transform_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

Result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return not_found("transform script \"" + path + "\" not found");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return unavailable("cannot read transform script \"" + path + "\"");
  return text.str();
}

}  // namespace

struct LuaTransform::State {
  Budget budget;
  lua_State* L = nullptr;
  int transform_ref = LUA_NOREF;
  simdjson::dom::parser json;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (L != nullptr) lua_close(L);
  }
};

// A new sandboxed state with the script loaded.
Result<std::unique_ptr<LuaTransform::State>> LuaTransform::open_state(const std::string& chunk_name,
                                                                      const std::string& code,
                                                                      const LuaLimits& limits) {
  if (!code.empty() && code[0] == LUA_SIGNATURE[0]) {
    return invalid_argument(chunk_name +
                            ": precompiled Lua bytecode is not accepted, only source text");
  }
  auto state = std::make_unique<LuaTransform::State>();
  Budget& b = state->budget;
  b.limit = limits.memory_limit_bytes;
  b.budget = limits.instruction_budget;
  state->L = lua_newstate(allocate, &b);
  if (state->L == nullptr) {
    // A LuaJIT without GC64 refuses custom allocators: the hook checks the heap instead.
    b.own_allocator = false;
    state->L = luaL_newstate();
    if (state->L == nullptr) return internal_error("cannot create a Lua state");
  }
  lua_State* L = state->L;
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
  if (lua_cpcall(L, setup_sandbox, nullptr) != 0) {
    return lua_failure(L, b, limits, chunk_name + ": setting up the sandbox");
  }
  LoadJob job;
  job.code = &code;
  job.chunk_name = &chunk_name;
  start_budget(L, b);
  if (lua_cpcall(L, run_load, &job) != 0) {
    // Lua's message names the chunk and line.
    return lua_failure(L, b, limits, "loading the transform");
  }
  if (!job.error.empty()) return invalid_argument(job.error);
  state->transform_ref = job.transform_ref;
  lua_settop(L, 0);
  return state;
}

LuaTransform::LuaTransform(std::string chunk_name, std::string path, LuaLimits limits)
    : chunk_name_(std::move(chunk_name)), path_(std::move(path)), limits_(limits) {}

LuaTransform::~LuaTransform() = default;

Result<std::unique_ptr<LuaTransform>> LuaTransform::load_source(std::string chunk_name,
                                                                std::string code,
                                                                const LuaLimits& limits) {
  auto state = open_state(chunk_name, code, limits);
  if (!state.is_ok()) return state.status();
  std::unique_ptr<LuaTransform> t(new LuaTransform(std::move(chunk_name), "", limits));
  t->code_ = std::move(code);
  t->state_ = std::move(state).value();
  return t;
}

Result<std::unique_ptr<LuaTransform>> LuaTransform::load_file(const std::string& path,
                                                              const LuaLimits& limits) {
  auto code = read_file(path);
  if (!code.is_ok()) return code.status();
  auto t = load_source(path, std::move(code).value(), limits);
  if (!t.is_ok()) return t.status();
  (*t)->path_ = path;
  return t;
}

Status LuaTransform::reload() {
  std::string code = code_;
  if (!path_.empty()) {
    auto read = read_file(path_);
    if (!read.is_ok()) return read.status();
    code = std::move(read).value();
  }
  auto state = open_state(chunk_name_, code, limits_);
  if (!state.is_ok()) return state.status();
  state_ = std::move(state).value();
  code_ = std::move(code);
  return Status::ok();
}

const std::string& LuaTransform::chunk_name() const { return chunk_name_; }

size_t LuaTransform::memory_used() const {
  lua_State* L = state_->L;
  return static_cast<size_t>(lua_gc(L, LUA_GCCOUNT, 0)) * 1024 +
         static_cast<size_t>(lua_gc(L, LUA_GCCOUNTB, 0));
}

Result<TransformOutput> LuaTransform::apply(std::string_view event_json) {
  State& st = *state_;
  simdjson::dom::element event;
  if (auto error = st.json.parse(event_json.data(), event_json.size()).get(event)) {
    return invalid_argument(std::string("the event is not valid JSON: ") +
                            simdjson::error_message(error));
  }
  if (!event.is_object()) return invalid_argument("the event is not a JSON object");

  TransformOutput output;
  Call call;
  call.transform_ref = st.transform_ref;
  call.event = event;
  call.max_events = limits_.max_output_events;
  call.event_bytes = event_json.size();
  call.output = &output;
  start_budget(st.L, st.budget);
  const int rc = lua_cpcall(st.L, run_call, &call);
  Status failure;
  if (rc != 0 || st.budget.exhausted || st.budget.refused) {
    failure = lua_failure(st.L, st.budget, limits_, "transform");
  } else if (!call.error.empty()) {
    failure = invalid_argument("transform: " + call.error);
  }
  lua_settop(st.L, 0);
  if (failure.code() == StatusCode::kResourceExhausted) {
    // The script may hold on to what filled the state: start it afresh.
    if (auto fresh = open_state(chunk_name_, code_, limits_); fresh.is_ok()) {
      state_ = std::move(fresh).value();
    }
  } else if (st.budget.used > limits_.memory_limit_bytes / 2) {
    // Collect before the cap turns garbage into a failure of the next call.
    lua_gc(st.L, LUA_GCCOLLECT, 0);
  }
  if (!failure.is_ok()) return failure;
  return output;
}

// ---- TransformSet ------------------------------------------------------------------------

namespace {

struct Script {
  std::string chunk_name;
  std::string code;
};
using Scripts = std::map<std::string, Script, std::less<>>;

// Every <dir>/*.lua, each loaded once to check it.
Result<std::shared_ptr<const Scripts>> read_scripts(const std::string& dir,
                                                    const LuaLimits& limits) {
  auto scripts = std::make_shared<Scripts>();
  std::error_code ec;
  if (!fs::exists(dir, ec)) return std::shared_ptr<const Scripts>(std::move(scripts));
  if (!fs::is_directory(dir, ec)) {
    return invalid_argument("transforms \"" + dir + "\" is not a directory");
  }
  fs::path base = fs::path(dir).lexically_normal();
  if (!base.has_filename()) base = base.parent_path();
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".lua" && entry.is_regular_file(ec)) {
      files.push_back(entry.path());
    }
  }
  if (ec) return unavailable("cannot list transforms \"" + dir + "\": " + ec.message());
  std::sort(files.begin(), files.end());
  std::string errors;
  for (const fs::path& file : files) {
    const std::string chunk_name = (base.filename() / file.filename()).string();
    auto code = read_file(file.string());
    if (!code.is_ok()) {
      errors += (errors.empty() ? "" : "\n") + code.status().message();
      continue;
    }
    auto check = LuaTransform::load_source(chunk_name, code.value(), limits);
    if (!check.is_ok()) {
      errors += (errors.empty() ? "" : "\n") + check.status().message();
      continue;
    }
    scripts->emplace(file.stem().string(), Script{chunk_name, std::move(code).value()});
  }
  if (!errors.empty()) return invalid_argument(errors);
  return std::shared_ptr<const Scripts>(std::move(scripts));
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// The calling thread's states of one TransformSet.
struct ThreadTransforms {
  std::weak_ptr<const bool> alive;  // expires with the TransformSet
  uint64_t generation = 0;
  std::unordered_map<std::string, std::unique_ptr<LuaTransform>, StringHash, std::equal_to<>>
      by_source;  // null: the source has no transform
};

// Per thread, per TransformSet (by id): the states that thread uses.
thread_local std::unordered_map<uint64_t, ThreadTransforms> t_transforms;

std::atomic<uint64_t> g_next_set_id{1};

}  // namespace

class TransformSet::Impl {
 public:
  Impl(std::string dir, LuaLimits limits, std::shared_ptr<const Scripts> scripts)
      : dir_(std::move(dir)), limits_(limits), scripts_(std::move(scripts)) {}

  std::shared_ptr<const Scripts> scripts() const {
    std::lock_guard lock(mutex_);
    return scripts_;
  }

  Status reload() {
    auto scripts = read_scripts(dir_, limits_);
    if (!scripts.is_ok()) return scripts.status();
    {
      std::lock_guard lock(mutex_);
      scripts_ = std::move(scripts).value();
    }
    generation_.fetch_add(1, std::memory_order_release);
    return Status::ok();
  }

  Result<TransformOutput> apply(std::string_view source, std::string_view event_json) const {
    auto found = t_transforms.find(id_);
    if (found == t_transforms.end()) {
      // This thread's first call for this set: free what it holds for sets that are gone
      // (a caller that replaces its TransformSet on reload leaves them behind).
      std::erase_if(t_transforms, [](const auto& entry) { return entry.second.alive.expired(); });
      found = t_transforms.emplace(id_, ThreadTransforms{}).first;
      found->second.alive = alive_;
    }
    ThreadTransforms& mine = found->second;
    const uint64_t generation = generation_.load(std::memory_order_acquire);
    if (mine.generation != generation) {
      mine.by_source.clear();
      mine.generation = generation;
    }
    auto it = mine.by_source.find(source);
    if (it == mine.by_source.end()) {
      std::unique_ptr<LuaTransform> transform;
      const auto current = scripts();
      if (auto script = current->find(source); script != current->end()) {
        auto loaded =
            LuaTransform::load_source(script->second.chunk_name, script->second.code, limits_);
        if (!loaded.is_ok()) return loaded.status();
        transform = std::move(loaded).value();
      }
      it = mine.by_source.emplace(std::string(source), std::move(transform)).first;
    }
    if (!it->second) return TransformOutput{std::string(event_json)};
    return it->second->apply(event_json);
  }

  void forget_this_thread() const { t_transforms.erase(id_); }

 private:
  const uint64_t id_ = g_next_set_id.fetch_add(1);
  const std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);
  const std::string dir_;
  const LuaLimits limits_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Scripts> scripts_;  // guarded by mutex_
  std::atomic<uint64_t> generation_{1};
};

TransformSet::TransformSet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TransformSet::~TransformSet() { impl_->forget_this_thread(); }

Result<std::unique_ptr<TransformSet>> TransformSet::load_dir(const std::string& dir,
                                                             const LuaLimits& limits) {
  auto scripts = read_scripts(dir, limits);
  if (!scripts.is_ok()) return scripts.status();
  return std::unique_ptr<TransformSet>(
      new TransformSet(std::make_unique<Impl>(dir, limits, std::move(scripts).value())));
}

std::vector<std::string> TransformSet::sources() const {
  std::vector<std::string> out;
  for (const auto& [source, script] : *impl_->scripts()) out.push_back(source);
  return out;
}

bool TransformSet::has(std::string_view source) const {
  const auto scripts = impl_->scripts();
  return scripts->find(source) != scripts->end();
}

Result<TransformOutput> TransformSet::apply(std::string_view source,
                                            std::string_view event_json) const {
  return impl_->apply(source, event_json);
}

Status TransformSet::reload() { return impl_->reload(); }

size_t TransformSet::states_on_this_thread() {
  size_t states = 0;
  for (const auto& [id, mine] : t_transforms) {
    for (const auto& [source, transform] : mine.by_source) states += transform ? 1 : 0;
  }
  return states;
}

}  // namespace basalt::enrich
