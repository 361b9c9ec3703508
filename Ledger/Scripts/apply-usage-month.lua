-- apply-usage, section 5 of 5 (see apply-usage.lua): the bucket's month (totals, models, days, the users' ranking),
-- the call's tag and rollup deltas, every queued write, and the reply.

if #fresh > 0 then
  local names = { unpack(counters) }
  for m = 1, #monthFields do
    names[counterCount + m] = monthFields[m]
  end
  local month = read(KEYS[UsageKey.MonthTotals], names)
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
  set(KEYS[UsageKey.MonthTotals], names, values)
  -- A user's score in the ranking is their month's cost, as their hash now holds it (re-pricing moves both by the
  -- same amount in one step), so the ranking is written without being read.
  local rankSlice = 2000
  for from = 1, #ranked, rankSlice do
    local to = math.min(#ranked, from + rankSlice - 1)
    local change = { 'ZADD', KEYS[UsageKey.MonthUsers] }
    for r = from, to do
      change[#change + 1] = rankedScore[r]
      change[#change + 1] = ranked[r]
    end
    writes[#writes + 1] = change
  end
  if not month[requestsAt] then
    -- The bucket's first events of the month: its two month keys are created by this call (after the writes
    -- above) and get their expiry once.
    for _, k in ipairs({ UsageKey.MonthTotals, UsageKey.MonthUsers }) do
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
        local q = groupBase(user, values[counterCount + 1])
        values[counterCount + 1] = nil
        duplicates[#duplicates + 1] = { s = set, m = ARGV[q + GroupArg.Model], d = ARGV[q + GroupArg.Day], c = values, u = user.id }
      end
    end
  end
  if #duplicates > 0 then
    tagDelta = tagDelta .. '\n' .. cjson.encode(duplicates)
  end
  writes[#writes + 1] = { 'RPUSH', KEYS[tagDeltaKey], tagDelta }
end

if rollupDelta ~= '' and #fresh > 0 then
  local entry = { 'XADD', rollupKey, '*', 'd', rollupDelta }
  if #duplicateAt > 0 then
    -- The delta sums every event of the call: the duplicates' positions and packed counters go beside it, as JSON
    -- ([[position, counters...]]), for the writer to take out (RollupDelta.AddEncoded).
    local counted = '^(' .. joined('%-?%d+', counterCount) .. '),'
    local taken = {}
    for d, j in ipairs(duplicateAt) do
      taken[d] = '[' .. j .. ',' .. string.match(ARGV[valuesAt[j]], counted) .. ']'
    end
    entry[#entry + 1] = 'x'
    entry[#entry + 1] = '[' .. table.concat(taken, ',') .. ']'
  end
  writes[#writes + 1] = entry
end

for _, w in ipairs(writes) do
  redis.call(unpack(w))
end

local result = { #alerts / layoutSize(AlertField) }
for _, v in ipairs(alerts) do
  result[#result + 1] = v
end
for _, v in ipairs(duplicateAt) do
  result[#result + 1] = v
end
return result
