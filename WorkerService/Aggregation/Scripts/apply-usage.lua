-- Applies one ledger bucket's share of one month's usage, every user's and the bucket's month increments, in one
-- atomic step. ApplyUsageCall.cs builds the arguments and reads the reply; this comment names them only.
--
-- KEYS: month totals, month users (report index), month events (claims), then per user: user-month hash, budget.
-- ARGV, read in order: expireAt, defaultBudgetMicros, the five counter field names, the alert field prefix, the
-- pending state word, thresholdCount, thresholds..., userCount, then per user: userId, groupCount, eventCount, per
-- group (the user's events of one model and day, summed by the caller): model field, day field, cost, input, cached,
-- output, requests; then per event in order: member (userId|eventId) and its values packed as
-- cost,input,cached,output,group.
-- Returns { alertCount, alerts..., duplicateIndexes... }: each alert is userIndex, threshold, eventIndex (1-based in
-- the call, 0 for an alert left pending by an earlier attempt), spentMicros, budgetMicros.
--
-- Each event's claim (SADD of its member) is taken in the same step as its increments, so a redelivered or re-posted
-- event counts once. A group's packed event values are read only for a user with a duplicate in the call (the sums
-- then leave it out) or with a threshold to cross (crossed event by event, in order). Every read comes before every
-- write, so a key of the wrong type fails the call before it changes anything, claims included. Sums are exact up to
-- 2^53 (about 9 billion USD in micro-USD).

local p = 0
local function take()
  p = p + 1
  return ARGV[p]
end

local expireAt = take()
local defaultBudget = take()
local counters = { take(), take(), take(), take(), take() }
local alertPrefix = take()
local pending = take() .. '|'
local thresholdCount = tonumber(take())
local thresholds = {}
for t = 1, thresholdCount do
  thresholds[t] = take()
end

-- Users and events are located once; the group values stay in ARGV and are read where used.
local userCount = tonumber(take())
local users, members, valuesAt = {}, {}, {}
local n = 0
for u = 1, userCount do
  local id, groupCount, count = take(), tonumber(take()), tonumber(take())
  users[u] = { id = id, groups = p + 1, groupCount = groupCount, first = n + 1, last = n + count }
  p = p + groupCount * 7
  for _ = 1, count do
    n = n + 1
    members[n] = take()
    valuesAt[n] = p + 1
    p = p + 1
  end
end

-- Lua's unpack takes at most 8,000 values: commands with many arguments are sent in slices.
local slice = 4000
local known = {}
for from = 1, n, slice do
  local part = redis.call('SMISMEMBER', KEYS[3], unpack(members, from, math.min(n, from + slice - 1)))
  for k = 1, #part do
    known[from + k - 1] = part[k] == 1
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

