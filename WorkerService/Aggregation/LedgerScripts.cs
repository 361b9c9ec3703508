namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>The two Lua scripts that apply usage, one per Redis Cluster slot. Each claims an event id (SADD)
/// and applies its increments in the same atomic step, so a redelivered or re-posted event counts once and a
/// retry completes whatever slot a failure left undone.</summary>
internal static class LedgerScripts
{
    /// <summary>One user's month. KEYS: totals, models, daily, events, alerts, budget.
    /// ARGV: expireAt, defaultBudgetMicros, thresholdCount, thresholds..., then per event
    /// eventId, model, costMicros, input, cached, output, day.
    /// The claims are checked in bulk (SMISMEMBER) and taken in one SADD; the increments of the new events are
    /// summed in Lua and each hash is read once and written once, so a call costs about ten commands however many
    /// events, models and days it carries (a command from Lua costs more than the arithmetic). Thresholds are
    /// still crossed event by event, in order. Sums are exact up to 2^53 (about 9 billion USD in micro-USD).
    /// Returns { applied, duplicates, budgetMicros, alertCount, alerts..., duplicateIndexes... } where each alert is
    /// threshold, eventIndex (1-based, 0 for an alert left pending by an earlier attempt), spentMicros, and the
    /// duplicate indexes (1-based) name the events that were already counted.</summary>
    public const string ApplyUserUsage = """
        local expireAt = tonumber(ARGV[1])
        local budget = tonumber(redis.call('GET', KEYS[6]) or ARGV[2])
        local thresholdCount = tonumber(ARGV[3])
        local first = 4 + thresholdCount
        local n = (#ARGV - first + 1) / 7
        local ids = {}
        for j = 1, n do
          ids[j] = ARGV[first + (j - 1) * 7]
        end
        local known = {}
        for from = 1, n, 4000 do
          local part = redis.call('SMISMEMBER', KEYS[4], unpack(ids, from, math.min(n, from + 3999)))
          for k = 1, #part do
            known[from + k - 1] = part[k] == 1
          end
        end
        local fired, firedNow = {}, {}
        if thresholdCount > 0 then
          local states = redis.call('HMGET', KEYS[5], unpack(ARGV, 4, first - 1))
          for t = 1, thresholdCount do
            fired[ARGV[3 + t]] = states[t] ~= false
          end
        end
        local totals = redis.call('HMGET', KEYS[1], 'cost', 'input', 'cached', 'output', 'requests')
        local spent = tonumber(totals[1] or '0')
        local cost, input, cached, output, applied = 0, 0, 0, 0, 0
        local fresh, seen, duplicateAt, alerts = {}, {}, {}, {}
        local models, modelOrder, days, dayOrder = {}, {}, {}, {}
        for j = 1, n do
          local i = first + (j - 1) * 7
          local eventId = ARGV[i]
          if known[j] or seen[eventId] then
            table.insert(duplicateAt, j)
          else
            seen[eventId] = true
            table.insert(fresh, eventId)
            local model, c, day = ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 6]
            local inTokens, cachedTokens, outTokens = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
            cost, input, cached, output = cost + c, input + inTokens, cached + cachedTokens, output + outTokens
            applied = applied + 1
            local m = models[model]
            if m == nil then
              m = { 0, 0, 0, 0, 0 }
              models[model] = m
              table.insert(modelOrder, model)
            end
            m[1], m[2], m[3], m[4], m[5] = m[1] + c, m[2] + inTokens, m[3] + cachedTokens, m[4] + outTokens, m[5] + 1
            if days[day] == nil then
              days[day] = 0
              table.insert(dayOrder, day)
            end
            days[day] = days[day] + c
            spent = spent + c
            if budget > 0 then
              for t = 4, first - 1 do
                local threshold = tonumber(ARGV[t])
                if not fired[ARGV[t]] and spent * 100 >= budget * threshold then
                  fired[ARGV[t]] = true
                  firedNow[threshold] = true
                  redis.call('HSET', KEYS[5], threshold, 'pending|' .. eventId .. '|' .. spent)
                  redis.call('EXPIREAT', KEYS[5], expireAt)
                  table.insert(alerts, threshold)
                  table.insert(alerts, j)
                  table.insert(alerts, spent)
                end
              end
            end
          end
        end
        if applied > 0 then
          for from = 1, applied, 4000 do
            redis.call('SADD', KEYS[4], unpack(fresh, from, math.min(applied, from + 3999)))
          end
          -- Each hash is read once (HMGET) and written once (HSET) with every field it changes, 1,000 fields a
          -- command (Lua unpacks at most 8,000 values).
          local function add(key, fields, deltas, current)
            for from = 1, #fields, 1000 do
              local to = math.min(#fields, from + 999)
              local values = current or redis.call('HMGET', key, unpack(fields, from, to))
              local changes = {}
              for k = from, to do
                table.insert(changes, fields[k])
                table.insert(changes, string.format('%d', tonumber(values[k - from + 1] or '0') + deltas[k]))
              end
              redis.call('HSET', key, unpack(changes))
            end
          end
          add(KEYS[1], { 'cost', 'input', 'cached', 'output', 'requests' }, { cost, input, cached, output, applied }, totals)
          local isNew = not totals[5]
          local modelFields, modelDeltas = {}, {}
          for _, model in ipairs(modelOrder) do
            local m = models[model]
            for f, name in ipairs({ 'cost|', 'input|', 'cached|', 'output|', 'requests|' }) do
              table.insert(modelFields, name .. model)
              table.insert(modelDeltas, m[f])
            end
          end
          add(KEYS[2], modelFields, modelDeltas)
          local dayDeltas = {}
          for k, day in ipairs(dayOrder) do
            dayDeltas[k] = days[day]
          end
          add(KEYS[3], dayOrder, dayDeltas)
          if isNew then
            -- This call created the user's month: its keys get their expiry once, not on every call.
            for k = 1, 4 do
              redis.call('EXPIREAT', KEYS[k], expireAt)
            end
          end
        end
        -- A redelivery (duplicates seen) also hands back alerts an earlier attempt claimed but did not publish.
        if #duplicateAt > 0 then
          local states = redis.call('HGETALL', KEYS[5])
          for j = 1, #states, 2 do
            local state, rest = string.match(states[j + 1], '^(%a+)|(.*)$')
            if state == 'pending' and not firedNow[tonumber(states[j])] then
              local spentAt = string.match(rest, '|(%d+)$')
              table.insert(alerts, tonumber(states[j]))
              table.insert(alerts, 0)
              table.insert(alerts, tonumber(spentAt))
            end
          end
        end
        local result = { applied, #duplicateAt, budget, #alerts / 3 }
        for _, v in ipairs(alerts) do
          table.insert(result, v)
        end
        for _, v in ipairs(duplicateAt) do
          table.insert(result, v)
        end
        return result
        """;

