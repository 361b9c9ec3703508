-- The helpers every ledger script shares, prepended to each at load (Ledger/RedisScript.cs): each layout the
-- scripts write is spelled here once. Locals only; a script uses what it needs.

-- Lua's unpack takes at most 8,000 values: commands with many arguments are sent in slices of this many.
local unpackSlice = 4000

-- The number of names in a layout table (an enum prepended by RedisScript.Naming): the size of a record.
local function layoutSize(layout)
  local n = 0
  for _ in pairs(layout) do
    n = n + 1
  end
  return n
end

-- n copies of part, comma-separated (Redis runs Lua 5.1: string.rep takes no separator).
local function joined(part, n)
  return string.rep(part .. ',', n - 1) .. part
end

-- A model field's packed counters (LedgerKeys.ModelField): seven integers in LedgerKeys.Counters' order, cost
-- first. A value written before cache writes and reasoning were counted has five, and those two read as 0
-- (LedgerKeys.ParseModelCounters). A script whose caller sends another counter list fails (packedCountersError).
local packedCounters = 7
local packedPattern = '^' .. joined('(-?%d+)', packedCounters) .. '$'
local legacyPackedPattern = '^' .. joined('(-?%d+)', 5) .. '$'
local packFormat = joined('%d', packedCounters)

local function packedCountersError(script, count)
  if count ~= packedCounters then
    return redis.error_reply(script .. ' packs ' .. packedCounters .. ' counters, not ' .. count)
  end
end

-- A packed field (or nil) plus a delta of seven numbers, packed again. It runs for every model field a write
-- touches, so it works on seven locals (one match, one format) rather than a table.
local function addToField(packed, delta)
  local c, i, cached, o, r, w, z = 0, 0, 0, 0, 0, 0, 0
  if packed then
    c, i, cached, o, r, w, z = string.match(packed, packedPattern)
    if not c then
      c, i, cached, o, r = string.match(packed, legacyPackedPattern)
      w, z = 0, 0
    end
  end
  return string.format(packFormat, tonumber(c) + delta[1], tonumber(i) + delta[2], tonumber(cached) + delta[3], tonumber(o) + delta[4],
    tonumber(r) + delta[5], tonumber(w) + delta[6], tonumber(z) + delta[7])
end

-- A budget's own alert thresholds as stored (LedgerKeys.UserThresholds, TagThresholds: comma-separated
-- percentages), as a list of strings (they also name the alert fields).
local function parseThresholds(text)
  local list = {}
  for t in string.gmatch(text, '%d+') do
    list[#list + 1] = t
  end
  return list
end

-- A threshold's alert state when claimed and not yet published: pending|eventId|spent|crossedAt (spent in
-- micro-USD, crossedAt Unix ms; eventId the crossing event's, or budget-change). The worker marks it sent once
-- published (mark-alert-sent.lua); LedgerKeys.CrossedAt reads it.
local function pendingState(pending, eventId, spent, crossedAt)
  return pending .. '|' .. eventId .. '|' .. string.format('%d', spent) .. '|' .. crossedAt
end

-- A budget hold's entry in the user's hold data (LedgerKeys.UserHoldData): amount|expiresAt|state, micro-USD and
-- Unix ms; state active, settled or released.
local holdEntryPattern = '^(%d+)|(%d+)|(%a+)$'
local function holdEntry(amount, expiresAt, state)
  return string.format('%d|%s|%s', amount, expiresAt, state)
end
