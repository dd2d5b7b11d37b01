#pragma once
// The project's Lua transforms (LuaJIT): `transforms/<source>.lua` defines
// `transform(event)`, called once per collected event of that source with the event as a Lua
// table, and returning the event (changed or not), nil to drop it, or a list of events to fan
// out. The contract scripts see (the sandbox, the JSON mapping, the limits) is in
// docs/enrichment.md.
//
// Events go in and come out as JSON text: objects become tables with string keys, arrays
// tables 1..n (marked, so an empty array stays `[]`), null the sentinel `json.null`. Numbers
// keep their kind: an integer comes out as an integer, a float as a float (`2.0` stays `2.0`
// while the script leaves it alone), integers beyond 2^53 keep their digits unless changed.
// Output objects have their keys sorted.
//
// Sandboxed: the script sees base functions without load*/dofile/require/getfenv/setfenv/
// collectgarbage/print, and string (without string.dump), table, math, bit, coroutine and
// os.time/os.clock/os.date; no io, os.execute, package, debug, ffi or jit. Each call runs
// under an instruction budget (a count hook; the JIT is off so the hook always fires) and the
// state under a memory cap (a counting allocator refuses what goes beyond it).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace basalt::enrich {

struct LuaLimits {
  // Lua VM instructions one call of transform() may run (also the budget of the script's
  // top level when it is loaded). A million take about 1 ms of CPU (bench/README.md).
  uint64_t instruction_budget = 1'000'000;
  // Bytes the whole Lua state may hold (the script, its globals and one call's garbage).
  size_t memory_limit_bytes = size_t{64} << 20;
  // Events one call may return.
  size_t max_output_events = 1'000;
};

// What one call of transform() gave: no events (dropped), one, or several (fan-out), each a
// minified JSON object.
using TransformOutput = std::vector<std::string>;

// One script in its own Lua state.
//
// Thread safety: none; a LuaTransform belongs to one thread at a time (TransformSet below
// keeps one per thread).
class LuaTransform {
 public:
  // Compiles `code` and runs its top level, which must define a global function `transform`.
  // `chunk_name` names the script in error messages ("transforms/app.lua").
  // Errors: kInvalidArgument (syntax error, error at the top level, no transform function,
  // precompiled bytecode), kResourceExhausted (the top level broke a limit).
  static Result<std::unique_ptr<LuaTransform>> load_source(std::string chunk_name, std::string code,
                                                           const LuaLimits& limits = {});
  // Reads the script at `path` and loads it as above (chunk name: the path). kNotFound when
  // there is no such file.
  static Result<std::unique_ptr<LuaTransform>> load_file(const std::string& path,
                                                         const LuaLimits& limits = {});

  ~LuaTransform();
  LuaTransform(const LuaTransform&) = delete;
  LuaTransform& operator=(const LuaTransform&) = delete;

  // Runs transform(event) on `event_json` (a JSON object).
  // Errors, after which the caller quarantines the event with the message:
  //   kInvalidArgument: the event is not a JSON object; a Lua error (Lua's text, with
  //     "chunk:line:"); a return value that is not nil, an event or a list of events; an
  //     event that cannot be JSON (a function, NaN, invalid UTF-8, mixed keys, a cycle);
  //   kResourceExhausted: the instruction budget or the memory cap was reached. The state is
  //     then rebuilt from the script, so globals the script kept are reset.
  Result<TransformOutput> apply(std::string_view event_json);

  // Re-reads the file (load_file) or reloads the source (load_source) into a fresh state. On
  // error the current state stays and keeps working.
  Status reload();

  const std::string& chunk_name() const;
  // Bytes the Lua state holds now.
  size_t memory_used() const;

 private:
  struct State;
  LuaTransform(std::string chunk_name, std::string path, LuaLimits limits);
  static Result<std::unique_ptr<State>> open_state(const std::string& chunk_name,
                                                   const std::string& code,
                                                   const LuaLimits& limits);

  std::string chunk_name_;
  std::string path_;  // "" for load_source
  std::string code_;
  LuaLimits limits_;
  std::unique_ptr<State> state_;
};

// The transforms of one project, `<dir>/<source>.lua` each, shared by every I/O thread.
//
// Thread safety: every method may be called from any thread. apply() runs the script in the
// calling thread's own LuaTransform, created on that thread's first call for the source and
// rebuilt after a reload(); so each thread has one Lua state per source, never shared. A
// thread's states are freed when it ends, or, once their set is destroyed, at that thread's
// first call into another set (so replacing a TransformSet on reload leaks nothing).
class TransformSet {
 public:
  // Loads every `*.lua` in `dir`; a missing directory is a set without transforms. Every
  // script is compiled and its top level run once here; all errors are reported together,
  // one line each ("transforms/app.lua:3: ...").
  static Result<std::unique_ptr<TransformSet>> load_dir(const std::string& dir,
                                                        const LuaLimits& limits = {});
  ~TransformSet();

  // The sources that have a transform, sorted.
  std::vector<std::string> sources() const;
  bool has(std::string_view source) const;

  // Runs `source`'s transform on the event (see LuaTransform::apply). A source without a
  // transform gets its event back unchanged.
  Result<TransformOutput> apply(std::string_view source, std::string_view event_json) const;

  // Re-reads the directory. When every script loads, the new scripts replace the old ones
  // (each thread switches at its next apply); otherwise nothing changes and the errors are
  // returned as by load_dir.
  Status reload();

  // Lua states the calling thread holds, for any TransformSet (for metrics and tests).
  static size_t states_on_this_thread();

 private:
  class Impl;
  explicit TransformSet(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::enrich
