-- Applies one ledger bucket's share of one month's usage, every user's and the bucket's month increments, in one
-- atomic step. ApplyUsageCall.cs builds the arguments and reads the reply; this comment names them only.
--
-- KEYS: month totals, month users (report index), the claim sets of the dedup window (the current period's first),
-- then per user: user-month hash, budget, hold data (budget-holds.lua in the API), the user's own alert thresholds
-- (comma-separated percentages; missing: the ARGV thresholds), then, when the call's events carry tags, the bucket's
-- tag delta list.
-- ARGV, read in order: expireAt, defaultBudgetMicros, claimSetCount, the current claim set's expireAt,
-- counterCount, the counter field names (cost first), the position of the requests counter, the alert field
-- prefix, the pending state word, the held field of the hold data, thresholdCount, thresholds..., userCount, then
-- per user: userId, groupCount, eventCount, holdCount, per group (the user's events of one model and day, summed by
-- the caller): model field, day field, one value a counter; then per event in order: its claim (a digest of
-- userId|eventId) and its counters, group, time (Unix ms) and id packed as c1,...,cN,group,occurredAt,eventId; then
-- per event carrying a budget hold: its position among the user's events (1-based) and the holdId. After every
-- user: the call's tag delta (JSON, empty without tags), then with one, the events' tag set numbers (0: none),
-- comma-separated in call order.
-- Returns { alertCount, alerts..., duplicateIndexes... }: each alert is userIndex, threshold, eventIndex (1-based in
-- the call, 0 for an alert left pending by an earlier attempt), spentMicros, budgetMicros, crossedAt (Unix ms: the
-- crossing event's occurredAt, kept in the alert state as pending|eventId|spent|crossedAt; 0 when unknown).
--
-- Each event's claim (SADD into the current period's set) is taken in the same step as its increments, and checked
-- against every set of the window, so an event re-posted or redelivered within the window counts once. A group's
-- packed event values are read only for a user with a duplicate in the call (the sums then leave it out) or with a
-- threshold to cross (crossed event by event, in order). Every read comes before every write, so a key of the wrong
-- type fails the call before it changes anything, claims included. Sums are exact up to 2^53 (about 9 billion USD
-- in micro-USD).
--
-- An event that counts and carries a budget hold settles it in the same step: an active hold becomes settled and its
-- amount leaves the held sum as the event's real cost joins the spend, so the reservation is never counted twice nor
-- dropped before its cost is in. A redelivered event counts nothing and settles nothing; a settled, released or
-- expired hold is left as it is (the event's cost still counts once).
--
-- Tagged usage: the worker sums the call's events per tag value (ApplyUsageCall) into one delta, which this step
-- appends to the bucket's tag delta list when the call has a fresh event, with the call's duplicates listed after
-- it (for the fold to take out), so the tags count each event exactly once, like the user rows; TagFolder folds the
-- list into the tag values' hashes and indexes (fold-tags.lua). The script never reads the delta itself.

local p = 0
local function take()
  p = p + 1
  return ARGV[p]
end

local expireAt = take()
local defaultBudget = take()
local claimSets = tonumber(take())
local claimsExpireAt = take()
local userKeys = 2 + claimSets
-- Keys per user: month hash, budget, hold data, thresholds.
local stride = 4
local counterCount = tonumber(take())
local counters = {}
for k = 1, counterCount do
  counters[k] = take()
end
local requestsAt = tonumber(take())
local alertPrefix = take()
local pending = take() .. '|'
local heldField = take()
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
  local id, groupCount, count, holdCount = take(), tonumber(take()), tonumber(take()), tonumber(take())
  users[u] = { id = id, groups = p + 1, groupCount = groupCount, first = n + 1, last = n + count, holdCount = holdCount }
  p = p + groupCount * (2 + counterCount)
  for _ = 1, count do
    n = n + 1
    members[n] = take()
    valuesAt[n] = p + 1
    p = p + 1
  end
  users[u].holdsAt = p + 1
  p = p + 2 * holdCount
end
local tagDelta = take()
local tagSets = tagDelta ~= '' and take() or ''

-- Lua's unpack takes at most 8,000 values: commands with many arguments are sent in slices.
local slice = 4000
local known = {}
for c = 3, 2 + claimSets do
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

-- Writes are queued and run at the end; the claims go first.
local writes = {}
for from = 1, #fresh, slice do
  writes[#writes + 1] = { 'SADD', KEYS[3], unpack(fresh, from, math.min(#fresh, from + slice - 1)) }
end
if #fresh > 0 then
  writes[#writes + 1] = { 'EXPIREAT', KEYS[3], claimsExpireAt }
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

-- Each user's budget and own thresholds, read together: budget k of the reply is at 2k - 1, thresholds at 2k.
local budgetKeys, budgets, ownThresholds = {}, {}, {}
for u = 1, userCount do
  budgetKeys[2 * u - 1] = KEYS[userKeys + 2 + (u - 1) * stride]
  budgetKeys[2 * u] = KEYS[userKeys + 4 + (u - 1) * stride]
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
-- Packed counters as numbers: a model field (counterCount values; five if written before the last counters
-- existed, which then read as 0) or an event (counterCount values and its group). One pattern match each, built
-- once: the parse runs for every model field a call touches.
-- (Redis runs Lua 5.1: string.rep takes no separator.)
local function joined(part, count)
  return string.rep(part .. ',', count - 1) .. part
end
local function patternOf(count)
  return '^' .. joined('(-?%d+)', count) .. '$'
end
local fieldPattern, legacyPattern = patternOf(counterCount), patternOf(5)
local eventPattern = '^' .. joined('(-?%d+)', counterCount + 1) .. ','
local crossingPattern = '^' .. joined('%-?%d+', counterCount + 1) .. ',(%-?%d+),(.*)$'
local packFormat = joined('%d', counterCount)
local function numbers(...)
  local values = { ... }
  for k = 1, #values do
    values[k] = tonumber(values[k])
  end
  return values
end
-- A model field plus a delta, packed again. It runs for every model field a call touches, so it works on seven
-- locals (one match, one format) rather than a table: the packed layout is seven counters.
if counterCount ~= 7 then
  return redis.error_reply('apply-usage packs 7 counters, not ' .. counterCount)
end
local function addToField(packed, delta)
  local c, i, cached, o, r, w, z = 0, 0, 0, 0, 0, 0, 0
  if packed then
    c, i, cached, o, r, w, z = string.match(packed, fieldPattern)
    if not c then
      c, i, cached, o, r = string.match(packed, legacyPattern)
      w, z = 0, 0
    end
  end
  return string.format(packFormat, tonumber(c) + delta[1], tonumber(i) + delta[2], tonumber(cached) + delta[3], tonumber(o) + delta[4],
    tonumber(r) + delta[5], tonumber(w) + delta[6], tonumber(z) + delta[7])
end

local monthTotals = zeros()
-- The bucket's month also keeps per model and per day what its users' fields get (the month report's model split
-- and daily series), summed over the call's users: model field → a delta table, day field → a number.
local monthFields, monthDeltas, monthSlot = {}, {}, {}
local ranked, rankedDelta = {}, {}
for u = 1, userCount do
  local user = users[u]
  local key = KEYS[userKeys + 1 + (u - 1) * stride]
  local budget = tonumber(budgets[u] or defaultBudget)
  -- The user's thresholds: their own when set (the admin API's budget), else the configured ones.
  local thresholds, fields = defaultThresholds, nil
  if ownThresholds[u] then
    thresholds = {}
    for t in string.gmatch(ownThresholds[u], '%d+') do
      thresholds[#thresholds + 1] = t
    end
    fields = fieldsFor(thresholds)
  else
    fields = { unpack(baseFields) }
  end
  local thresholdCount = #thresholds
  -- The fields this user's new events touch: totals, alert states, then models and days in first-seen order.
  -- A model's delta is a table of its seven counters (the field holds them packed), any other's a number.
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
        local values = numbers(string.match(ARGV[valuesAt[j]], eventPattern))
        local g = values[counterCount + 1]
        parsed[#parsed + 1] = { values = values, group = g }
        live[g] = true
      end
    end
  end

  -- A group's fields (its model's, packed, and its day's), for the groups with a fresh event only.
  local modelOf, dayOf = {}, {}
  for g = 1, user.groupCount do
    if duplicates == 0 or live[g] then
      local q = user.groups + (g - 1) * (2 + counterCount)
      local name = ARGV[q]
      local f = slot[name]
      if f == nil then
        nf = nf + 1
        f = nf
        fields[f], slot[name], deltas[f] = name, f, zeros()
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
  -- Adds a group's sums (read from ARGV) or one event's counters to the user's totals, model and day.
  local function add(g, values)
    local model = modelOf[g]
    for k = 1, counterCount do
      local v = values[k]
      deltas[k] = deltas[k] + v
      model[k] = model[k] + v
    end
    local d = dayOf[g]
    deltas[d] = deltas[d] + values[1]
  end
  if duplicates == 0 then
    for g = 1, user.groupCount do
      local q = user.groups + (g - 1) * (2 + counterCount) + 1
      local model = modelOf[g]
      for k = 1, counterCount do
        local v = tonumber(ARGV[q + k])
        deltas[k] = deltas[k] + v
        model[k] = model[k] + v
      end
      local d = dayOf[g]
      deltas[d] = deltas[d] + tonumber(ARGV[q + 1])
    end
  else
    for _, e in ipairs(parsed) do
      add(e.group, e.values)
    end
  end

  local current = read(key, fields)
  local spent = tonumber(current[1] or '0')
  local fired, firedNow = {}, {}
  for t = 1, thresholdCount do
    fired[t] = current[counterCount + t] ~= false
  end
  if deltas[requestsAt] > 0 then
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
              local at, eventId = string.match(ARGV[valuesAt[j]], crossingPattern)
              writes[#writes + 1] = { 'HSET', key, alertPrefix .. thresholds[t], pending .. eventId .. '|' .. string.format('%d', spent) .. '|' .. at }
              alert(u, threshold, j, spent, budget, tonumber(at))
            end
          end
        end
      end
    end
    local changed, values = {}, {}
    for f = 1, #fields do
      local delta = deltas[f]
      if f > counterCount + thresholdCount then
        local name = fields[f]
        local m = monthSlot[name]
        if m == nil then
          m = #monthFields + 1
          monthFields[m], monthSlot[name] = name, m
          monthDeltas[m] = type(delta) == 'table' and zeros() or 0
        end
        if type(delta) == 'table' then
          for k = 1, counterCount do
            monthDeltas[m][k] = monthDeltas[m][k] + delta[k]
          end
        else
          monthDeltas[m] = monthDeltas[m] + delta
        end
      end
      if type(delta) == 'table' then
        changed[#changed + 1] = fields[f]
        values[#values + 1] = addToField(current[f], delta)
      elseif delta ~= 0 and (f <= counterCount or f > counterCount + thresholdCount) then
        -- A total that does not move is not written (most events have no cache writes or reasoning).
        changed[#changed + 1] = fields[f]
        values[#values + 1] = string.format('%d', tonumber(current[f] or '0') + delta)
      end
    end
    set(key, changed, values)
    if not current[requestsAt] then
      -- This call creates the user's month: the hash gets its expiry once, not on every call.
      writes[#writes + 1] = { 'EXPIREAT', key, expireAt }
    end
    for k = 1, counterCount do
      monthTotals[k] = monthTotals[k] + deltas[k]
    end
    ranked[#ranked + 1] = user.id
    rankedDelta[#ranked] = deltas[1]
  end

  -- The holds of the user's events that count are settled (read now, written with the rest).
  if user.holdCount > 0 then
    local ids = {}
    for h = 0, user.holdCount - 1 do
      local q = user.holdsAt + 2 * h
      if isFresh[user.first - 1 + tonumber(ARGV[q])] then
        ids[#ids + 1] = ARGV[q + 1]
      end
    end
    if #ids > 0 then
      local holdKey = KEYS[userKeys + 3 + (u - 1) * stride]
      local entries = redis.call('HMGET', holdKey, unpack(ids))
      local freed, settled = 0, {}
      for k = 1, #ids do
        if entries[k] and not settled[ids[k]] then
          local amount, expiresAt, state = string.match(entries[k], '^(%d+)|(%d+)|(%a+)$')
          if state == 'active' then
            settled[ids[k]] = true
            freed = freed + tonumber(amount)
            writes[#writes + 1] = { 'HSET', holdKey, ids[k], amount .. '|' .. expiresAt .. '|settled' }
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
  if duplicates > 0 then
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
end

if #fresh > 0 then
  local names = { unpack(counters) }
  for m = 1, #monthFields do
    names[counterCount + m] = monthFields[m]
  end
  local month = read(KEYS[1], names)
  local values = {}
  for k = 1, counterCount do
    values[k] = string.format('%d', tonumber(month[k] or '0') + monthTotals[k])
  end
  for m = 1, #monthFields do
    local delta = monthDeltas[m]
    if type(delta) == 'table' then
      values[counterCount + m] = addToField(month[counterCount + m], delta)
    else
      values[counterCount + m] = string.format('%d', tonumber(month[counterCount + m] or '0') + delta)
    end
  end
  set(KEYS[1], names, values)
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
  if not month[requestsAt] then
    -- The bucket's first events of the month: its two month keys are created by this call (after the writes
    -- above) and get their expiry once.
    for k = 1, 2 do
      writes[#writes + 1] = { 'EXPIREAT', KEYS[k], expireAt }
    end
  end
end

if tagDelta ~= '' and #fresh > 0 then
  -- The call's duplicates with tags: set number, model and day fields, counters and user, for the fold to take
  -- out of the delta (which sums every event of the call). A line break never occurs inside either JSON text.
  local duplicates = {}
  local setOf
  for u = 1, userCount do
    local user = users[u]
    for j = user.first, user.last do
      if not isFresh[j] and not setOf then
        setOf = {}
        for number in string.gmatch(tagSets, '%d+') do
          setOf[#setOf + 1] = tonumber(number)
        end
      end
      local set = setOf and setOf[j] or 0
      if not isFresh[j] and set > 0 then
        local values = numbers(string.match(ARGV[valuesAt[j]], eventPattern))
        local q = user.groups + (values[counterCount + 1] - 1) * (2 + counterCount)
        values[counterCount + 1] = nil
        duplicates[#duplicates + 1] = { s = set, m = ARGV[q], d = ARGV[q + 1], c = values, u = user.id }
      end
    end
  end
  if #duplicates > 0 then
    tagDelta = tagDelta .. '\n' .. cjson.encode(duplicates)
  end
  writes[#writes + 1] = { 'RPUSH', KEYS[userKeys + userCount * stride + 1], tagDelta }
end

for _, w in ipairs(writes) do
  redis.call(unpack(w))
end

local result = { #alerts / 6 }
for _, v in ipairs(alerts) do
  result[#result + 1] = v
end
for _, v in ipairs(duplicateAt) do
  result[#result + 1] = v
end
return result