-- Writes are queued and run at the end; the claims go first.
local writes = {}
for from = 1, #fresh, slice do
  writes[#writes + 1] = { 'SADD', KEYS[3], unpack(fresh, from, math.min(#fresh, from + slice - 1)) }
end

local fieldSlice = 1000
local function read(key, fields)
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

local alerts = {}
local function alert(...)
  for _, v in ipairs({ ... }) do
    alerts[#alerts + 1] = v
  end
end

local budgetKeys, budgets = {}, {}
for u = 1, userCount do
  budgetKeys[u] = KEYS[5 + (u - 1) * 2]
end
for from = 1, userCount, fieldSlice do
  local part = redis.call('MGET', unpack(budgetKeys, from, math.min(userCount, from + fieldSlice - 1)))
  for k = 1, #part do
    budgets[from + k - 1] = part[k]
  end
end

local baseFields = { unpack(counters) }
for t = 1, thresholdCount do
  baseFields[#baseFields + 1] = alertPrefix .. thresholds[t]
end

local monthTotals = { 0, 0, 0, 0, 0 }
local ranked, rankedDelta = {}, {}
for u = 1, userCount do
  local user = users[u]
  local key = KEYS[4 + (u - 1) * 2]
  local budget = tonumber(budgets[u] or defaultBudget)
  -- The fields this user's new events touch: totals, alert states, then models and days in first-seen order.
  -- A model's delta is a table of its five counters (the field holds them packed), any other's a number.
  local fields = { unpack(baseFields) }
  local deltas, slot = {}, {}
  local nf = #fields
  for f = 1, nf do
    deltas[f] = 0
  end

  local duplicates, parsed, live = 0, nil, nil
  for j = user.first, user.last do
    if not isFresh[j] then
      duplicates = duplicates + 1
    end
  end
  if duplicates > 0 then
    parsed, live = {}, {}
    for j = user.first, user.last do
      if isFresh[j] then
        local c, i, cached, o, g = string.match(ARGV[valuesAt[j]], '^(-?%d+),(-?%d+),(-?%d+),(-?%d+),(%d+)$')
        g = tonumber(g)
        parsed[#parsed + 1] = { tonumber(c), tonumber(i), tonumber(cached), tonumber(o), g }
        live[g] = true
      end
    end
  end

  -- A group's fields (its model's, packed, and its day's), for the groups with a fresh event only.
  local modelOf, dayOf = {}, {}
  for g = 1, user.groupCount do
    if duplicates == 0 or live[g] then
      local q = user.groups + (g - 1) * 7
      local name = ARGV[q]
      local f = slot[name]
      if f == nil then
        nf = nf + 1
        f = nf
        fields[f], slot[name], deltas[f] = name, f, { 0, 0, 0, 0, 0 }
      end
      modelOf[g] = deltas[f]
      name = ARGV[q + 1]
      f = slot[name]
      if f == nil then
        nf = nf + 1
        f = nf
        fields[f], slot[name], deltas[f] = name, f, 0
      end
      dayOf[g] = f
    end
  end
  local function add(g, c, i, cached, o, r)
    local model = modelOf[g]
    deltas[1], deltas[2], deltas[3], deltas[4], deltas[5] = deltas[1] + c, deltas[2] + i, deltas[3] + cached, deltas[4] + o, deltas[5] + r
    model[1], model[2], model[3], model[4], model[5] = model[1] + c, model[2] + i, model[3] + cached, model[4] + o, model[5] + r
    local d = dayOf[g]
    deltas[d] = deltas[d] + c
  end
  if duplicates == 0 then
    for g = 1, user.groupCount do
      local q = user.groups + (g - 1) * 7
      add(g, tonumber(ARGV[q + 2]), tonumber(ARGV[q + 3]), tonumber(ARGV[q + 4]), tonumber(ARGV[q + 5]), tonumber(ARGV[q + 6]))
    end
  else
    for _, e in ipairs(parsed) do
      add(e[5], e[1], e[2], e[3], e[4], 1)
    end
  end

  local current = read(key, fields)
  local spent = tonumber(current[1] or '0')
  local fired, firedNow = {}, {}
  for t = 1, thresholdCount do
    fired[t] = current[5 + t] ~= false
  end
  if deltas[5] > 0 then
    -- Thresholds cross event by event, in order: walked only when the call crosses one.
    local crossing = false
    for t = 1, thresholdCount do
      if budget > 0 and not fired[t] and (spent + deltas[1]) * 100 >= budget * tonumber(thresholds[t]) then
        crossing = true
      end
    end
    if crossing then
      for j = user.first, user.last do
        if isFresh[j] then
          spent = spent + tonumber(string.match(ARGV[valuesAt[j]], '^-?%d+'))
          for t = 1, thresholdCount do
            local threshold = tonumber(thresholds[t])
            if not fired[t] and spent * 100 >= budget * threshold then
              fired[t] = true
              firedNow[t] = true
              local eventId = string.sub(members[j], #user.id + 2)
              writes[#writes + 1] = { 'HSET', key, alertPrefix .. thresholds[t], pending .. eventId .. '|' .. string.format('%d', spent) }
              alert(u, threshold, j, spent, budget)
            end
          end
        end
      end
    end
    local changed, values = {}, {}
    for f = 1, #fields do
      local delta = deltas[f]
      if type(delta) == 'table' then
        local c, i, cached, o, r = 0, 0, 0, 0, 0
        if current[f] then
          c, i, cached, o, r = string.match(current[f], '^(-?%d+),(-?%d+),(-?%d+),(-?%d+),(-?%d+)$')
        end
        changed[#changed + 1] = fields[f]
        values[#values + 1] = string.format('%d,%d,%d,%d,%d', tonumber(c) + delta[1], tonumber(i) + delta[2],
          tonumber(cached) + delta[3], tonumber(o) + delta[4], tonumber(r) + delta[5])
      elseif f <= 5 or f > 5 + thresholdCount then
        changed[#changed + 1] = fields[f]
        values[#values + 1] = string.format('%d', tonumber(current[f] or '0') + delta)
      end
    end
    set(key, changed, values)
    if not current[5] then
      -- This call creates the user's month: the hash gets its expiry once, not on every call.
      writes[#writes + 1] = { 'EXPIREAT', key, expireAt }
    end
    for k = 1, 5 do
      monthTotals[k] = monthTotals[k] + deltas[k]
    end
    ranked[#ranked + 1] = user.id
    rankedDelta[#ranked] = deltas[1]
  end

  -- A redelivery (duplicates seen) also hands back alerts an earlier attempt claimed but did not publish.
  if duplicates > 0 then
    for t = 1, thresholdCount do
      local state = current[5 + t]
      if state and not firedNow[t] and string.sub(state, 1, #pending) == pending then
        local spentAt = string.match(state, '|(%d+)$')
        alert(u, tonumber(thresholds[t]), 0, tonumber(spentAt), budget)
      end
    end
  end
end

if #fresh > 0 then
  local month = redis.call('HMGET', KEYS[1], unpack(counters))
  local values = {}
  for k = 1, 5 do
    values[k] = string.format('%d', tonumber(month[k] or '0') + monthTotals[k])
  end
  set(KEYS[1], counters, values)
  local rankSlice = 2000
  for from = 1, #ranked, rankSlice do
    local to = math.min(#ranked, from + rankSlice - 1)
    local scores = redis.call('ZMSCORE', KEYS[2], unpack(ranked, from, to))
    local change = { 'ZADD', KEYS[2] }
    for r = from, to do
      change[#change + 1] = string.format('%d', tonumber(scores[r - from + 1] or '0') + rankedDelta[r])
      change[#change + 1] = ranked[r]
    end
    writes[#writes + 1] = change
  end
  if not month[5] then
    -- The bucket's first events of the month: its three keys are created by this call (after the writes above)
    -- and get their expiry once.
    for k = 1, 3 do
      writes[#writes + 1] = { 'EXPIREAT', KEYS[k], expireAt }
    end
  end
end

for _, w in ipairs(writes) do
  redis.call(unpack(w))
end

local result = { #alerts / 5 }
for _, v in ipairs(alerts) do
  result[#result + 1] = v
end
for _, v in ipairs(duplicateAt) do
  result[#result + 1] = v
end
return result
