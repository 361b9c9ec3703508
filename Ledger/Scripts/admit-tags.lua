-- Admits tag values into their dimension's month, at most cap values each (the cardinality guard). One call for
-- every value a worker has not seen yet; all keys share the {llmcost} slot. AdmitTagsCall.cs builds the call.
--
-- KEYS: a RegistryKey record per dimension-month: its registry (a set of admitted values), then its overflow flag.
-- ARGV: the header (AdmitArg: cap, expireAt in Unix s, the value count), then a ValueArg record per value: its
-- dimension-month's record number (1-based) and the value. The enums are in AdmitTagsCall.cs, prepended as tables.
-- Returns one answer per value (TagAdmission): 1 admitted (now or before), 0 refused (counted as "(other)"), 2
-- refused and the first refusal of that dimension-month (the caller logs it once).
--
-- A value admitted stays admitted and the set never shrinks within its month, so a value gets the same answer
-- every time: a redelivered event is counted under the same value as its first delivery.

local cap = tonumber(ARGV[AdmitArg.Cap])
local expireAt = ARGV[AdmitArg.ExpireAt]
local count = tonumber(ARGV[AdmitArg.ValueCount])
local header, valueSize, registrySize = layoutSize(AdmitArg), layoutSize(ValueArg), layoutSize(RegistryKey)
local result = {}
for i = 1, count do
  local at = header + (i - 1) * valueSize
  local value = ARGV[at + ValueArg.Value]
  local keys = (tonumber(ARGV[at + ValueArg.Registry]) - 1) * registrySize
  local registry = KEYS[keys + RegistryKey.Registry]
  if redis.call('SISMEMBER', registry, value) == 1 then
    result[i] = 1
  elseif redis.call('SCARD', registry) < cap then
    redis.call('SADD', registry, value)
    redis.call('EXPIREAT', registry, expireAt)
    result[i] = 1
  elseif redis.call('SET', KEYS[keys + RegistryKey.Overflow], '1', 'NX', 'EXAT', expireAt) then
    result[i] = 2
  else
    result[i] = 0
  end
end
return result
