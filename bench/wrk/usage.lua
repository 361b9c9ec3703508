-- Usage events for wrk: POST /api/v1/llm-usage, one event a request, over 2,000 users. For bench/wrk-holds.sh
-- (SETTLE_CONNECTIONS > 0) each carries a holdId, as the settling event of a call made under a hold would. The ids
-- were never held (wrk cannot hand one process's answers to another), so the worker counts each event's cost and
-- finds nothing to release: the same script and the same path through the API, the broker and the worker as a
-- settlement. With HOLDS=0 (bench/profile-api.sh) the events carry none: the plain ingestion path.
dofile("bench/wrk/common.lua")
local run = tostring(os.time())
local n = 0
local holds = os.getenv("HOLDS") ~= "0"

function request()
  n = n + 1
  local body = string.format(
    '{"eventId":"wrk-%s-%d-%d","userId":"wrk-%d","model":"gpt-4o","inputTokens":%d,"outputTokens":%d%s}',
    run, thread_id or 0, n, n % 2000, 50 + (n * 7919) % 3950, 50 + (n * 104729) % 950, holds and string.format(',"holdId":"wrk-%s-%d-h%d"', run, thread_id or 0, n) or "")
  return post("/api/v1/llm-usage", body)
end

function done(summary, latency, requests)
  io.write(string.format("%d events in %.1f s: %.0f/s, p99 %.2f ms\n", summary.requests, summary.duration / 1e6,
    per_second(summary), latency:percentile(99) / 1000))
end
