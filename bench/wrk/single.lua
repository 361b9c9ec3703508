-- Single usage events for wrk (bench/profile-api.sh): POST /api/v1/llm-usage, one event a request, 2,000 users,
-- varied token counts, no holds and no tags: the plain ingestion path.
dofile("bench/wrk/common.lua")
local run = tostring(os.time())
local n = 0

function request()
  n = n + 1
  local body = string.format(
    '{"eventId":"wrk-%s-%d","userId":"wrk-%d","model":"gpt-4o","inputTokens":%d,"outputTokens":%d}',
    run, n, n % 2000, 50 + (n * 7919) % 3950, 50 + (n * 104729) % 950)
  return wrk.format(nil, "/api/v1/llm-usage", nil, body)
end
