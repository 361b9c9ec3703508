-- apply-usage, section 3 of 5 (see apply-usage.lua): reading and queueing hash fields, the users' budgets and own
-- thresholds (one MGET), and the steps a user's loop calls (apply-usage-users.lua).

local fieldSlice = 1000
local function read(key, fields)
  if #fields <= fieldSlice then
    return redis.call('HMGET', key, unpack(fields))
  end
  local values = {}
  for from = 1, #fields, fieldSlice do
    local part = redis.call('HMGET', key, unpack(fields, from, math.min(#fields, from + fieldSlice - 1)))
    for k = 1, #part do
      values[from + k - 1] = part[k]
    end
  end
  return values
end
local function set(key, fields, values)
  for from = 1, #fields, fieldSlice do
    local change = { 'HSET', key }
    for k = from, math.min(#fields, from + fieldSlice - 1) do
      change[#change + 1] = fields[k]
      change[#change + 1] = values[k]
    end
    writes[#writes + 1] = change
  end
end

-- The reply's alerts, an AlertField record each.
local alerts = {}
local function alert(user, threshold, eventIndex, spent, budget, crossedAt)
  local base = #alerts
  alerts[base + AlertField.User] = user
  alerts[base + AlertField.Threshold] = threshold
  alerts[base + AlertField.Event] = eventIndex
  alerts[base + AlertField.Spent] = spent
  alerts[base + AlertField.Budget] = budget
  alerts[base + AlertField.CrossedAt] = crossedAt
end

-- Each user's budget and own thresholds, read together: budget k of the reply is at 2k - 1, thresholds at 2k.
local budgetKeys, budgets, ownThresholds = {}, {}, {}
for u = 1, userCount do
  budgetKeys[2 * u - 1] = KEYS[userKeys(u) + UserKey.Budget]
  budgetKeys[2 * u] = KEYS[userKeys(u) + UserKey.Thresholds]
end
for from = 1, 2 * userCount, fieldSlice do
  local part = redis.call('MGET', unpack(budgetKeys, from, math.min(2 * userCount, from + fieldSlice - 1)))
  for k = 1, #part do
    local at = from + k - 1
    if at % 2 == 1 then
      budgets[(at + 1) / 2] = part[k]
    else
      ownThresholds[at / 2] = part[k]
    end
  end
end

-- A user's fixed fields: the counters, then one alert state a threshold.
local function fieldsFor(list)
  local f = { unpack(counters) }
  for t = 1, #list do
    f[#f + 1] = alertPrefix .. list[t]
  end
  return f
end
local baseFields = fieldsFor(thresholds)
local defaultThresholds = thresholds

local function zeros()
  local z = {}
  for k = 1, counterCount do
    z[k] = 0
  end
  return z
end
-- An event's packed values as numbers (counterCount values and its group), and the two matches that read its time
-- and id: built once, the parse runs for every event of a user with a duplicate or a crossing.
local eventPattern = '^' .. joined('(-?%d+)', counterCount + 1) .. ','
local crossingPattern = '^' .. joined('%-?%d+', counterCount + 1) .. ',(%-?%d+),(.*)$'
local function numbers(...)
  local values = { ... }
  for k = 1, #values do
    values[k] = tonumber(values[k])
  end
  return values
end

-- Settles the holds of user u's events that count (read now, written with the rest): an active hold becomes
-- settled and its amount leaves the held sum, as its event's cost joins the spend.
local function settleHolds(u, user)
  local ids = {}
  for h = 0, user.holdCount - 1 do
    local q = user.holds + h * holdSize
    if isFresh[user.first - 1 + tonumber(ARGV[q + HoldRef.Position])] then
      ids[#ids + 1] = ARGV[q + HoldRef.HoldId]
    end
  end
  if #ids > 0 then
    local holdKey = KEYS[userKeys(u) + UserKey.HoldData]
    local entries = redis.call('HMGET', holdKey, unpack(ids))
    local freed, settled = 0, {}
    for k = 1, #ids do
      if entries[k] and not settled[ids[k]] then
        local amount, expiresAt, state = string.match(entries[k], holdEntryPattern)
        if state == 'active' then
          settled[ids[k]] = true
          freed = freed + tonumber(amount)
          writes[#writes + 1] = { 'HSET', holdKey, ids[k], holdEntry(amount, expiresAt, 'settled') }
        end
      end
    end
    if freed > 0 then
      writes[#writes + 1] = { 'HINCRBY', holdKey, heldField, -freed }
    end
  end
end

-- A redelivery of the event that crossed a threshold also hands back the alert its first write claimed but did
-- not mark sent (the worker may have stopped before publishing it). A duplicate of any other event does not: the
-- write that claimed the alert may still be publishing it, and if that write is lost its event comes again.
local function handBackAlerts(u, user, thresholds, current, firedNow, budget)
  local thresholdCount = #thresholds
  local redelivered = {}
  for j = user.first, user.last do
    if not isFresh[j] then
      local _, eventId = string.match(ARGV[valuesAt[j]], crossingPattern)
      redelivered[eventId] = true
    end
  end
  for t = 1, thresholdCount do
    local state = current[counterCount + t]
    if state and not firedNow[t] and string.sub(state, 1, #pending) == pending
      and redelivered[string.match(state, '^[^|]*|([^|]*)|')] then
      -- ...|spent|crossedAt (states written before the time was kept end with the spend).
      local spentAt, at = string.match(state, '|(%-?%d+)|(%-?%d+)$')
      if not spentAt then
        spentAt, at = string.match(state, '|(%-?%d+)$'), 0
      end
      alert(u, tonumber(thresholds[t]), 0, tonumber(spentAt), budget, tonumber(at))
    end
  end
end