    /// <summary>The month-wide keys. KEYS: totals, users, events. ARGV: expireAt, then per event
    /// member (userId|eventId), userId, costMicros, input, cached, output. Returns the count applied.
    /// The claims are checked and taken in bulk (SMISMEMBER, SADD) and the increments summed in Lua, so a message
    /// costs a handful of commands however many events and users it carries.</summary>
    public const string ApplyMonthUsage = """
        local n = (#ARGV - 1) / 6
        local members = {}
        for j = 1, n do
          members[j] = ARGV[2 + (j - 1) * 6]
        end
        local known = {}
        for from = 1, n, 4000 do
          local to = math.min(n, from + 3999)
          local part = redis.call('SMISMEMBER', KEYS[3], unpack(members, from, to))
          for k = 1, #part do
            known[from + k - 1] = part[k] == 1
          end
          redis.call('SADD', KEYS[3], unpack(members, from, to))
        end
        local cost, input, cached, output, applied = 0, 0, 0, 0, 0
        local users, order, inMessage = {}, {}, {}
        for j = 1, n do
          local member = members[j]
          if not known[j] and not inMessage[member] then
            inMessage[member] = true
            local i = 2 + (j - 1) * 6
            local userId, eventCost = ARGV[i + 1], tonumber(ARGV[i + 2])
            cost = cost + eventCost
            input = input + tonumber(ARGV[i + 3])
            cached = cached + tonumber(ARGV[i + 4])
            output = output + tonumber(ARGV[i + 5])
            applied = applied + 1
            if users[userId] == nil then
              users[userId] = 0
              table.insert(order, userId)
            end
            users[userId] = users[userId] + eventCost
          end
        end
        if applied > 0 then
          redis.call('HINCRBY', KEYS[1], 'cost', cost)
          redis.call('HINCRBY', KEYS[1], 'input', input)
          redis.call('HINCRBY', KEYS[1], 'cached', cached)
          redis.call('HINCRBY', KEYS[1], 'output', output)
          redis.call('HINCRBY', KEYS[1], 'requests', applied)
          -- Scores are read in bulk (ZMSCORE) and written in bulk (ZADD), 2,000 users a command.
          for from = 1, #order, 2000 do
            local to = math.min(#order, from + 1999)
            local scores = redis.call('ZMSCORE', KEYS[2], unpack(order, from, to))
            local changes = {}
            for k = from, to do
              table.insert(changes, string.format('%d', tonumber(scores[k - from + 1] or '0') + users[order[k]]))
              table.insert(changes, order[k])
            end
            redis.call('ZADD', KEYS[2], unpack(changes))
          end
        end
        for k = 1, 3 do
          redis.call('EXPIREAT', KEYS[k], ARGV[1])
        end
        return applied
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
