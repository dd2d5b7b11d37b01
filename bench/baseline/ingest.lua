-- The original collection pipeline's ingest handler, rebuilt for the side-by-side benchmark
-- (bench/ingest.sh): nginx + Lua decodes a Segment body (a {"batch":[…]} or a single event),
-- stamps each event with the receive time, and pushes each one as JSON onto a Redis list.
-- The RPUSHes of one request are written by hand in RESP and pipelined over one kept-alive
-- cosocket, then every reply is read. Answers 200 {"success":true}.
local cjson = require "cjson.safe"

local M = {}

local redis_host, redis_port, list_key = "127.0.0.1", 6379, "events"
local kRpushHead = "*3\r\n$5\r\nRPUSH\r\n$"

-- Called once from init_by_lua.
function M.configure(host, port, key)
  redis_host, redis_port, list_key = host, port, key or list_key
end

local function answer(status, body)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.print(body)
  return ngx.exit(status)
end

local function fail(status, message)
  ngx.log(ngx.ERR, "ingest: ", message)
  return answer(status, cjson.encode({ success = false, error = message }))
end

local function read_body()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then return body end
  -- Bodies larger than client_body_buffer_size are spooled to a file.
  local path = ngx.req.get_body_file()
  if not path then return nil end
  local file = io.open(path, "rb")
  if not file then return nil end
  body = file:read("*a")
  file:close()
  return body
end

function M.handle()
  local body = read_body()
  if not body or #body == 0 then return fail(400, "empty body") end
  local doc = cjson.decode(body)
  if type(doc) ~= "table" then return fail(400, "body is not a JSON object") end
  local events = doc.batch
  if type(events) ~= "table" then events = { doc } end

  local key_part = #list_key .. "\r\n" .. list_key .. "\r\n$"
  local received_at = ngx.now()
  local parts, count = {}, 0
  for i = 1, #events do
    local event = events[i]
    if type(event) == "table" then
      event.receivedAt = received_at
      local json = cjson.encode(event)
      count = count + 1
      parts[#parts + 1] = kRpushHead .. key_part .. #json .. "\r\n"
      parts[#parts + 1] = json
      parts[#parts + 1] = "\r\n"
    end
  end
  if count == 0 then return fail(400, "no events") end

  local sock = ngx.socket.tcp()
  sock:settimeout(5000)
  local ok, err = sock:connect(redis_host, redis_port)
  if not ok then return fail(503, "redis connect: " .. tostring(err)) end
  local sent
  sent, err = sock:send(parts)
  if not sent then
    sock:close()
    return fail(503, "redis send: " .. tostring(err))
  end
  for _ = 1, count do
    local line
    line, err = sock:receive("*l")
    if not line then
      sock:close()
      return fail(503, "redis receive: " .. tostring(err))
    end
    if line:byte(1) == 45 then  -- "-ERR …"
      sock:close()
      return fail(503, "redis: " .. line)
    end
  end
  sock:setkeepalive(60000, 256)
  return answer(200, '{"success":true}')
end

return M
