#include "enrich/lua_transform.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace basalt::enrich {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<LuaTransform> must_load(const std::string& code, const LuaLimits& limits = {}) {
  auto t = LuaTransform::load_source("transforms/test.lua", code, limits);
  EXPECT_TRUE(t.is_ok()) << t.status().to_string();
  return t.is_ok() ? std::move(t).value() : nullptr;
}

TransformOutput must_apply(LuaTransform& t, std::string_view event) {
  auto r = t.apply(event);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? std::move(r).value() : TransformOutput{};
}

Status apply_error(LuaTransform& t, std::string_view event = R"({"event":"x"})") {
  auto r = t.apply(event);
  EXPECT_FALSE(r.is_ok()) << "expected an error, got " << (r.is_ok() ? r->size() : 0) << " events";
  return r.status();
}

constexpr const char* kIdentity = "function transform(e) return e end";

TEST(LuaTransformTest, IdentityKeepsTheEvent) {
  auto t = must_load(kIdentity);
  const auto out =
      must_apply(*t, R"({"type":"track","event":"pay","properties":{"amount":9.99,"n":3}})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], R"({"event":"pay","properties":{"amount":9.99,"n":3},"type":"track"})");
}

TEST(LuaTransformTest, ChangesTheEvent) {
  auto t = must_load(R"(
    function transform(e)
      e.event = string.lower(e.event)
      e.properties.currency = e.properties.currency or "USD"
      e.properties.amount = e.properties.amount * 100
      e.properties.level = nil
      e.context = { app = { name = "demo" } }
      return e
    end)");
  const auto out = must_apply(*t, R"({"event":"PAY","properties":{"amount":1.5,"level":4}})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(
      out[0],
      R"({"context":{"app":{"name":"demo"}},"event":"pay","properties":{"amount":150,"currency":"USD"}})");
}

TEST(LuaTransformTest, DropsWithNilOrAnEmptyList) {
  auto t = must_load(R"(
    function transform(e)
      if e.event == "debug" then return nil end
      if e.event == "noise" then return {} end
      return e
    end)");
  EXPECT_TRUE(must_apply(*t, R"({"event":"debug"})").empty());
  EXPECT_TRUE(must_apply(*t, R"({"event":"noise"})").empty());
  EXPECT_EQ(must_apply(*t, R"({"event":"keep"})").size(), 1u);
}

TEST(LuaTransformTest, FansOut) {
  auto t = must_load(R"(
    function transform(e)
      local out = {}
      for i, item in ipairs(e.properties.items) do
        out[#out + 1] = { event = "item_bought", properties = { sku = item.sku, index = i } }
      end
      return out
    end)");
  const auto out = must_apply(
      *t, R"({"event":"order","properties":{"items":[{"sku":"a"},{"sku":"b"},{"sku":"c"}]}})");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], R"({"event":"item_bought","properties":{"index":1,"sku":"a"}})");
  EXPECT_EQ(out[2], R"({"event":"item_bought","properties":{"index":3,"sku":"c"}})");
}

TEST(LuaTransformTest, FanOutIsBounded) {
  auto t = must_load(R"(
    function transform(e)
      local out = {}
      for i = 1, 5 do out[i] = { n = i } end
      return out
    end)",
                     LuaLimits{.max_output_events = 4});
  const Status s = apply_error(*t);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("returned 5 events, more than the 4 allowed"), std::string::npos)
      << s.message();
}

TEST(LuaTransformTest, SyntaxErrorAtLoad) {
  auto t =
      LuaTransform::load_source("transforms/app.lua", "function transform(e)\n  return e +\nend\n");
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("transforms/app.lua:3:"), std::string::npos)
      << t.status().message();
}

TEST(LuaTransformTest, LoadNeedsATransformFunction) {
  auto t = LuaTransform::load_source("transforms/app.lua", "x = 1");
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message().find("transforms/app.lua: the script defines no function "
                                      "transform(event)"),
            std::string::npos)
      << t.status().message();
  auto top = LuaTransform::load_source("transforms/app.lua", "error('boom at load')");
  ASSERT_FALSE(top.is_ok());
  EXPECT_NE(top.status().message().find("transforms/app.lua:1: boom at load"), std::string::npos)
      << top.status().message();
}

