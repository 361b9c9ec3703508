-- apply-usage, section 2 of 5 (see apply-usage.lua): which of the call's events are new. Each event's claim is
-- checked against every claim set of the dedup window, and against the call's earlier events; the new ones' claims
-- are the first writes queued.

local slice = unpackSlice
local known = {}
for c = UsageKey.FirstClaimSet, UsageKey.FirstClaimSet - 1 + claimSets do
  for from = 1, n, slice do
    local part = redis.call('SMISMEMBER', KEYS[c], unpack(members, from, math.min(n, from + slice - 1)))
    for k = 1, #part do
      known[from + k - 1] = known[from + k - 1] or part[k] == 1
    end
  end
end
local fresh, seen, isFresh, duplicateAt = {}, {}, {}, {}
for j = 1, n do
  local member = members[j]
  if known[j] or seen[member] then
    duplicateAt[#duplicateAt + 1] = j
  else
    seen[member] = true
    isFresh[j] = true
    fresh[#fresh + 1] = member
  end
end

-- Writes are queued and run at the end; the claims go first, into the current period's set.
local claimSet = KEYS[UsageKey.FirstClaimSet]
local writes = {}
for from = 1, #fresh, slice do
  writes[#writes + 1] = { 'SADD', claimSet, unpack(fresh, from, math.min(#fresh, from + slice - 1)) }
end
if #fresh > 0 then
  writes[#writes + 1] = { 'EXPIREAT', claimSet, claimsExpireAt }
end
