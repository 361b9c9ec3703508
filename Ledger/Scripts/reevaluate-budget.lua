-- Re-evaluates one user's month after a budget change, in one atomic step with the ledger's writes to it. Its keys,
-- arguments and reply are named by ReevaluateKey, ReevaluateArg and ReevaluateReplyAt
-- (Ledger/Budgets/ReevaluateBudgetCall.cs): the user-month hash, budget and own thresholds (comma-separated;
-- missing: the configured ones, the arguments from FirstThreshold on). A threshold left out of a changed list keeps
-- its state (each fires once per month), and is neither re-armed nor fired.
-- Thresholds now above the spend are re-armed (their state removed); thresholds now crossed and never fired are
-- claimed (pending) and returned from FirstFired on, for the caller to publish.
local month = KEYS[ReevaluateKey.UserMonth]
local expireAt, costField = ARGV[ReevaluateArg.ExpireAt], ARGV[ReevaluateArg.CostField]
local alertPrefix, pending, now = ARGV[ReevaluateArg.AlertPrefix], ARGV[ReevaluateArg.PendingWord], ARGV[ReevaluateArg.Now]
local budget = tonumber(redis.call('GET', KEYS[ReevaluateKey.Budget]) or ARGV[ReevaluateArg.DefaultBudget])
local spent = tonumber(redis.call('HGET', month, costField) or '0')
local result = {}
result[ReevaluateReplyAt.Budget] = budget
result[ReevaluateReplyAt.Spent] = spent
local thresholds = {}
local own = redis.call('GET', KEYS[ReevaluateKey.OwnThresholds])
if own then
  thresholds = parseThresholds(own)
else
  for t = ReevaluateArg.FirstThreshold, #ARGV do
    thresholds[#thresholds + 1] = ARGV[t]
  end
end
for _, value in ipairs(thresholds) do
  local threshold = tonumber(value)
  local field = alertPrefix .. value
  local state = redis.call('HGET', month, field)
  if budget > 0 and spent * 100 >= budget * threshold then
    if not state then
      redis.call('HSET', month, field, pendingState(pending, 'budget-change', spent, now))
      redis.call('EXPIREAT', month, expireAt)
      result[#result + 1] = threshold
    end
  elseif state then
    redis.call('HDEL', month, field)
  end
end
return result