TEST(LuaTransformTest, RuntimeErrorIsReturnedWithLuasText) {
  auto t = must_load(
      "function transform(e)\n"
      "  if e.event == 'bad' then\n"
      "    return e.properties.missing.field\n"
      "  end\n"
      "  if e.event == 'raise' then error('amount must be positive') end\n"
      "  if e.event == 'table' then error({code = 1}) end\n"
      "  return e\n"
      "end\n");
  Status s = apply_error(*t, R"({"event":"bad","properties":{}})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("transforms/test.lua:3: attempt to index field 'missing'"),
            std::string::npos)
      << s.message();
  s = apply_error(*t, R"({"event":"raise"})");
  EXPECT_NE(s.message().find("transforms/test.lua:5: amount must be positive"), std::string::npos)
      << s.message();
  s = apply_error(*t, R"({"event":"table"})");
  EXPECT_NE(s.message().find("error object is a table"), std::string::npos) << s.message();
  // The state still works after errors.
  EXPECT_EQ(must_apply(*t, R"({"event":"fine"})").size(), 1u);
}

TEST(LuaTransformTest, BadReturnValues) {
  auto t = must_load(R"(
    function transform(e)
      if e.event == "s" then return "text" end
      if e.event == "f" then return { fn = print or function() end } end
      if e.event == "nan" then e.x = 0/0 return e end
      if e.event == "mixed" then return { a = 1, [2] = 3 } end
      if e.event == "cycle" then e.self = e return e end
      if e.event == "utf8" then e.name = string.char(255) return e end
      if e.event == "list" then return { e, 5 } end
      if e.event == "marked" then e.tags = json.array({"a", name = "b"}) return e end
      if e.event == "holes" then e.tags = json.array({}) e.tags[3] = "c" return e end
      return e
    end)");
  EXPECT_NE(apply_error(*t, R"({"event":"s"})").message().find("not a string"), std::string::npos);
  Status s = apply_error(*t, R"({"event":"f"})");
  EXPECT_NE(s.message().find("at \"fn\": a function cannot be JSON"), std::string::npos)
      << s.message();
  s = apply_error(*t, R"({"event":"nan"})");
  EXPECT_NE(s.message().find("at \"x\": the number nan cannot be JSON"), std::string::npos)
      << s.message();
  EXPECT_NE(apply_error(*t, R"({"event":"mixed"})").message().find("mixing string and other keys"),
            std::string::npos);
  s = apply_error(*t, R"({"event":"cycle"})");
  EXPECT_NE(s.message().find("a table that contains itself"), std::string::npos) << s.message();
  s = apply_error(*t, R"({"event":"utf8"})");
  EXPECT_NE(s.message().find("at \"name\": a string is not valid UTF-8"), std::string::npos)
      << s.message();
  s = apply_error(*t, R"({"event":"marked"})");
  EXPECT_NE(s.message().find("at \"tags\": a table marked as a JSON array has a key that is not"),
            std::string::npos)
      << s.message();
  // Holes in a marked array are nulls.
  EXPECT_EQ(must_apply(*t, R"({"event":"holes"})").at(0),
            R"({"event":"holes","tags":[null,null,"c"]})");
  s = apply_error(*t, R"({"event":"list"})");
  EXPECT_NE(s.message().find("event 2 of the list transform() returned is a number"),
            std::string::npos)
      << s.message();
}

TEST(LuaTransformTest, BadInput) {
  auto t = must_load(kIdentity);
  EXPECT_NE(apply_error(*t, "[1,2]").message().find("not a JSON object"), std::string::npos);
  EXPECT_NE(apply_error(*t, "{\"a\":").message().find("not valid JSON"), std::string::npos);
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 200; ++i) deep += "}";
  EXPECT_NE(apply_error(*t, deep).message().find("nested deeper than 128"), std::string::npos);
}

