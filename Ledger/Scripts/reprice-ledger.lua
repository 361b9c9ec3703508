-- A re-price's corrections of one bucket's month still held in Redis, applied once per run
-- (History/Repricing/RepriceLedgerCall.cs builds the arguments; Repricer.cs sends them after the corrected rows are
-- committed to PostgreSQL). Each correction adds a cost delta to a user's month and the bucket's month, in their
-- totals, the model's packed counters and the day, and to the user's score in the report index. Token counts do
-- not change: a re-price changes prices, not usage.
-- KEYS: the run's marker, the bucket's month totals, the month's user index, then each user's month hash.
-- ARGV: marker lifetime (seconds), the cost field, the user count U, the U userIds (in KEYS' order), then per
-- correction: the user's position (1..U), the model field, the day field, the delta (micro-USD).
-- Returns -1 when the marker is set (this part of the run is already in), else the corrections applied (a user
-- month that has expired gets none).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end

local costField = ARGV[2]
local users = tonumber(ARGV[3])
local live = {}
for u = 1, users do
  live[u] = redis.call('EXISTS', KEYS[3 + u]) == 1
end
local totalsLive = redis.call('EXISTS', KEYS[2]) == 1

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
for i = 4 + users, #ARGV, 4 do
  local u = tonumber(ARGV[i])
  local delta = tonumber(ARGV[i + 3])
  if live[u] then
    correct(KEYS[3 + u], ARGV[i + 1], ARGV[i + 2], delta)
    redis.call('ZINCRBY', KEYS[3], delta, ARGV[3 + u])
    if totalsLive then
      correct(KEYS[2], ARGV[i + 1], ARGV[i + 2], delta)
    end
    applied = applied + 1
  end
end

redis.call('SET', KEYS[1], applied, 'EX', ARGV[1])
return applied
