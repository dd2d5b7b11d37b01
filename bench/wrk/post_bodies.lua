-- wrk script for bench/ingest.sh: POSTs the request bodies of a file (one per line, made by
-- `basalt gen --out`), cycling through them, and prints one parseable RESULT line.
-- events/s counts only requests answered 2xx.
-- Environment (wrk passes script arguments only to init(), and done() runs in a state where
-- init() never ran, so the settings come from the environment):
--   WRK_BODIES   the bodies file (required)
--   WRK_AUTH     optional Authorization header value ("Basic …")
--   WRK_RATE     optional total requests/s to pace to (0 or unset: as fast as possible)
--   WRK_THREADS  wrk's -t, to split WRK_RATE between threads (default 1)
--   WRK_UNIQUE_IDS  1: every messageId sent is new, so a server that drops duplicates stores
--                every event: each id gets a prefix naming this run, the wrk thread and how
--                many times the thread has cycled through the file
local ffi = require "ffi"

local bodies_path = assert(os.getenv("WRK_BODIES"), "WRK_BODIES is not set")
local auth = os.getenv("WRK_AUTH")
local rate = tonumber(os.getenv("WRK_RATE") or "0") or 0
local threads = tonumber(os.getenv("WRK_THREADS") or "1") or 1
local unique_ids = os.getenv("WRK_UNIQUE_IDS") == "1"
local id_key = '"messageId":"'

local bodies, events = {}, 0
for line in io.lines(bodies_path) do
  if #line > 0 then
    bodies[#bodies + 1] = line
    local _, n = line:gsub('"messageId"', "")
    events = events + n
  end
end
assert(#bodies > 0, "no bodies in " .. bodies_path)
local events_per_body = events / #bodies

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if auth and #auth > 0 then wrk.headers["Authorization"] = auth end

local counter = 1
function setup(thread)
  thread:set("first", counter)
  counter = counter + 1
end

-- A body cut at each messageId's value, for WRK_UNIQUE_IDS.
local function pieces_of(body)
  local pieces, at = {}, 1
  while true do
    local s, e = body:find(id_key, at, true)
    if not s then break end
    pieces[#pieces + 1] = body:sub(at, e)
    at = e + 1
  end
  pieces[#pieces + 1] = body:sub(at)
  return pieces
end

local requests, pieces, next_index, run, cycle, id_prefix
-- The prefix of this run's, this thread's and this pass's ids.
local function prefix_of(pass) return string.format("r%x.%d.%d-", run, first or 1, pass) end
function init(_)
  requests, pieces = {}, {}
  for i, body in ipairs(bodies) do
    if unique_ids then
      pieces[i] = pieces_of(body)
    else
      requests[i] = wrk.format(nil, nil, nil, body)
    end
  end
  -- Threads start at different bodies.
  next_index = ((first or 1) - 1) * math.floor(#bodies / threads) % #bodies
  run, cycle = os.time(), 0
  id_prefix = prefix_of(cycle)
end

function request()
  next_index = next_index % #bodies + 1
  if not unique_ids then return requests[next_index] end
  if next_index == 1 then
    cycle = cycle + 1
    id_prefix = prefix_of(cycle)
  end
  -- Each piece but the last ends with `"messageId":"`: the prefix goes in front of the value.
  return wrk.format(nil, nil, nil, table.concat(pieces[next_index], id_prefix))
end

if rate > 0 then
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock_id, bench_timespec* tp);
  ]]
  local ts = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval_ms = 1000 * threads / rate
  local next_ms
  -- Each request of this thread takes the next slot of a fixed schedule; a request that is
  -- late goes at once (no catch-up burst), so the rate is at most WRK_RATE.
  function delay()
    local now = now_ms()
    local slot = math.max(next_ms or now, now)
    next_ms = slot + interval_ms
    return slot - now
  end
end

function done(summary, latency, _)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f rps=%.1f events_per_body=%.2f eps=%.0f "
      .. "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f status_errors=%d socket_errors=%d "
      .. "bytes=%d\n",
    summary.requests, seconds, summary.requests / seconds, events_per_body,
    (summary.requests - e.status) * events_per_body / seconds, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, socket_errors, summary.bytes))
end
