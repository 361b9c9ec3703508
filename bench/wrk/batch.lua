-- Batches of usage events for wrk: POST /api/v1/llm-usage/batch, BATCH events a request (1,000 by default, the most
-- a batch may hold), over 2,000 users, each event id new. For profiling the worker under batches
-- (TARGET=worker SCRIPT=bench/wrk/batch.lua bash bench/profile-api.sh), where its CPU a request is then its CPU for
-- BATCH events. The events but their ids are built once: a request joins the fixed parts with fresh ids.
dofile("bench/wrk/common.lua")
local run = tostring(os.time())
local size = tonumber(os.getenv("BATCH") or "1000")
local n = 0
local tails = {}
-- Two sets of tails, taken in turn, so the batches cover 2,000 users when they hold 1,000 events.
for i = 1, 2 * size do
  tails[i] = string.format('","userId":"wrk-%d","model":"gpt-4o","inputTokens":%d,"outputTokens":%d}',
    i % 2000, 50 + (i * 7919) % 3950, 50 + (i * 104729) % 950)
end

function request()
  n = n + 1
  local prefix = string.format('{"eventId":"wrk-%s-%d-%d-', run, thread_id or 0, n)
  local parts, offset = {}, (n % 2) * size
  for i = 1, size do
    parts[i] = prefix .. i .. tails[offset + i]
  end
  return post("/api/v1/llm-usage/batch", '{"events":[' .. table.concat(parts, ",") .. "]}")
end

function done(summary, latency, requests)
  -- "events in" as the other scripts write it, which bench/profile-api.sh prints; answers other than 2xx count too
  -- (a batch refused, 503 with the ingest queue full, would be cheap for the worker).
  io.write(string.format("%d events in %.1f s: %.0f/s in batches of %d, p99 %.2f ms, %d answers not 2xx\n",
    summary.requests * size, summary.duration / 1e6, per_second(summary) * size, size, latency:percentile(99) / 1000,
    summary.errors.status))
end
