-- OTLP/HTTP protobuf exports for wrk: POST /v1/traces, one GenAI chat span an export (as Microsoft.Extensions.AI's
-- OpenTelemetryChatClient writes it), over 2,000 users, with a fresh trace id each, so the API's OTLP path can be
-- profiled as bench/profile-api.sh does the JSON one (SCRIPT=bench/wrk/otlp.lua). The protobuf is written here from
-- the OTLP trace messages' field numbers (wrk has no protobuf library): ExportTraceServiceRequest.resource_spans 1;
-- ResourceSpans.scope_spans 2; ScopeSpans.scope 1, spans 2; Span.trace_id 1, span_id 2, name 5, kind 6,
-- start_time_unix_nano 7, end_time_unix_nano 8 (fixed64), attributes 9; KeyValue.key 1, value 2; AnyValue
-- string_value 1, int_value 3.
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

-- 16 or 8 id bytes: the run, the thread and the request number, so no two requests of a run share a span.
local function id(length, seed)
  local bytes = {}
  for i = 1, length do
    bytes[i] = string.char(seed % 256)
    seed = math.floor(seed / 256)
  end
  return table.concat(bytes)
end

-- What every span has, written once (the generator shares the two cores with the app: its own CPU a request is kept
-- small); a request writes its ids, times, token counts and user.
local fixed = field(5, "chat gpt-4o") .. varint(6 * 8) .. varint(3)
  .. text("gen_ai.operation.name", "chat") .. text("gen_ai.request.model", "gpt-4o") .. text("gen_ai.response.model", "gpt-4o")
local scopeName = field(1, field(1, "Experimental.Microsoft.Extensions.AI"))
local second, times = -1, ""

function request()
  n = n + 1
  local now = os.time()
  if now ~= second then
    second = now
    local nanos = ffi.new("uint64_t", now) * 1000000000ULL
    times = fixed64(7, nanos - 800000000ULL) .. fixed64(8, nanos)
  end
  local input, output = 50 + (n * 7919) % 3950, 50 + (n * 104729) % 950
  local thread = id(4, thread_id or 0)
  local span = field(1, id(8, run) .. thread .. id(4, n)) .. field(2, thread .. id(4, n)) .. fixed .. times
    .. int("gen_ai.usage.input_tokens", input) .. int("gen_ai.usage.output_tokens", output)
    .. text("user.id", "wrk-" .. n % 2000)
  return wrk.format(nil, "/v1/traces", nil, field(1, field(2, scopeName .. field(2, span))))
end

function done(summary, latency, requests)
  io.write(string.format("%d exports in %.1f s: %.0f/s, p99 %.2f ms, %d not 2xx\n", summary.requests, summary.duration / 1e6,
    per_second(summary), latency:percentile(99) / 1000, summary.errors.status))
end
