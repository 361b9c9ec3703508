-- Budget holds for wrk (bench/wrk-holds.sh): POST /api/v1/budget-holds over 2,000 users (not enforced, so every
-- hold is granted), or, with FLOOR=1, the same request refused with a 400 before any price or Redis work.
dofile("bench/wrk/common.lua")
local floor = os.getenv("FLOOR") == "1"
local n = 0

function request()
  n = n + 1
  local input = floor and -1 or (50 + (n * 7919) % 3950)
  local body = string.format('{"userId":"wrk-%d","model":"gpt-4o","inputTokens":%d,"maxOutputTokens":%d}',
    n % 2000, input, 100 + (n * 104729) % 1900)
  return post("/api/v1/budget-holds", body)
end

function done(summary, latency, requests)
  io.write(string.format("%d requests in %.1f s: %.0f/s\n", summary.requests, summary.duration / 1e6, per_second(summary)))
  for _, p in ipairs({ 50, 95, 99, 99.9 }) do
    io.write(string.format("p%s %.2f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("max %.2f ms\n", latency.max / 1000))
end
