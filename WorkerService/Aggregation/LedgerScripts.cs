namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>The Lua scripts of the ledger. Applying usage claims each event id (SADD) and applies its increments in
/// the same atomic step, so a redelivered or re-posted event counts once.</summary>
internal static class LedgerScripts
{
    /// <summary>Applies a chunk of one month's usage, every user's and the month's, in one atomic step.
    /// KEYS: month totals, month users (report index), month events (claims), then per user: totals, models, daily,
    /// alerts, budget (each user once per chunk). ARGV: expireAt, defaultBudgetMicros, thresholdCount,
    /// thresholds..., userCount, then per user: userId, eventCount, then per event: member (<c>userId|eventId</c>),
    /// model, costMicros, input, cached, output, day.
    /// Every read comes before every write, so a key of the wrong type fails the call before it changes anything.
    /// The claims of the whole chunk are checked with one SMISMEMBER and taken with one SADD (4,000 a command); the
    /// increments of the new events are summed in Lua and each hash is read once (HMGET) and written once (HSET);
    /// the report index is read and written in bulk (ZMSCORE, ZADD). Thresholds are crossed event by event, in
    /// order, and claimed in the same step. Sums are exact up to 2^53 (about 9 billion USD in micro-USD).
    /// Returns { applied, duplicates, alertCount, alerts..., duplicateIndexes... } where each alert is userIndex,
    /// threshold, eventIndex (1-based in the chunk, 0 for an alert left pending by an earlier attempt),
    /// spentMicros, budgetMicros, and the duplicate indexes (1-based) name the events already counted.</summary>
    public const string ApplyUsage = """
        local expireAt = ARGV[1]
        local defaultBudget = ARGV[2]
        local thresholdCount = tonumber(ARGV[3])
        local p = 4 + thresholdCount
        local userCount = tonumber(ARGV[p])
        p = p + 1
        local users, members, at = {}, {}, {}
        for u = 1, userCount do
          local count = tonumber(ARGV[p + 1])
          users[u] = { id = ARGV[p], first = #members + 1, last = #members + count }
          p = p + 2
          for e = 1, count do
            members[#members + 1] = ARGV[p]
            at[#members] = p
            p = p + 7
          end
        end
        local n = #members
        local known = {}
        for from = 1, n, 4000 do
          local part = redis.call('SMISMEMBER', KEYS[3], unpack(members, from, math.min(n, from + 3999)))
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
        for from = 1, #fresh, 4000 do
          writes[#writes + 1] = { 'SADD', KEYS[3], unpack(fresh, from, math.min(#fresh, from + 3999)) }
        end
        -- Adds deltas to hash fields: read now (HMGET), written later (HSET), 1,000 fields a command (Lua unpacks
        -- at most 8,000 values).
        local function add(key, fields, deltas, current)
          for from = 1, #fields, 1000 do
            local to = math.min(#fields, from + 999)
            local values = current or redis.call('HMGET', key, unpack(fields, from, to))
            local change = { 'HSET', key }
            for k = from, to do
              change[#change + 1] = fields[k]
              change[#change + 1] = string.format('%d', tonumber(values[k - from + 1] or '0') + deltas[k])
            end
            writes[#writes + 1] = change
          end
        end
        local alerts = {}
        local monthCost, monthInput, monthCached, monthOutput = 0, 0, 0, 0
        local ranked, rankedDelta = {}, {}
        for u = 1, userCount do
          local user = users[u]
          local k = 3 + (u - 1) * 5
          local budget = tonumber(redis.call('GET', KEYS[k + 5]) or defaultBudget)
          local fired, firedNow = {}, {}
          if thresholdCount > 0 then
            local states = redis.call('HMGET', KEYS[k + 4], unpack(ARGV, 4, 3 + thresholdCount))
            for t = 1, thresholdCount do
              fired[ARGV[3 + t]] = states[t] ~= false
            end
          end
          local totals = redis.call('HMGET', KEYS[k + 1], 'cost', 'input', 'cached', 'output', 'requests')
          local spent = tonumber(totals[1] or '0')
          local cost, input, cached, output, applied, duplicates = 0, 0, 0, 0, 0, 0
          local models, modelOrder, days, dayOrder = {}, {}, {}, {}
          for j = user.first, user.last do
            if not isFresh[j] then
              duplicates = duplicates + 1
            else
              local i = at[j]
              local model, c, day = ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 6]
              local inTokens, cachedTokens, outTokens = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
              cost, input, cached, output = cost + c, input + inTokens, cached + cachedTokens, output + outTokens
              applied = applied + 1
              local m = models[model]
              if m == nil then
                m = { 0, 0, 0, 0, 0 }
                models[model] = m
                modelOrder[#modelOrder + 1] = model
              end
              m[1], m[2], m[3], m[4], m[5] = m[1] + c, m[2] + inTokens, m[3] + cachedTokens, m[4] + outTokens, m[5] + 1
              if days[day] == nil then
                days[day] = 0
                dayOrder[#dayOrder + 1] = day
              end
              days[day] = days[day] + c
              spent = spent + c
              if budget > 0 then
                for t = 4, 3 + thresholdCount do
                  local threshold = tonumber(ARGV[t])
                  if not fired[ARGV[t]] and spent * 100 >= budget * threshold then
                    fired[ARGV[t]] = true
                    firedNow[threshold] = true
                    local eventId = string.sub(members[j], #user.id + 2)
                    writes[#writes + 1] = { 'HSET', KEYS[k + 4], threshold, 'pending|' .. eventId .. '|' .. string.format('%d', spent) }
                    writes[#writes + 1] = { 'EXPIREAT', KEYS[k + 4], expireAt }
                    for _, v in ipairs({ u, threshold, j, spent, budget }) do
                      alerts[#alerts + 1] = v
                    end
                  end
                end
              end
            end
          end
          if applied > 0 then
            add(KEYS[k + 1], { 'cost', 'input', 'cached', 'output', 'requests' }, { cost, input, cached, output, applied }, totals)
            local modelFields, modelDeltas = {}, {}
            for _, model in ipairs(modelOrder) do
              local m = models[model]
              for f, name in ipairs({ 'cost|', 'input|', 'cached|', 'output|', 'requests|' }) do
                modelFields[#modelFields + 1] = name .. model
                modelDeltas[#modelDeltas + 1] = m[f]
              end
            end
            add(KEYS[k + 2], modelFields, modelDeltas)
            local dayDeltas = {}
            for d, day in ipairs(dayOrder) do
              dayDeltas[d] = days[day]
            end
            add(KEYS[k + 3], dayOrder, dayDeltas)
            if not totals[5] then
              -- This call creates the user's month: its keys get their expiry once, not on every call.
              for key = k + 1, k + 3 do
                writes[#writes + 1] = { 'EXPIREAT', KEYS[key], expireAt }
              end
            end
            monthCost, monthInput, monthCached, monthOutput = monthCost + cost, monthInput + input, monthCached + cached, monthOutput + output
            ranked[#ranked + 1] = user.id
            rankedDelta[#ranked] = cost
          end
          -- A redelivery (duplicates seen) also hands back alerts an earlier attempt claimed but did not publish.
          if duplicates > 0 then
            local states = redis.call('HGETALL', KEYS[k + 4])
            for s = 1, #states, 2 do
              local state, rest = string.match(states[s + 1], '^(%a+)|(.*)$')
              if state == 'pending' and not firedNow[tonumber(states[s])] then
                local spentAt = string.match(rest, '|(%d+)$')
                for _, v in ipairs({ u, tonumber(states[s]), 0, tonumber(spentAt), budget }) do
                  alerts[#alerts + 1] = v
                end
              end
            end
          end
        end
        if #fresh > 0 then
          add(KEYS[1], { 'cost', 'input', 'cached', 'output', 'requests' }, { monthCost, monthInput, monthCached, monthOutput, #fresh })
          for from = 1, #ranked, 2000 do
            local to = math.min(#ranked, from + 1999)
            local scores = redis.call('ZMSCORE', KEYS[2], unpack(ranked, from, to))
            local change = { 'ZADD', KEYS[2] }
            for r = from, to do
              change[#change + 1] = string.format('%d', tonumber(scores[r - from + 1] or '0') + rankedDelta[r])
              change[#change + 1] = ranked[r]
            end
            writes[#writes + 1] = change
          end
          for key = 1, 3 do
            writes[#writes + 1] = { 'EXPIREAT', KEYS[key], expireAt }
          end
        end
        for _, w in ipairs(writes) do
          redis.call(unpack(w))
        end
        local result = { #fresh, #duplicateAt, #alerts / 5 }
        for _, v in ipairs(alerts) do
          result[#result + 1] = v
        end
        for _, v in ipairs(duplicateAt) do
          result[#result + 1] = v
        end
        return result
        """;

    /// <summary>Re-evaluates one user's month after a budget change. KEYS: totals, alerts, budget. ARGV: expireAt,
    /// defaultBudgetMicros, thresholds... Thresholds now above the spend are re-armed; thresholds now crossed and
    /// not yet fired are claimed (pending) and returned. Returns { budgetMicros, spentMicros, thresholds... }.</summary>
    public const string ReevaluateBudget = """
        local budget = tonumber(redis.call('GET', KEYS[3]) or ARGV[2])
        local spent = tonumber(redis.call('HGET', KEYS[1], 'cost') or '0')
        local result = { budget, spent }
        for t = 3, #ARGV do
          local threshold = tonumber(ARGV[t])
          local state = redis.call('HGET', KEYS[2], ARGV[t])
          if budget > 0 and spent * 100 >= budget * threshold then
            if not state then
              redis.call('HSET', KEYS[2], ARGV[t], 'pending|budget-change|' .. spent)
              redis.call('EXPIREAT', KEYS[2], ARGV[1])
              table.insert(result, threshold)
            end
          elseif state then
            redis.call('HDEL', KEYS[2], ARGV[t])
          end
        end
        return result
        """;
}
