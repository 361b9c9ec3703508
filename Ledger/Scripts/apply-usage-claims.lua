-- apply-usage, section 2 of 5 (see apply-usage.lua): which of the call's events are new. Each event's claim is
-- checked against every claim set of the dedup window, and against the call's earlier events; the new ones' claims
-- are the first writes queued.

-- While the claim's form changes (ClaimWindow), each claim holds the current form and the older one, joined: both are
-- checked and both taken, so an event claimed before the change, or by a worker still on the older form, counts once.
-- checked[n + j] is event j's older form.
local slice = unpackSlice
local checked = members
if claimForms == 2 then
  checked = {}
  for j = 1, n do
    local both = members[j]
    local half = #both / 2
    members[j] = string.sub(both, 1, half)
    checked[j], checked[n + j] = members[j], string.sub(both, half + 1)
  end
end
local m = #checked
local known = {}
for c = UsageKey.FirstClaimSet, UsageKey.FirstClaimSet - 1 + claimSets do
  for from = 1, m, slice do
    local part = redis.call('SMISMEMBER', KEYS[c], unpack(checked, from, math.min(m, from + slice - 1)))
    -- Only a hit is written: nearly every event is new, and this runs for each of the window's sets.
    for k = 1, #part do
      if part[k] == 1 then
        local j = from + k - 1
        if j > n then
          j = j - n
        end
        known[j] = true
      end
    end
  end
end
local fresh, seen, isFresh, duplicateAt = {}, {}, {}, {}
local freshCount = 0
for j = 1, n do
  local member = members[j]
  if known[j] or seen[member] then
    duplicateAt[#duplicateAt + 1] = j
  else
    seen[member] = true
    isFresh[j] = true
    freshCount = freshCount + 1
    fresh[freshCount] = member
  end
end
-- A duplicate's values are taken out of the sums, the tag delta and the rollup delta: a call without them asks for them.
if valuesOmitted and #duplicateAt > 0 then
  return { -1 }
end

-- Writes are queued and run at the end; the claims go first, into the current period's set.
local claimSet = KEYS[UsageKey.FirstClaimSet]
local writes = {}
local taken = fresh
if claimForms == 2 then
  taken = {}
  for j in pairs(isFresh) do
    taken[#taken + 1] = checked[j]
    taken[#taken + 1] = checked[n + j]
  end
end
for from = 1, #taken, slice do
  writes[#writes + 1] = { 'SADD', claimSet, unpack(taken, from, math.min(#taken, from + slice - 1)) }
end
if #fresh > 0 then
  writes[#writes + 1] = { 'EXPIREAT', claimSet, claimsExpireAt }
end
