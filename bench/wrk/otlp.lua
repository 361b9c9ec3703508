-- OTLP/HTTP protobuf exports for wrk: POST /v1/traces, one GenAI chat span an export (as Microsoft.Extensions.AI's
-- OpenTelemetryChatClient writes it), over 2,000 users, with a fresh trace id each, so the API's OTLP path can be
-- profiled as bench/profile-api.sh does the JSON one (SCRIPT=bench/wrk/otlp.lua), and compared with it
-- (bench/otlp-wrk.sh). The protobuf is written here from the OTLP trace messages' field numbers (wrk has no protobuf
-- library): ExportTraceServiceRequest.resource_spans 1; ResourceSpans.scope_spans 2; ScopeSpans.scope 1, spans 2;
-- Span.trace_id 1, span_id 2, name 5, kind 6, start_time_unix_nano 7, end_time_unix_nano 8 (fixed64), attributes 9;
-- KeyValue.key 1, value 2; AnyValue string_value 1, int_value 3.
dofile("bench/wrk/common.lua")
wrk.headers["Content-Type"] = "application/x-protobuf"
local ffi = require("ffi")
local n = 0
local run = os.time()

local function varint(v)
  local out = {}
  while v >= 128 do
    out[#out + 1] = string.char(v % 128 + 128)
    v = math.floor(v / 128)
  end
  out[#out + 1] = string.char(v)
  return table.concat(out)
end

-- A length-delimited field (wire type 2).
local function field(number, bytes)
  return varint(number * 8 + 2) .. varint(#bytes) .. bytes
end

local function text(key, value)
  return field(9, field(1, key) .. field(2, field(1, value)))
end

local function int(key, value)
  return field(9, field(1, key) .. field(2, varint(3 * 8) .. varint(value)))
end

-- A fixed64 field (wire type 1) from a uint64 cdata: nanoseconds since 1970 exceed a double's exact integers.
local function fixed64(number, value)
  local bytes = {}
  for i = 1, 8 do
    bytes[i] = string.char(tonumber(value % 256))
    value = value / 256
  end
  return varint(number * 8 + 1) .. table.concat(bytes)
end

-- Little-endian bytes of a number: the parts of the ids that vary (the run, the thread, the request number).
local function bytes2(v)
  return string.char(v % 256, math.floor(v / 256) % 256)
end

local function bytes4(v)
  return bytes2(v % 65536) .. bytes2(math.floor(v / 65536))
end

-- What every span has, written once; so are the attributes that take one of a few thousand values (the user, the two
-- token counts), a table each, built at a thread's first request. A request then only joins its ids and times to
-- them: the generator shares the two cores with the app, and its cost a request is kept near usage.lua's (one
-- string.format and post), so that the two scripts load the app alike (bench/otlp-wrk.sh compares them).
local fixed = field(5, "chat gpt-4o") .. varint(6 * 8) .. varint(3)
  .. text("gen_ai.operation.name", "chat") .. text("gen_ai.request.model", "gpt-4o") .. text("gen_ai.response.model", "gpt-4o")
local scopeName = field(1, field(1, "Experimental.Microsoft.Extensions.AI"))
local users, inputs, outputs, lengths, tracePrefix, spanPrefix, idsLength
local second, times, high = -1, "", ""
-- Each byte's one-character string: a request joins its number's two low bytes from them, which makes no string of
-- its own (each string a request makes is one more for LuaJIT's collector to sweep: the hottest spot of wrk's own
-- code under this script, in a perf profile).
local chars = {}
for b = 0, 255 do
  chars[b] = string.char(b)
end

-- Every 1,024 requests: the request number's upper two bytes (they change every 65,536) and, with them, the clock for
-- the span's start and end (a span's times may lag its request by that many requests; nothing reads them closer).
local function refresh()
  high = bytes2(math.floor(n / 65536) % 65536)
  local now = os.time()
  if now ~= second then
    second = now
    local nanos = ffi.new("uint64_t", now) * 1000000000ULL
    times = fixed64(7, nanos - 800000000ULL) .. fixed64(8, nanos)
  end
end

local function prepare()
  users, inputs, outputs, lengths = {}, {}, {}, {}
  for l = 0, 1023 do
    lengths[l] = varint(l)
  end
  for u = 0, 1999 do
    users[u] = text("user.id", "wrk-" .. u)
  end
  for t = 0, 3949 do
    inputs[t] = int("gen_ai.usage.input_tokens", 50 + t)
  end
  for t = 0, 949 do
    outputs[t] = int("gen_ai.usage.output_tokens", 50 + t)
  end
  -- 16 and 8 id bytes: the run, the thread and the request number, so no two requests of a run share a span.
  local thread = bytes4(thread_id or 0)
  tracePrefix = varint(1 * 8 + 2) .. varint(16) .. bytes4(run % 4294967296) .. bytes4(math.floor(run / 4294967296)) .. thread
  spanPrefix = varint(2 * 8 + 2) .. varint(8) .. thread
  idsLength = #tracePrefix + 4 + #spanPrefix + 4
  refresh()
end

function request()
  if users == nil then
    prepare()
  end
  n = n + 1
  if n % 1024 == 0 then
    refresh()
  end
  local b0, b1 = chars[n % 256], chars[math.floor(n / 256) % 256]
  local input, output, user = inputs[(n * 7919) % 3950], outputs[(n * 104729) % 950], users[n % 2000]
  -- field(1, field(2, scopeName .. field(2, span))) in one join, the span's parts included: each wrapper is its tag
  -- byte (field 1 or 2, length-delimited: 0x0A, 0x12) and its length, known from the parts' lengths.
  local spanLength = idsLength + #fixed + #times + #input + #output + #user
  local scopeLength = #scopeName + 1 + #lengths[spanLength] + spanLength
  local resourceLength = 1 + #lengths[scopeLength] + scopeLength
  return post("/v1/traces", "\10" .. lengths[resourceLength] .. "\18" .. lengths[scopeLength] .. scopeName .. "\18" .. lengths[spanLength]
    .. tracePrefix .. b0 .. b1 .. high .. spanPrefix .. b0 .. b1 .. high .. fixed .. times .. input .. output .. user)
end

function done(summary, latency, requests)
  io.write(string.format("%d exports in %.1f s: %.0f/s, p99 %.2f ms, %d not 2xx\n", summary.requests, summary.duration / 1e6,
    per_second(summary), latency:percentile(99) / 1000, summary.errors.status))
end
