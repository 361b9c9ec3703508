-- A re-price's corrections of one bucket's month still held in Redis, applied once per run
-- (History/Repricing/RepriceLedgerCall.cs builds the arguments; Repricer.cs sends them after the corrected rows are
-- committed to PostgreSQL). Each correction adds a cost delta to a user's month and the bucket's month, in their
-- totals, the model's packed counters and the day, and to the user's score in the report index. Token counts do
-- not change: a re-price changes prices, not usage.
-- KEYS (RepriceKey): the run's marker, the bucket's month totals, the month's user index, then from FirstUserMonth
-- each user's month hash.
-- ARGV (RepriceArg): marker lifetime (seconds), the cost field, the user count U, then from FirstUser the U userIds
-- (in KEYS' order), then a CorrectionArg record per correction: the user's number (1..U), the model field, the day
-- field, the delta (micro-USD). The enums are in RepriceLedgerCall.cs, prepended as tables.
-- Returns -1 when the marker is set (this part of the run is already in), else the corrections applied (a user
-- month that has expired gets none).
if redis.call('EXISTS', KEYS[RepriceKey.Marker]) == 1 then
  return -1
end

local costField = ARGV[RepriceArg.CostField]
local users = tonumber(ARGV[RepriceArg.UserCount])
-- User u's month is KEYS[userMonths + u], its id ARGV[userIds + u].
local userMonths, userIds = RepriceKey.FirstUserMonth - 1, RepriceArg.FirstUser - 1
local live = {}
for u = 1, users do
  live[u] = redis.call('EXISTS', KEYS[userMonths + u]) == 1
end
local totals = KEYS[RepriceKey.MonthTotals]
local totalsLive = redis.call('EXISTS', totals) == 1

local function correct(key, modelField, dayField, delta)
  redis.call('HINCRBY', key, costField, delta)
  local packed = redis.call('HGET', key, modelField)
  if packed then
    redis.call('HSET', key, modelField, addToField(packed, { delta, 0, 0, 0, 0, 0, 0 }))
  end
  if redis.call('HEXISTS', key, dayField) == 1 then
    redis.call('HINCRBY', key, dayField, delta)
  end
end

local applied = 0
local size = layoutSize(CorrectionArg)
-- at: the position before a correction's record.
for at = userIds + users, #ARGV - size, size do
  local u = tonumber(ARGV[at + CorrectionArg.User])
  local delta = tonumber(ARGV[at + CorrectionArg.Delta])
  if live[u] then
    local model, day = ARGV[at + CorrectionArg.Model], ARGV[at + CorrectionArg.Day]
    correct(KEYS[userMonths + u], model, day, delta)
    redis.call('ZINCRBY', KEYS[RepriceKey.MonthUsers], delta, ARGV[userIds + u])
    if totalsLive then
      correct(totals, model, day, delta)
    end
    applied = applied + 1
  end
end

redis.call('SET', KEYS[RepriceKey.Marker], applied, 'EX', ARGV[RepriceArg.MarkerLifetime])
return applied
