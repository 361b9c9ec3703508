-- Re-evaluates one user's month after a budget change, in one atomic step with the ledger's writes to it.
-- ReevaluateBudgetCall.cs builds the arguments and reads the reply.
-- KEYS: user-month hash, budget, the user's own thresholds (comma-separated; missing: the ARGV ones). ARGV:
-- expireAt, defaultBudgetMicros, the cost field name, the alert field prefix, the pending state word, the change's
-- time (Unix ms), then the configured thresholds. A threshold left out of a changed list keeps its state (each fires
-- once per month), and is neither re-armed nor fired.
-- Thresholds now above the spend are re-armed (their state removed); thresholds now crossed and never fired are
-- claimed (pending) and returned, for the caller to publish. Returns { budgetMicros, spentMicros, thresholds... }.
local expireAt, defaultBudget, costField, alertPrefix, pending, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local budget = tonumber(redis.call('GET', KEYS[2]) or defaultBudget)
local spent = tonumber(redis.call('HGET', KEYS[1], costField) or '0')
local result = { budget, spent }
local thresholds = {}
local own = redis.call('GET', KEYS[3])
if own then
  thresholds = parseThresholds(own)
else
  for t = 7, #ARGV do
    thresholds[#thresholds + 1] = ARGV[t]
  end
end
for _, value in ipairs(thresholds) do
  local threshold = tonumber(value)
  local field = alertPrefix .. value
  local state = redis.call('HGET', KEYS[1], field)
  if budget > 0 and spent * 100 >= budget * threshold then
    if not state then
      redis.call('HSET', KEYS[1], field, pendingState(pending, 'budget-change', spent, now))
      redis.call('EXPIREAT', KEYS[1], expireAt)
      result[#result + 1] = threshold
    end
  elseif state then
    redis.call('HDEL', KEYS[1], field)
  end
end
return result