TEST(LuaTransformTest, InfiniteLoopIsStopped) {
  auto t = must_load(R"(
    function transform(e)
      if e.event == "loop" then while true do end end
      if e.event == "pcall" then
        -- a pcall in the script cannot swallow the stop
        while true do pcall(function() while true do end end) end
      end
      if e.event == "coroutine" then
        local co = coroutine.wrap(function() while true do end end)
        co()
      end
      return e
    end)",
                     LuaLimits{.instruction_budget = 100'000});
  for (const char* event : {"loop", "pcall", "coroutine"}) {
    const Status s = apply_error(*t, std::string(R"({"event":")") + event + "\"}");
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << event;
    EXPECT_NE(s.message().find("instruction budget of 100000 Lua instructions exceeded"),
              std::string::npos)
        << event << ": " << s.message();
  }
  EXPECT_EQ(must_apply(*t, R"({"event":"ok"})").size(), 1u);
}

TEST(LuaTransformTest, InfiniteLoopAtLoadIsStopped) {
  auto t = LuaTransform::load_source("transforms/app.lua",
                                     "while true do end\nfunction transform(e) return e end",
                                     LuaLimits{.instruction_budget = 50'000});
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(t.status().message().find("instruction budget"), std::string::npos);
}

TEST(LuaTransformTest, BudgetIsPerCall) {
  // 300 calls of a loop of ~20,000 instructions: each fits, together far more than the budget.
  auto t = must_load(
      "function transform(e) local s = 0 for i = 1, 5000 do s = s + i end e.s = s return e end",
      LuaLimits{.instruction_budget = 100'000});
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(must_apply(*t, R"({"event":"x"})").at(0), R"({"event":"x","s":12502500})");
  }
}

TEST(LuaTransformTest, SandboxEscapesAreRefused) {
  auto t = must_load(R"(
    function transform(e)
      local probe = {
        io_open = function() return io.open("/etc/passwd") end,
        os_execute = function() return os.execute("true") end,
        os_getenv = function() return os.getenv("HOME") end,
        os_remove = function() return os.remove("/tmp/x") end,
        require = function() return require("os") end,
        load = function() return load("return 1") end,
        loadstring = function() return loadstring("return 1") end,
        dofile = function() return dofile("/etc/passwd") end,
        loadfile = function() return loadfile("/etc/passwd") end,
        string_dump = function() return string.dump(transform) end,
        method_dump = function() return ("x").dump(transform) end,
        ffi = function() return ffi.C end,
        jit = function() return jit.off() end,
        package = function() return package.loaded end,
        debug = function() return debug.getregistry() end,
        getfenv = function() return getfenv(0) end,
        collectgarbage = function() return collectgarbage("stop") end,
        string_meta = function() return getmetatable("").__index end,
      }
      local fn = probe[e.event]
      local ok, err = pcall(fn)
      if ok then error("escaped through " .. e.event) end
      e.refused = tostring(err)
      return e
    end)");
  for (const char* probe :
       {"io_open", "os_execute", "os_getenv", "os_remove", "require", "load", "loadstring",
        "dofile", "loadfile", "string_dump", "method_dump", "ffi", "jit", "package", "debug",
        "getfenv", "collectgarbage", "string_meta"}) {
    auto r = t->apply(std::string(R"({"event":")") + probe + "\"}");
    ASSERT_TRUE(r.is_ok()) << probe << ": " << r.status().message();
    EXPECT_NE(r->at(0).find("attempt to"), std::string::npos) << probe << ": " << r->at(0);
  }
}

TEST(LuaTransformTest, AllowedLibrariesWork) {
  auto t = must_load(R"(
    function transform(e)
      e.t = type(os.time()) .. "," .. type(os.clock()) .. "," .. os.date("!%Y", 0)
      e.up = ("abc"):upper()
      e.m = math.floor(2.7)
      e.b = bit.band(12, 10)
      e.j = table.concat({"a", "b"}, "-")
      e.f = string.format("%05.1f", 3.14159)
      return e
    end)");
  EXPECT_EQ(must_apply(*t, "{}").at(0),
            R"({"b":8,"f":"003.1","j":"a-b","m":2,"t":"number,number,1970","up":"ABC"})");
}

TEST(LuaTransformTest, BytecodeIsRefused) {
  auto t = LuaTransform::load_source("transforms/app.lua", std::string("\x1bLJ\x02 junk"));
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message().find("bytecode is not accepted"), std::string::npos);
}

TEST(LuaTransformTest, MemoryBombIsStopped) {
  auto t = must_load(
      R"(
    function transform(e)
      if e.event == "rep" then e.big = string.rep("x", 512 * 1024 * 1024) end
      if e.event == "table" then
        local t = {}
        for i = 1, 1e8 do t[i] = { i } end
      end
      if e.event == "concat" then
        local s = "x"
        for i = 1, 40 do s = s .. s end
      end
      if e.event == "global" then
        hoard = hoard or {}
        for i = 1, 1e7 do hoard[#hoard + 1] = tostring(i) .. "padding padding" end
      end
      return e
    end)",
      LuaLimits{.instruction_budget = 1'000'000'000, .memory_limit_bytes = size_t{16} << 20});
  for (const char* event : {"rep", "table", "concat", "global"}) {
    const Status s = apply_error(*t, std::string(R"({"event":")") + event + "\"}");
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << event;
    EXPECT_NE(s.message().find("memory limit of 16 MB reached"), std::string::npos)
        << event << ": " << s.message();
    EXPECT_LT(t->memory_used(), size_t{4} << 20) << event << ": the state starts afresh";
  }
  EXPECT_EQ(must_apply(*t, R"({"event":"ok"})").size(), 1u);
}

TEST(LuaTransformTest, UnicodeAndNestedJsonRoundTrip) {
  auto t = must_load(kIdentity);
  const std::string event =
      R"({"a":[1,-2,3.5,[],{},[[]],{"x":{"y":[null,true,false]}}],"e":"\"q\" \\ \n\t\u0001",)"
      R"("n":null,"u":"héllo 世界 🎮 \u00e9"})";
  const auto out = must_apply(*t, event);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0],
            "{\"a\":[1,-2,3.5,[],{},[[]],{\"x\":{\"y\":[null,true,false]}}],"
            "\"e\":\"\\\"q\\\" \\\\ \\n\\t\\u0001\",\"n\":null,"
            "\"u\":\"héllo 世界 🎮 é\"}");
  // And the output reads back the same.
  EXPECT_EQ(must_apply(*t, out[0]).at(0), out[0]);
}

TEST(LuaTransformTest, NumbersKeepIntegerOrFloat) {
  auto t = must_load(R"(
    function transform(e)
      if e.event == "touch" then
        e.p.f2 = e.p.f2 + 1      -- changed: written as the integral value it now is
        e.p.added_int = 7
        e.p.added_float = 7.25
      end
      return e
    end)");
  const std::string in =
      R"({"event":"keep","p":{"big":9007199254740993,"f":2.0,"f2":2.0,"i":2,"l":[1.0,2],)"
      R"("neg":-0.5,"u":18446744073709551615,"x":1e300}})";
  // Only the spelling of 1e300 changes.
  EXPECT_EQ(must_apply(*t, in).at(0), std::string(in).replace(in.find("1e300"), 5, "1e+300"));
  const std::string touched = std::string(in).replace(in.find("keep"), 4, "touch");
  EXPECT_EQ(must_apply(*t, touched).at(0),
            R"({"event":"touch","p":{"added_float":7.25,"added_int":7,"big":9007199254740993,)"
            R"("f":2.0,"f2":3,"i":2,"l":[1.0,2],"neg":-0.5,"u":18446744073709551615,"x":1e+300}})");
}

TEST(LuaTransformTest, JsonHelpers) {
  auto t = must_load(R"(
    function transform(e)
      e.tags = json.array({})
      e.gone = json.null
      e.was_null = (e.n == json.null)
      return e
    end)");
  EXPECT_EQ(must_apply(*t, R"({"n":null})").at(0),
            R"({"gone":null,"n":null,"tags":[],"was_null":true})");
}

TEST(LuaTransformTest, GlobalsPersistBetweenCalls) {
  auto t = must_load("count = 0\nfunction transform(e) count = count + 1 e.n = count return e end");
  must_apply(*t, "{}");
  EXPECT_EQ(must_apply(*t, "{}").at(0), R"({"n":2})");
}

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("basalt-lua-" + name + "-" + std::to_string(::getpid())) / "transforms";
  fs::remove_all(dir.parent_path());
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

TEST(LuaTransformTest, ReloadFromFile) {
  const fs::path dir = temp_dir("reload");
  write(dir / "app.lua", "function transform(e) e.v = 1 return e end");
  auto loaded = LuaTransform::load_file((dir / "app.lua").string());
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  LuaTransform& t = **loaded;
  EXPECT_EQ(must_apply(t, "{}").at(0), R"({"v":1})");
  write(dir / "app.lua", "function transform(e) e.v = 2 return e end");
  ASSERT_TRUE(t.reload().is_ok());
  EXPECT_EQ(must_apply(t, "{}").at(0), R"({"v":2})");
  write(dir / "app.lua", "function transform(e) e.v = ");
  const Status bad = t.reload();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(must_apply(t, "{}").at(0), R"({"v":2})") << "the old script stays";
  EXPECT_EQ(LuaTransform::load_file((dir / "none.lua").string()).status().code(),
            StatusCode::kNotFound);
  fs::remove_all(dir.parent_path());
}

TEST(TransformSetTest, LoadsADirectoryAndRunsPerSource) {
  const fs::path dir = temp_dir("set");
  write(dir / "app.lua", "function transform(e) e.by = 'app' return e end");
  write(dir / "web.lua", "function transform(e) return nil end");
  write(dir / "notes.txt", "not a script");
  auto set = TransformSet::load_dir(dir.string());
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
  EXPECT_EQ((*set)->sources(), (std::vector<std::string>{"app", "web"}));
  EXPECT_TRUE((*set)->has("app"));
  EXPECT_FALSE((*set)->has("ios"));
  EXPECT_EQ((*set)->apply("app", "{}")->at(0), R"({"by":"app"})");
  EXPECT_TRUE((*set)->apply("web", "{}")->empty());
  // No transform: the event comes back as it was sent.
  EXPECT_EQ((*set)->apply("ios", R"({"b": 1, "a": 2})")->at(0), R"({"b": 1, "a": 2})");
  fs::remove_all(dir.parent_path());
}

TEST(TransformSetTest, MissingDirectoryHasNoTransforms) {
  auto set = TransformSet::load_dir("/nonexistent/transforms");
  ASSERT_TRUE(set.is_ok());
  EXPECT_TRUE((*set)->sources().empty());
}

TEST(TransformSetTest, ReportsEveryBadScript) {
  const fs::path dir = temp_dir("bad");
  write(dir / "a.lua", "function transform(e) return e end");
  write(dir / "b.lua", "function transform(e)\n  return (\nend");
  write(dir / "c.lua", "x = 1");
  auto set = TransformSet::load_dir(dir.string());
  ASSERT_FALSE(set.is_ok());
  const std::string& m = set.status().message();
  EXPECT_NE(m.find("transforms/b.lua:3:"), std::string::npos) << m;
  EXPECT_NE(m.find("transforms/c.lua: the script defines no function"), std::string::npos) << m;
  EXPECT_EQ(m.find("a.lua"), std::string::npos) << m;
  fs::remove_all(dir.parent_path());
}

TEST(TransformSetTest, ReloadSwitchesEveryThreadAndKeepsTheOldOnError) {
  const fs::path dir = temp_dir("threads");
  write(dir / "app.lua",
        "calls = 0\nfunction transform(e) calls = calls + 1 e.v = 1 e.calls = calls return e end");
  auto loaded = TransformSet::load_dir(dir.string());
  ASSERT_TRUE(loaded.is_ok());
  const TransformSet& set = **loaded;

  // Each thread has its own state: its own count of calls.
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 1; i <= 200; ++i) {
        auto r = set.apply("app", "{}");
        if (!r.is_ok() || r->at(0) != R"({"calls":)" + std::to_string(i) + R"(,"v":1})") {
          ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);

  write(dir / "app.lua", "function transform(e) e.v = 2 return e end");
  ASSERT_TRUE((*loaded)->reload().is_ok());
  EXPECT_EQ(set.apply("app", "{}")->at(0), R"({"v":2})");
  std::thread([&] { EXPECT_EQ(set.apply("app", "{}")->at(0), R"({"v":2})"); }).join();

  write(dir / "app.lua", "function transform(e) return e");
  const Status bad = (*loaded)->reload();
  EXPECT_NE(bad.message().find("transforms/app.lua:1:"), std::string::npos) << bad.message();
  EXPECT_EQ(set.apply("app", "{}")->at(0), R"({"v":2})");
  fs::remove_all(dir.parent_path());
}

TEST(TransformSetTest, StatesOfAReplacedSetAreFreed) {
  const fs::path dir = temp_dir("replace");
  write(dir / "app.lua", "function transform(e) return e end");
  write(dir / "web.lua", "function transform(e) return e end");
  // One long-lived worker thread, like an I/O thread, and sets replaced under it.
  std::unique_ptr<TransformSet> current = std::move(TransformSet::load_dir(dir.string())).value();
  std::vector<size_t> states;  // held by the worker after each round
  std::mutex mu;
  std::condition_variable cv;
  const TransformSet* job = nullptr;
  bool done = false;
  bool stop = false;
  std::thread worker([&] {
    std::unique_lock lock(mu);
    while (true) {
      cv.wait(lock, [&] { return job != nullptr || stop; });
      if (stop) return;
      EXPECT_TRUE(job->apply("app", "{}").is_ok());
      EXPECT_TRUE(job->apply("web", "{}").is_ok());
      states.push_back(TransformSet::states_on_this_thread());
      job = nullptr;
      done = true;
      cv.notify_all();
    }
  });
  auto run = [&](const TransformSet& set) {
    std::unique_lock lock(mu);
    job = &set;
    done = false;
    cv.notify_all();
    cv.wait(lock, [&] { return done; });
  };
  run(*current);
  for (int i = 0; i < 5; ++i) {
    auto next = std::move(TransformSet::load_dir(dir.string())).value();
    current = std::move(next);  // the old set is destroyed here, on this thread
    run(*current);
  }
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  cv.notify_all();
  worker.join();
  // Two states (app, web) each time: the replaced sets' states did not pile up.
  EXPECT_EQ(states, (std::vector<size_t>{2, 2, 2, 2, 2, 2}));
  fs::remove_all(dir.parent_path());
}

}  // namespace
}  // namespace basalt::enrich
