-- apply-usage, section 4 of 5 (see apply-usage.lua): each user's share of the call, summed into their month hash,
-- thresholds crossed event by event, holds settled, alerts handed back; and what the bucket's month gets.

local monthTotals = zeros()
local baseCount, noneFired = #baseFields, {}
-- The bucket's month also keeps per model and per day what its users' fields get (the month report's model split
-- and daily series), summed over the call's users: model field → a delta table, day field → a number.
local monthFields, monthDeltas, monthSlot = {}, {}, {}
local ranked, rankedScore = {}, {}
for u = 1, userCount do
  local user = users[u]
  local key = KEYS[userKeys(u) + UserKey.Month]
  local budget = tonumber(budgets[u] or defaultBudget)
  -- The user's thresholds: their own when set (the admin API's budget), else the configured ones.
  local thresholds, fields = defaultThresholds, baseFields
  if ownThresholds[u] then
    thresholds = parseThresholds(ownThresholds[u])
    fields = fieldsFor(thresholds)
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
      local q = groupBase(user, g)
      local name = ARGV[q + GroupArg.Model]
      local f = slot[name]
      if f == nil then
        nf = nf + 1
        f = nf
        fields[f], slot[name], deltas[f] = name, f, zeros()
      end
      modelOf[g] = deltas[f]
      name = ARGV[q + GroupArg.Day]
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
      local q = groupBase(user, g) + GroupArg.FirstCounter - 1
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
  -- The thresholds this call crosses (each gets an alert state): a table of its own only for a user who crosses one.
  local firedNow = noneFired
  if deltas[requestsAt] > 0 then
    -- Thresholds cross event by event, in order: walked only when the call crosses one (one with no alert state).
    local crossing = false
    if budget > 0 then
      for t = 1, thresholdCount do
        if current[counterCount + t] == false and (spent + deltas[1]) * 100 >= budget * tonumber(thresholds[t]) then
          crossing = true
        end
      end
    end
    if crossing then
      if valuesOmitted then return { -1 } end -- crossed event by event, from values the call has not brought
      local fired = {}
      for t = 1, thresholdCount do
        fired[t] = current[counterCount + t] ~= false
      end
      firedNow = {}
      for j = user.first, user.last do
        if isFresh[j] then
          spent = spent + tonumber(string.match(ARGV[valuesAt[j]], '^-?%d+'))
          for t = 1, thresholdCount do
            local threshold = tonumber(thresholds[t])
            if not fired[t] and spent * 100 >= budget * threshold then
              fired[t] = true
              firedNow[t] = true
              local at, eventId = string.match(ARGV[valuesAt[j]], crossingPattern)
              writes[#writes + 1] = { 'HSET', key, alertPrefix .. thresholds[t], pendingState(pendingWord, eventId, spent, at) }
              alert(u, threshold, j, spent, budget, tonumber(at))
            end
          end
        end
      end
    end
    -- The user's HSET is built field by field (in slices past fieldSlice, as set() does), not from two lists for set():
    -- this runs for every user of every call, one event a user in a single-event load (BENCHMARKS.md, ledger-cpu).
    local fixed = counterCount + thresholdCount
    local change, size = { 'HSET', key }, 2
    for f = 1, #fields do
      local delta = deltas[f]
      local packed = type(delta) == 'table'
      if f > fixed then
        local name = fields[f]
        local m = monthSlot[name]
        if m == nil then
          m = #monthFields + 1
          monthFields[m], monthSlot[name] = name, m
          monthDeltas[m] = packed and zeros() or 0
        end
        if packed then
          local month = monthDeltas[m]
          for k = 1, counterCount do
            month[k] = month[k] + delta[k]
          end
        else
          monthDeltas[m] = monthDeltas[m] + delta
        end
      end
      local value
      if packed then
        value = addToField(current[f], delta)
      elseif delta ~= 0 and (f <= counterCount or f > fixed) then
        -- A total that does not move is not written (most events have no cache writes or reasoning).
        value = string.format('%d', tonumber(current[f] or '0') + delta)
      end
      if value then
        if size == 2 * fieldSlice + 2 then
          writes[#writes + 1] = change
          change, size = { 'HSET', key }, 2
        end
        change[size + 1], change[size + 2] = fields[f], value
        size = size + 2
      end
    end
    if size > 2 then
      writes[#writes + 1] = change
    end
    if not current[requestsAt] then
      -- This call creates the user's month: the hash gets its expiry once, not on every call.
      writes[#writes + 1] = { 'EXPIREAT', key, expireAt }
    end
    for k = 1, counterCount do
      monthTotals[k] = monthTotals[k] + deltas[k]
    end
    ranked[#ranked + 1] = user.id
    rankedScore[#ranked] = string.format('%d', tonumber(current[1] or '0') + deltas[1])
  end

  if user.holdCount > 0 then
    settleHolds(u, user)
  end
  if duplicates > 0 then
    handBackAlerts(u, user, thresholds, current, firedNow, budget)
  end
  -- The shared field list got this user's model and day fields appended: they come off before the next user.
  if fields == baseFields then
    for f = nf, baseCount + 1, -1 do fields[f] = nil end
  end
end
