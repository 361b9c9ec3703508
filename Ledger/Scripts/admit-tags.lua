-- Admits tag values into their dimension's month, at most cap values each (the cardinality guard). One call for
-- every value a worker has not seen yet; all keys share the {llmcost} slot. TagAttribution.cs builds the call.
--
-- KEYS: per dimension-month, its registry (a set of admitted values) then its overflow flag.
-- ARGV: cap, expireAt (Unix s), count, then per value: its dimension-month's number (1-based) and the value.
-- Returns one answer per value: 1 admitted (now or before), 0 refused (counted as "(other)"), 2 refused and the
-- first refusal of that dimension-month (the caller logs it once).
--
-- A value admitted stays admitted and the set never shrinks within its month, so a value gets the same answer
-- every time: a redelivered event is counted under the same value as its first delivery.

local cap = tonumber(ARGV[1])
local expireAt = ARGV[2]
local count = tonumber(ARGV[3])
local result = {}
for i = 1, count do
  local r = tonumber(ARGV[2 + 2 * i])
  local value = ARGV[3 + 2 * i]
  local registry = KEYS[2 * r - 1]
  if redis.call('SISMEMBER', registry, value) == 1 then
    result[i] = 1
  elseif redis.call('SCARD', registry) < cap then
    redis.call('SADD', registry, value)
    redis.call('EXPIREAT', registry, expireAt)
    result[i] = 1
  elseif redis.call('SET', KEYS[2 * r], '1', 'NX', 'EXAT', expireAt) then
    result[i] = 2
  else
    result[i] = 0
  end
end
return result
